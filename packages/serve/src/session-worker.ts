// An inference thread: one onnxruntime session, one run at a time, so a long inference never
// holds up the HTTP thread (health checks, /metrics, parsing the next request).
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage, InputError } from '@ferry/core';
import { OnnxSession, RunFailure } from './session.js';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('session-worker runs only as a worker thread');
const { file, threads } = workerData as WorkerSetup;
const post = (reply: WorkerReply): void => port.postMessage(reply);

let session: OnnxSession | undefined;
try {
  session = await OnnxSession.load(file, threads);
  post({ kind: 'ready', signature: session.signature, loadSeconds: session.loadSeconds, runtimeVersion: session.runtimeVersion });
} catch (err: unknown) {
  post({ kind: 'load-failed', message: errorMessage(err), input: err instanceof InputError });
}

if (session) {
  const loaded = session;
  port.on('message', (request: WorkerRequest) => {
    loaded.run(request.feeds, request.fetches).then(
      (outputs) => post({ kind: 'result', id: request.id, outputs }),
      (err: unknown) => post({ kind: 'failed', id: request.id, message: errorMessage(err), clientFault: err instanceof RunFailure && err.clientFault }),
    );
  });
}
