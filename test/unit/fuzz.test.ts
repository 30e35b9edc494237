// Seeded fuzzing of the structure checks: valid files from the real writers are truncated, bit-flipped
// and given absurd lengths, counts, dims and offsets. Every case must end in a pass or a
// MalformedModelError (exit 2, naming the file and rule), within a bounded time and memory.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelFormat } from '../../packages/model/src/formats/detect.js';
import { checkFile } from '../../packages/model/src/formats/index.js';
import { DEFAULT_LIMITS, MalformedModelError } from '../../packages/model/src/formats/types.js';
import { requirePython } from '../support/python.js';
import { REPO_ROOT } from '../support/repo.js';

const SEED = 0x5eed_f00d;
/** Rounds of mutations per seed file; FERRY_FUZZ_ROUNDS raises it for a longer hunt. */
const ROUNDS = Number(process.env.FERRY_FUZZ_ROUNDS ?? 3);
/** A hang guard, not a performance assertion: real cases take milliseconds. */
const CASE_LIMIT_MS = 2000;
const RSS_GROWTH_LIMIT = 200 * 1024 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'ferry-fuzz-'));
execFileSync(requirePython(), [join(REPO_ROOT, 'test/fixtures/make_models.py'), dir], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });

/** Valid files to mutate; mutants are written beside them so ONNX external data still resolves. */
const SEEDS: readonly (readonly [string, ModelFormat])[] = [
  ['st/torch.safetensors', 'safetensors'],
  ['st/numpy.safetensors', 'safetensors'],
  ['gguf/spec_writer.gguf', 'gguf'],
  ['gguf/package_writer.gguf', 'gguf'],
  ['onnx/torch_mlp.onnx', 'onnx'],
  ['onnx/if_subgraph.onnx', 'onnx'],
  ['onnx/external/model.onnx', 'onnx'],
  ['keras/lambda.keras', 'keras'],
  ['keras/lambda_legacy.h5', 'hdf5'],
  ['savedmodel/clean/saved_model.pb', 'tf-savedmodel'],
];

/** mulberry32: small, fast and deterministic, so a failing case can be replayed from the seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values that break parsers: maxima, sign bits, just-too-large lengths, 10-byte varints. */
const BLOWUPS: readonly Buffer[] = [
  Buffer.from('ffffffffffffffff', 'hex'),
  Buffer.from('0000000000000080', 'hex'),
  Buffer.from('0000000000010000', 'hex'),
  Buffer.from('ffffffff', 'hex'),
  Buffer.from('00e1f505', 'hex'),
  Buffer.from('ffffffffffffffffff01', 'hex'),
  Buffer.from('80808080808080808001', 'hex'),
  Buffer.from('ffffffff0f', 'hex'),
  Buffer.from('05', 'hex'),
];

interface Mutant {
  readonly label: string;
  readonly bytes: Buffer;
}

function mutants(original: Buffer, rand: () => number): Mutant[] {
  const out: Mutant[] = [];
  const n = original.length;
  const pick = (limit: number): number => Math.floor(rand() * Math.min(limit, n));
  // Truncation: every early byte (headers), then spread over the file.
  for (let cut = 0; cut < Math.min(n, 48); cut += 3) out.push({ label: `truncate@${cut}`, bytes: original.subarray(0, cut) });
  for (let i = 0; i < 16; i++) {
    const cut = pick(n);
    out.push({ label: `truncate@${cut}`, bytes: original.subarray(0, cut) });
  }
  // Bit flips, mostly in the structure at the front.
  for (let i = 0; i < 40; i++) {
    const b = Buffer.from(original);
    const flips = 1 + Math.floor(rand() * 4);
    const where: number[] = [];
    for (let k = 0; k < flips; k++) {
      const at = pick(i % 4 === 0 ? n : 4096);
      b[at] = (b[at] ?? 0) ^ (1 << Math.floor(rand() * 8));
      where.push(at);
    }
    out.push({ label: `flip@${where.join(',')}`, bytes: b });
  }
  // Blow-ups: huge lengths, counts, dims and offsets written over header fields.
  for (let i = 0; i < 40; i++) {
    const b = Buffer.from(original);
    const value = BLOWUPS[Math.floor(rand() * BLOWUPS.length)] ?? Buffer.alloc(1);
    const at = pick(2048);
    value.copy(b, at);
    out.push({ label: `blowup@${at}=${value.toString('hex')}`, bytes: b });
  }
  // Header fields that every reader trusts first: the GGUF counts, the safetensors length.
  for (const at of [0, 8, 16]) {
    for (const value of BLOWUPS.slice(0, 3)) {
      const b = Buffer.from(original);
      value.copy(b, at);
      out.push({ label: `field@${at}=${value.toString('hex')}`, bytes: b });
    }
  }
  // Appended bytes: polyglot tails and extra messages.
  out.push({ label: 'append', bytes: Buffer.concat([original, Buffer.from('PK\u0003\u0004trailing', 'latin1')]) });
  return out;
}

