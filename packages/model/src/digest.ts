// Streaming SHA-256 of model files. Memory stays flat (one reused buffer per file being hashed) and the
// files of a multi-file model are hashed concurrently, so a sharded checkpoint uses every core.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { throwIfCancelled } from '@ferry/core';

const CHUNK = 4 * 1024 * 1024;
/** Below this a worker thread costs more than it saves. */
const WORKER_MIN_BYTES = 64 * 1024 * 1024;

/**
 * Hashes one file on the calling thread, reporting progress in bytes. Two buffers alternate: the
 * next chunk is read (on libuv's thread pool) while the current one is hashed, so disk and CPU overlap.
 */
export async function sha256File(path: string, onBytes?: (n: number) => void, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(path, 'r');
  try {
    const bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
    let position = 0;
    let current = 0;
    let pending = handle.read(bufs[0] as Buffer, 0, CHUNK, position);
    for (;;) {
      throwIfCancelled(signal);
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      position += bytesRead;
      const buf = bufs[current] as Buffer;
      current ^= 1;
      pending = handle.read(bufs[current] as Buffer, 0, CHUNK, position);
      // update() consumes the bytes before returning, so the buffer is free for the read after next.
      hash.update(bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead));
      onBytes?.(bytesRead);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

// The worker is inline source, so bundlers (the action's ncc build) need no extra file.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { open } = require('node:fs/promises');
const CHUNK = ${CHUNK};
(async () => {
  const handle = await open(workerData.path, 'r');
  try {
    const hash = createHash('sha256');
    const bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
    let position = 0, current = 0, pendingBytes = 0;
    let pending = handle.read(bufs[0], 0, CHUNK, position);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      position += bytesRead;
      const buf = bufs[current];
      current ^= 1;
      pending = handle.read(bufs[current], 0, CHUNK, position);
      hash.update(bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead));
      pendingBytes += bytesRead;
      if (pendingBytes >= 16 * CHUNK) { parentPort.postMessage({ bytes: pendingBytes }); pendingBytes = 0; }
    }
    parentPort.postMessage({ bytes: pendingBytes, digest: hash.digest('hex') });
  } finally { await handle.close(); }
})().catch((err) => { throw err; });
`;

function sha256FileInWorker(path: string, onBytes?: (n: number) => void, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path } });
    const onAbort = (): void => {
      void worker.terminate();
      reject(signal?.reason instanceof Error ? signal.reason : new Error('cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: { bytes: number; digest?: string }) => {
      onBytes?.(m.bytes);
      if (m.digest) {
        signal?.removeEventListener('abort', onAbort);
        resolve(m.digest);
      }
    });
    worker.on('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
  });
}

export interface FileToHash {
  readonly path: string;
  readonly size: number;
}

/**
 * Hashes many files: large ones in worker threads (one per core), small ones on this thread.
 * Returns digests in the order given.
 */
export async function sha256Files(
  files: readonly FileToHash[],
  onBytes?: (n: number) => void,
  signal?: AbortSignal,
): Promise<string[]> {
  const results: string[] = new Array<string>(files.length);
  const order = files.map((f, i) => ({ ...f, i })).sort((a, b) => b.size - a.size);
  const big = order.filter((f) => f.size >= WORKER_MIN_BYTES);
  const small = order.filter((f) => f.size < WORKER_MIN_BYTES);
  // One large file alone is hashed on this thread: a worker would only add start-up time.
  const useWorkers = big.length > 1;
  const lanes = useWorkers ? Math.max(1, Math.min(availableParallelism(), big.length)) : 1;
  let next = 0;
  const runLane = async (): Promise<void> => {
    for (;;) {
      const f = big[next++];
      if (!f) return;
      throwIfCancelled(signal);
      results[f.i] = useWorkers ? await sha256FileInWorker(f.path, onBytes, signal) : await sha256File(f.path, onBytes, signal);
    }
  };
  await Promise.all([
    ...Array.from({ length: lanes }, runLane),
    (async () => {
      for (const f of small) results[f.i] = await sha256File(f.path, onBytes, signal);
    })(),
  ]);
  return results;
}

/** One digest for a whole model: sha256 over sorted `<digest>  <relative path>` lines, as sha256sum prints them. */
export function modelDigest(entries: readonly { path: string; sha256: string }[]): string {
  const lines = [...entries]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((e) => `${e.sha256}  ${e.path}\n`)
    .join('');
  return `sha256:${createHash('sha256').update(lines).digest('hex')}`;
}
