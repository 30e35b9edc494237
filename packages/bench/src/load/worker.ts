// Entry of a load-generator worker thread: one LoadEngine, driven by the coordinator's messages.
import { parentPort, workerData } from 'node:worker_threads';
import { LoadEngine } from './engine.js';
import type { EngineConfig, FromEngine, ToEngine } from './messages.js';

const port = parentPort;
if (port === null) throw new Error('the load worker must run as a worker thread');
const send = (m: FromEngine): void => port.postMessage(m);

let engine: LoadEngine;
try {
  engine = new LoadEngine(workerData as EngineConfig, (record) => send({ type: 'window', record }));
  send({ type: 'ready' });
} catch (err: unknown) {
  send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  throw err;
}

port.on('message', (m: ToEngine) => {
  if (m.type === 'run') {
    engine.start(m.plan).then(
      (summary) => send({ type: 'done', summary }),
      (err: unknown) => send({ type: 'failed', message: err instanceof Error ? err.message : String(err) }),
    );
  } else if (m.type === 'stop') engine.stop(m.run, m.lastWindow);
  else if (m.type === 'close') {
    void engine.close().then(() => port.close());
  }
});