interface Outcome {
  readonly label: string;
  readonly result: 'pass' | 'malformed' | 'crash' | 'hang';
  readonly ms: number;
  readonly detail: string;
}

async function runCase(path: string, displayPath: string, format: ModelFormat): Promise<Omit<Outcome, 'label'>> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hang'>((resolve) => (timer = setTimeout(() => resolve('hang'), CASE_LIMIT_MS)));
  try {
    const ctx = { path, displayPath, modelRoot: dirname(path), limits: DEFAULT_LIMITS, signal: new AbortController().signal };
    const r = await Promise.race([checkFile(format, ctx), hang]);
    const ms = performance.now() - started;
    return r === 'hang' ? { result: 'hang', ms, detail: '' } : { result: 'pass', ms, detail: '' };
  } catch (err) {
    const ms = performance.now() - started;
    if (err instanceof MalformedModelError && err.exitCode === 2 && err.message.includes(displayPath) && err.message.includes(err.rule)) {
      return { result: 'malformed', ms, detail: err.rule };
    }
    return { result: 'crash', ms, detail: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

describe('fuzzed model files', () => {
  it('never crash, hang or grow memory without bound', { timeout: 30_000 + ROUNDS * 10_000 }, async () => {
    const rand = prng(SEED);
    const outcomes: Outcome[] = [];
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    for (const [rel, format] of SEEDS) {
      const src = join(dir, rel);
      expect(existsSync(src), `${rel} was not written by make_models.py`).toBe(true);
      const original = readFileSync(src);
      // One round at a time, so the harness holds one round of mutants, not all of them.
      for (let round = 0; round < ROUNDS; round++) {
        for (const [i, m] of mutants(original, rand).entries()) {
          const path = join(dirname(src), `fuzz-${i}-${basename(src)}`);
          writeFileSync(path, m.bytes);
          const o = await runCase(path, `${rel}#${m.label}`, format);
          outcomes.push({ label: `${rel} ${m.label}`, ...o });
          rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
        }
      }
    }
    const crashes = outcomes.filter((o) => o.result === 'crash' || o.result === 'hang');
    expect(crashes.map((o) => `${o.label}: ${o.result} ${o.detail}`)).toEqual([]);
    const slowest = outcomes.reduce((a, b) => (b.ms > a.ms ? b : a));
    expect(slowest.ms, `slowest case ${slowest.label}`).toBeLessThan(CASE_LIMIT_MS);
    expect(rssPeak - rssBefore).toBeLessThan(RSS_GROWTH_LIMIT);
    const malformed = outcomes.filter((o) => o.result === 'malformed');
    // The mutations must actually reach the rules, not just bounce off the first check.
    expect(outcomes.length).toBeGreaterThan(ROUNDS * 1000);
    expect(malformed.length).toBeGreaterThan(outcomes.length / 2);
    expect(new Set(malformed.map((o) => o.detail)).size).toBeGreaterThan(25);
    const byRule = new Map<string, number>();
    for (const o of malformed) byRule.set(o.detail, (byRule.get(o.detail) ?? 0) + 1);
    console.info(
      `fuzz: ${outcomes.length} cases, ${malformed.length} malformed, ${outcomes.length - malformed.length} passed, ` +
        `slowest ${slowest.ms.toFixed(1)} ms (${slowest.label}), RSS growth ${((rssPeak - rssBefore) / 1048576).toFixed(1)} MiB, ` +
        `${byRule.size} rules: ${[...byRule].sort((a, b) => b[1] - a[1]).map(([r, c]) => `${r}=${c}`).join(' ')}`,
    );
  });
});
