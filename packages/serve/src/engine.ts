// Where inference runs: on the HTTP thread (--workers 0; least overhead for tiny models, but the
// server answers nothing else while a run lasts, because onnxruntime-node runs synchronously), or
// on a pool of inference threads, each with its own session (--workers N).
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { errorMessage, InfrastructureError, InputError, type Logger } from '@ferry/core';
import { RequestError } from './errors.js';
import { OnnxSession, RunFailure, type ModelSignature } from './session.js';
import type { PlainTensor } from './tensors.js';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './worker-protocol.js';

export interface InferenceEngine {
  readonly signature: ModelSignature;
  /** Seconds from starting to load until every session was ready. */
  readonly loadSeconds: number;
  readonly runtimeVersion: string;
  /** Runs that proceed at once. */
  readonly parallelism: number;
  /** False once every inference thread has failed and none could be replaced. */
  readonly healthy: boolean;
  /** Throws RequestError: 400 when onnxruntime rejects the feeds, 500 otherwise. */
  run(feeds: Readonly<Record<string, PlainTensor>>, fetches: readonly string[]): Promise<Record<string, PlainTensor>>;
  close(): Promise<void>;
}

function runError(message: string, clientFault: boolean): RequestError {
  return clientFault ? new RequestError('bad_request', `onnxruntime rejected the inputs: ${message}`) : new RequestError('internal', `inference failed: ${message}`);
}

class InProcessEngine implements InferenceEngine {
  readonly parallelism = 1;
  readonly healthy = true;
  private running = 0;
  constructor(private readonly session: OnnxSession) {}
  get signature(): ModelSignature {
    return this.session.signature;
  }
  get loadSeconds(): number {
    return this.session.loadSeconds;
  }
  get runtimeVersion(): string {
    return this.session.runtimeVersion;
  }
  async run(feeds: Readonly<Record<string, PlainTensor>>, fetches: readonly string[]): Promise<Record<string, PlainTensor>> {
    this.running++;
    try {
      return await this.session.run(feeds, fetches);
    } catch (err: unknown) {
      throw runError(errorMessage(err), err instanceof RunFailure && err.clientFault);
    } finally {
      this.running--;
    }
  }
  async close(): Promise<void> {
    // A run still scheduled (its request timed out or was cut off) needs the session; exit frees it.
    if (this.running === 0) await this.session.close();
  }
}

interface Pending {
  resolve(outputs: Record<string, PlainTensor>): void;
  reject(err: unknown): void;
}

class InferenceThread {
  readonly pending = new Map<number, Pending>();
  private constructor(readonly worker: Worker) {}

  /** Starts a thread and resolves once its session is loaded. */
  static start(setup: WorkerSetup): Promise<{ thread: InferenceThread; ready: Extract<WorkerReply, { kind: 'ready' }> }> {
    const worker = new Worker(new URL('./session-worker.js', import.meta.url), { workerData: setup });
    const thread = new InferenceThread(worker);
    return new Promise((resolve, reject) => {
      const onExit = (code: number): void => reject(new InfrastructureError(`an inference thread exited (${code}) while loading the model`));
      worker.once('error', reject);
      worker.once('exit', onExit);
      worker.once('message', (reply: WorkerReply) => {
        worker.off('error', reject);
        worker.off('exit', onExit);
        if (reply.kind === 'ready') resolve({ thread, ready: reply });
        else if (reply.kind === 'load-failed') {
          void worker.terminate();
          reject(reply.input ? new InputError(reply.message, { subject: 'model-path' }) : new InfrastructureError(reply.message));
        } else reject(new InfrastructureError(`an inference thread answered ${reply.kind} before it was ready`));
      });
    });
  }
}

class WorkerPoolEngine implements InferenceEngine {
  private readonly idle: InferenceThread[] = [];
  private readonly all = new Set<InferenceThread>();
  private readonly waiting: ((thread: InferenceThread) => void)[] = [];
  private nextId = 0;
  private closing = false;

  private constructor(
    private readonly setup: WorkerSetup,
    readonly parallelism: number,
    readonly signature: ModelSignature,
    readonly loadSeconds: number,
    readonly runtimeVersion: string,
    private readonly logger: Logger,
  ) {}

