// The results file: everything a later run needs from this one, as the baseline to compare with or
// as a shard to merge: the load result with its histograms (so comparisons and merges are exact),
// how the server started, and the GPU figures. Written atomically: a cancelled run never leaves a
// half-written file where the next run would read a baseline.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError } from '@ferry/core';
import { parseLoadResult } from '../compare/baseline.js';
import type { LoadResult } from '../load/result.js';

export const BENCHMARK_SCHEMA = 'ferry-benchmark/1';

export interface ServerFacts {
  readonly description: string;
  readonly started: boolean;
  readonly timeToReadyMs: number | undefined;
  readonly timeToFirstInferenceMs: number | undefined;
}

export interface BenchmarkFile {
  readonly schema: typeof BENCHMARK_SCHEMA;
  readonly createdAt: string;
  readonly model: { readonly name: string; readonly version?: string };
  readonly server?: ServerFacts;
  /** GPU readiness and telemetry as measured (absent on a runner without GPUs). */
  readonly gpu?: { readonly readiness?: unknown; readonly telemetry?: unknown };
  readonly load: LoadResult;
}

export function writeBenchmarkFile(path: string, file: BenchmarkFile): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.partial-${process.pid}`;
  try {
    writeFileSync(tmp, `${JSON.stringify(file)}\n`);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Reads a results file written by this step (or a bare load result); `input` names the input it
 * came from, and every problem is an input error naming that input, the file and the field.
 */
export function readBenchmarkFile(path: string, input: string): BenchmarkFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`${input}: cannot read ${path} (${code === 'ENOENT' ? 'no such file' : (code ?? (err as Error).message)})`, { subject: input });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${input}: ${path} is not JSON (${(err as Error).message})`, { subject: input });
  }
  let load: LoadResult;
  try {
    load = parseLoadResult(value, path);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`${input}: ${err.message}`, { subject: input, ...(err.hint ? { hint: err.hint } : {}) });
    throw err;
  }
  const obj = value as Partial<Omit<BenchmarkFile, 'schema'>> & { schema?: unknown };
  if (obj.schema === BENCHMARK_SCHEMA) return { ...(obj as BenchmarkFile), load };
  return { schema: BENCHMARK_SCHEMA, createdAt: '', model: { name: '' }, load };
}
