// Big input files for the bench, under .cache/bench/: random bytes (optionally behind a model header),
// sparse files and files written by real tools, made once and reused by later runs, so only the
// first run pays for creating gigabytes.
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, ftruncateSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
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

/** True when the file starts with exactly these bytes. */
function startsWith(path: string, head: Buffer): boolean {
  if (head.length === 0) return true;
  const got = Buffer.alloc(head.length);
  const fd = openSync(path, 'r');
  try {
    return readSync(fd, got, 0, head.length, 0) === head.length && got.equals(head);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `path` through a temporary file beside it, renamed at the end, so an interrupted run never
 * leaves a short file that looks done; leftovers of an interrupted run go first.
 */
function writeAtomically(path: string, write: (tmp: string) => void): void {
  mkdirSync(dirname(path), { recursive: true });
  for (const e of readdirSync(dirname(path))) if (e.startsWith(`${basename(path)}.partial-`)) rmSync(join(dirname(path), e), { force: true });
  const tmp = `${path}.partial-${process.pid}`;
  try {
    write(tmp);
  } catch (err: unknown) {
    rmSync(tmp, { force: true });
    throw err;
  }
  renameSync(tmp, path);
}

function writeAll(fd: number, buf: Buffer, n = buf.length): void {
  let off = 0;
  while (off < n) off += writeSync(fd, buf, off, n - off);
}

/**
 * Path of a file of exactly `bytes` bytes at `name` under the cache: `head` (a model header, or
 * nothing) followed by random bytes. Created if missing, the wrong size or with another head.
 */
export function cachedRandomFile(name: string, bytes: number, log: (line: string) => void = () => {}, head: Buffer = Buffer.alloc(0)): string {
  const path = join(CACHE_DIR, name);
  if (sizeOf(path) === bytes && startsWith(path, head)) return path;
  if (head.length > bytes) throw new Error(`${name}: a ${head.length}-byte head does not fit in ${bytes} bytes`);
  log(`creating ${relative(REPO_ROOT, path)} (${bytes} bytes${head.length > 0 ? `: a ${head.length}-byte header and` : ' of'} random data, once; later runs reuse it)`);
  writeAtomically(path, (tmp) => {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, bytes));
    const fd = openSync(tmp, 'w');
    try {
      writeAll(fd, head);
      for (let left = bytes - head.length; left > 0; ) {
        const n = Math.min(buf.length, left);
        randomFillSync(buf, 0, n);
        writeAll(fd, buf, n);
        left -= n;
      }
    } finally {
      closeSync(fd);
    }
  });
  return path;
}

/**
 * A sparse file of `bytes` bytes: `head` written for real, the rest a hole made by ftruncate, so a
 * 10 GiB model costs the disk its header only. Rewritten when the size or the head differ.
 */
export function sparseFile(name: string, head: Buffer, bytes: number, log: (line: string) => void = () => {}): { path: string; allocatedBytes: number } {
  const path = join(CACHE_DIR, name);
  if (!(sizeOf(path) === bytes && startsWith(path, head))) {
    log(`creating ${relative(REPO_ROOT, path)} (sparse: a ${head.length}-byte header, ${bytes} bytes in all)`);
    writeAtomically(path, (tmp) => {
      const fd = openSync(tmp, 'w');
      try {
        writeAll(fd, head);
        ftruncateSync(fd, bytes);
      } finally {
        closeSync(fd);
      }
    });
  }
  // st_blocks counts 512-byte units actually allocated on disk.
  return { path, allocatedBytes: statSync(path).blocks * 512 };
}

/** A file made by `generate(tmpPath)` (for example by torch.save), made once and reused while it exists. */
export function cachedGeneratedFile(name: string, what: string, generate: (tmp: string) => void, log: (line: string) => void = () => {}): string {
  const path = join(CACHE_DIR, name);
  if ((sizeOf(path) ?? 0) > 0) return path;
  log(`creating ${relative(REPO_ROOT, path)} (${what}, once; later runs reuse it)`);
  writeAtomically(path, generate);
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

/**
 * Drops the file's pages from the page cache (GNU dd's nocache flag: posix_fadvise DONTNEED), for
 * example after reading the holes of a sparse file, which fills the cache with gigabytes of zeros
 * that the machine's other work would have to evict. Best effort: false when dd could not do it.
 */
export function releasePageCache(path: string): boolean {
  return spawnSync('dd', [`if=${path}`, 'iflag=nocache', 'count=0', 'status=none']).status === 0;
}