  static async start(setup: WorkerSetup, count: number, logger: Logger): Promise<WorkerPoolEngine> {
    const started = performance.now();
    const results = await Promise.allSettled(Array.from({ length: count }, () => InferenceThread.start(setup)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    const ok = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    if (failed) {
      await Promise.all(ok.map(({ thread }) => thread.worker.terminate()));
      throw failed.reason;
    }
    const first = ok[0]!.ready;
    const engine = new WorkerPoolEngine(setup, count, first.signature, (performance.now() - started) / 1000, first.runtimeVersion, logger);
    for (const { thread } of ok) engine.adopt(thread);
    return engine;
  }

  get healthy(): boolean {
    return this.all.size > 0;
  }

  private adopt(thread: InferenceThread): void {
    this.all.add(thread);
    thread.worker.on('message', (reply: WorkerReply) => {
      if (reply.kind !== 'result' && reply.kind !== 'failed') return;
      const pending = thread.pending.get(reply.id);
      thread.pending.delete(reply.id);
      this.release(thread);
      if (!pending) return;
      if (reply.kind === 'result') pending.resolve(reply.outputs);
      else pending.reject(runError(reply.message, reply.clientFault));
    });
    const lost = (why: string): void => {
      if (!this.all.delete(thread)) return;
      const i = this.idle.indexOf(thread);
      if (i >= 0) this.idle.splice(i, 1);
      for (const p of thread.pending.values()) p.reject(new RequestError('internal', `inference thread failed: ${why}`));
      thread.pending.clear();
      if (this.closing) return;
      this.logger.error(`inference thread failed (${why}); starting a replacement`);
      InferenceThread.start(this.setup).then(
        ({ thread: replacement }) => (this.closing ? void replacement.worker.terminate() : this.adopt(replacement)),
        (err: unknown) => this.logger.error(`could not replace the inference thread: ${errorMessage(err)}`),
      );
    };
    thread.worker.on('error', (err) => lost(errorMessage(err)));
    thread.worker.on('exit', (code) => lost(`exited with code ${code}`));
    this.release(thread);
  }

  private release(thread: InferenceThread): void {
    if (!this.all.has(thread)) return;
    const next = this.waiting.shift();
    if (next) next(thread);
    else this.idle.push(thread);
  }

  private acquire(): Promise<InferenceThread> {
    const thread = this.idle.pop();
    if (thread) return Promise.resolve(thread);
    if (this.all.size === 0) return Promise.reject(new RequestError('internal', 'no inference thread is running'));
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async run(feeds: Readonly<Record<string, PlainTensor>>, fetches: readonly string[]): Promise<Record<string, PlainTensor>> {
    const thread = await this.acquire();
    const id = this.nextId++;
    // Input arrays that own their whole buffer move to the thread instead of being copied.
    const transfer: ArrayBuffer[] = [];
    for (const t of Object.values(feeds)) {
      const d = t.data;
      if (!Array.isArray(d) && d.buffer instanceof ArrayBuffer && d.byteOffset === 0 && d.byteLength === d.buffer.byteLength) transfer.push(d.buffer);
    }
    const request: WorkerRequest = { id, feeds, fetches };
    return new Promise((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      thread.worker.postMessage(request, transfer);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.all].map((t) => t.worker.terminate()));
    this.all.clear();
  }
}

export interface EngineOptions {
  readonly file: string;
  /** Inference threads; 0 runs inference on the HTTP thread. */
  readonly workers: number;
  /** onnxruntime intra-op threads per session; 0 splits the cores among the sessions. */
  readonly threads: number;
}

export async function startEngine(options: EngineOptions, logger: Logger): Promise<InferenceEngine> {
  if (options.workers === 0) return new InProcessEngine(await OnnxSession.load(options.file, options.threads));
  // onnxruntime's default is a thread per core in every session; N sessions would oversubscribe.
  const threads = options.threads > 0 ? options.threads : Math.max(1, Math.floor(availableParallelism() / options.workers));
  return WorkerPoolEngine.start({ file: options.file, threads }, options.workers, logger);
}
