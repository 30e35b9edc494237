// A fresh Node process for one timed call, so that the peak RSS read around it is Node's own plus that
// call's and nothing the bench process holds. Plain JavaScript on purpose: a .ts entry would make Node
// load its TypeScript stripper, about 17 MiB of RSS that no user of Ferry pays.
// Prints one JSON line: the call's time (ms, taken inside this process) and the bytes the process read
// while it ran (/proc/self/io rchar), plus Ferry's verdict for `ferry`.
//   node bench/lib/check-child.mjs ferry <file>             detectFormat + checkModelFile from packages/model/dist
//   node bench/lib/check-child.mjs header <file> [<bytes>]  a header-only read: safetensors length + JSON.parse, or the first <bytes>
//   node bench/lib/check-child.mjs read <file>              every byte, in 1 MiB chunks into one reused buffer
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';

const CHUNK = 1024 * 1024;

function rchar() {
  try {
    const m = /^rchar:\s+(\d+)/m.exec(readFileSync('/proc/self/io', 'utf8'));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

async function timed(fn) {
  const r0 = rchar();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  return { ms, readBytes: rchar() - r0, ...value };
}

/** As validate-model runs them per file, with its default limits and pickle policy; loaded before the clock starts. */
async function ferry(path) {
  const [{ detectFormat }, { checkModelFile }, { DEFAULT_LIMITS }, { DEFAULT_PICKLE_POLICY }] = await Promise.all([
    import('../../packages/model/dist/formats/detect.js'),
    import('../../packages/model/dist/check-file.js'),
    import('../../packages/model/dist/formats/types.js'),
    import('../../packages/model/dist/scan/pickle-policy.js'),
  ]);
  const signal = new AbortController().signal;
  return timed(async () => {
    const { format } = await detectFormat(path);
    const check = await checkModelFile(format, { path, displayPath: path, modelRoot: path, limits: DEFAULT_LIMITS, signal }, DEFAULT_PICKLE_POLICY);
    return { format, scanned: check.scanned, findings: check.findings, facts: check.facts };
  });
}

async function header(path, bytes) {
  return timed(async () => {
    const fh = await open(path, 'r');
    try {
      if (bytes !== undefined) {
        await fh.read(Buffer.alloc(bytes), 0, bytes, 0);
        return {};
      }
      const len = Buffer.alloc(8);
      await fh.read(len, 0, 8, 0);
      const json = Buffer.alloc(Number(len.readBigUInt64LE(0)));
      await fh.read(json, 0, json.length, 8);
      JSON.parse(json.toString('utf8'));
      return {};
    } finally {
      await fh.close();
    }
  });
}

async function read(path) {
  return timed(async () => {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.allocUnsafe(CHUNK);
      for (let pos = 0; ; ) {
        const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
        if (bytesRead === 0) return {};
        pos += bytesRead;
      }
    } finally {
      await fh.close();
    }
  });
}

const [mode, path, bytes] = process.argv.slice(2);
try {
  let result;
  if (mode === 'ferry' && path) result = await ferry(path);
  else if (mode === 'header' && path) result = await header(path, bytes === undefined ? undefined : Number(bytes));
  else if (mode === 'read' && path) result = await read(path);
  else throw new Error('usage: check-child.mjs ferry <file> | header <file> [<bytes>] | read <file>');
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (err) {
  process.stderr.write(`check-child: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
