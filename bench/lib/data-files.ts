// Big input files for the bench: random bytes written once under .cache/bench/ and reused by later
// runs (same name and size), so only the first run pays for creating gigabytes.
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { CACHE_DIR, REPO_ROOT } from './paths.ts';

const CHUNK = 16 * 1024 * 1024;

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

function sizeOf(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

/** Path of a file of exactly `bytes` random bytes at `name` under the cache, created if missing or the wrong size. */
export function cachedRandomFile(name: string, bytes: number, log: (line: string) => void = () => {}): string {
  const path = join(CACHE_DIR, name);
  if (sizeOf(path) === bytes) return path;
  mkdirSync(dirname(path), { recursive: true });
  // Leftovers of an interrupted run go; a file of the wrong size is replaced by the rename below.
  for (const e of readdirSync(dirname(path))) if (e.startsWith(`${basename(path)}.partial-`)) rmSync(join(dirname(path), e), { force: true });
  log(`creating ${relative(REPO_ROOT, path)} (${bytes} bytes of random data, once; later runs reuse it)`);
  // Written beside the final name and renamed, so an interrupted run never leaves a short file that looks done.
  const tmp = `${path}.partial-${process.pid}`;
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, bytes));
  const fd = openSync(tmp, 'w');
  try {
    for (let left = bytes; left > 0; ) {
      const n = Math.min(buf.length, left);
      randomFillSync(buf, 0, n);
      let off = 0;
      while (off < n) off += writeSync(fd, buf, off, n - off);
      left -= n;
    }
  } catch (err: unknown) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  return path;
}

/** A directory of `count` random shards, named like a sharded checkpoint. */
export function cachedShardDir(name: string, count: number, bytesEach: number, log?: (line: string) => void): { dir: string; files: string[] } {
  const files = Array.from({ length: count }, (_, i) =>
    cachedRandomFile(join(name, `model-${String(i + 1).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.bin`), bytesEach, log),
  );
  return { dir: join(CACHE_DIR, name), files };
}

/** Reads every file once, end to end, so that each tool timed afterwards hashes from the page cache alike. */
export function warmPageCache(paths: readonly string[]): { bytes: number; ms: number } {
  const t0 = performance.now();
  const buf = Buffer.allocUnsafe(CHUNK);
  let bytes = 0;
  for (const p of paths) {
    const fd = openSync(p, 'r');
    try {
      for (let n = readSync(fd, buf, 0, CHUNK, null); n > 0; n = readSync(fd, buf, 0, CHUNK, null)) bytes += n;
    } finally {
      closeSync(fd);
    }
  }
  return { bytes, ms: performance.now() - t0 };
}

/** Bytes of the files now in the page cache according to util-linux fincore, or undefined without it. */
export function residentBytes(paths: readonly string[]): number | undefined {
  const r = spawnSync('fincore', ['--bytes', '--noheadings', '--raw', '--output', 'RES', ...paths], { encoding: 'utf8' });
  if (r.status !== 0 || typeof r.stdout !== 'string') return undefined;
  const values = r.stdout.trim().split('\n').map(Number);
  return values.length === paths.length && values.every(Number.isFinite) ? values.reduce((a, b) => a + b, 0) : undefined;
}
