// Smoke inference for ONNX models: load the model (measuring load time), run sample inputs and
// compare outputs with golden outputs within a tolerance, like numpy.allclose, and score a labelled
// evaluation file (smoke-eval).
import { readFile } from 'node:fs/promises';
import { errorMessage, InputError, type GateResult, type Logger } from '@ferry/core';
import { formatValue } from '../gates/format.js';
import { evaluateClassifier, type ClassifierEvaluation, type LabelledTable } from './evaluate.js';
import { loadOnnxRuntime, type Ort } from './runtime.js';
import { flatten, tensorNumbers, toTensor } from './tensors.js';

export interface SmokeOptions {
  readonly modelFile: string;
  /** JSON file: an array of samples, each mapping input name → nested array. */
  readonly samplesFile?: string;
  /** JSON file: an array of expected outputs, each mapping output name → nested array. */
  readonly goldenFile?: string;
  /** A labelled evaluation table (smoke-eval), already read. */
  readonly evaluation?: LabelledTable;
  readonly atol: number;
  readonly rtol: number;
  readonly logger: Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface SmokeResult {
  readonly loadMs: number;
  readonly gates: GateResult[];
  readonly facts: [string, string][];
  /** The labelled evaluation, when one was asked for and ran. */
  readonly evaluation?: ClassifierEvaluation;
}

type Session = Awaited<ReturnType<Ort['InferenceSession']['create']>>;

async function readSamples(file: string, what: string): Promise<Record<string, unknown>[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (err: unknown) {
    throw new InputError(`${file}: ${what} must be a JSON array of objects (${errorMessage(err)})`, { subject: file });
  }
  if (!Array.isArray(parsed) || parsed.some((s) => typeof s !== 'object' || s === null || Array.isArray(s))) {
    throw new InputError(`${file}: ${what} must be a JSON array of objects keyed by tensor name`, { subject: file });
  }
  return parsed as Record<string, unknown>[];
}

/** Opens a session; a model onnxruntime refuses is a failed gate, not a crash. */
export async function openSession(ort: Ort, modelFile: string): Promise<{ session: Session; loadMs: number }> {
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(modelFile, { graphOptimizationLevel: 'all' });
  return { session, loadMs: performance.now() - t0 };
}

export async function runSmoke(opts: SmokeOptions): Promise<SmokeResult> {
  const samples = opts.samplesFile ? await readSamples(opts.samplesFile, 'smoke samples') : undefined;
  const golden = opts.goldenFile ? await readSamples(opts.goldenFile, 'golden outputs') : undefined;
  if (golden && samples && golden.length !== samples.length) {
    throw new InputError(`${opts.goldenFile}: has ${golden.length} entries but ${opts.samplesFile} has ${samples.length} samples`, { subject: opts.goldenFile });
  }
  const ort = await loadOnnxRuntime(opts.logger, opts.env);
  let session: Session;
  let loadMs: number;
  try {
    ({ session, loadMs } = await openSession(ort, opts.modelFile));
  } catch (err: unknown) {
    return {
      loadMs: 0,
      facts: [],
      gates: [{ name: 'smoke: model loads in onnxruntime', passed: false, value: 'refused', threshold: 'loads', detail: errorMessage(err) }],
    };
  }
  const gates: GateResult[] = [{ name: 'smoke: model loads in onnxruntime', passed: true, value: `${loadMs.toFixed(0)} ms`, threshold: 'loads' }];
  const facts: [string, string][] = [['onnxruntime load time', `${loadMs.toFixed(1)} ms`]];
  let evaluation: ClassifierEvaluation | undefined;
  try {
    if (samples && opts.samplesFile) {
      gates.push(...(await runSamples(ort, session, samples, golden, opts)));
      facts.push(['smoke samples', String(samples.length)]);
    }
    if (opts.evaluation) {
      const data = opts.evaluation;
      const gate = { name: 'smoke: labelled evaluation', threshold: 'every row scored' };
      try {
        evaluation = await evaluateClassifier(ort, session, data);
        const m = evaluation.metrics;
        gates.push({
          ...gate,
          passed: evaluation.unscored === 0,
          value: `accuracy ${formatValue(m.accuracy)} on ${m.rows} rows${evaluation.unscored ? `, ${evaluation.unscored} unscored` : ''}`,
          detail:
            `${data.file}: ${m.rows} rows, predictions from the ${evaluation.method} "${evaluation.output}"` +
            (evaluation.unscored ? `; ${evaluation.unscored} rows had non-finite scores and count as wrong.` : '.'),
        });
      } catch (err: unknown) {
        if (err instanceof InputError) throw err;
        gates.push({ ...gate, passed: false, value: 'failed', detail: `${data.file}: onnxruntime could not run the rows: ${errorMessage(err)}` });
      }
    }
  } finally {
    await session.release();
  }
  return { loadMs, gates, facts, ...(evaluation ? { evaluation } : {}) };
}

/** Runs the sample inputs and compares with golden outputs: one gate for the runs, one for the match. */
async function runSamples(
  ort: Ort,
  session: Session,
  samples: readonly Record<string, unknown>[],
  golden: readonly Record<string, unknown>[] | undefined,
  opts: SmokeOptions,
): Promise<GateResult[]> {
  const samplesFile = opts.samplesFile ?? '';
  const types = new Map(session.inputMetadata.map((m) => [m.name, m.isTensor ? m.type : 'unknown']));
  const gates: GateResult[] = [];
  let worst = 0;
  let worstWhere = '';
  let mismatches = 0;
  let nonFinite = 0;
  let failedRuns = 0;
  let firstError = '';
  for (const [i, sample] of samples.entries()) {
    const feeds: Record<string, InstanceType<Ort['Tensor']>> = {};
    for (const name of session.inputNames) {
      if (!(name in sample)) throw new InputError(`${samplesFile}: sample ${i} lacks input "${name}" (the model's inputs: ${session.inputNames.join(', ')})`, { subject: samplesFile });
      feeds[name] = toTensor(ort, types.get(name) ?? 'float32', sample[name], `${samplesFile}: sample ${i} input "${name}"`);
    }
    let outputs: Awaited<ReturnType<Session['run']>>;
    try {
      outputs = await session.run(feeds);
    } catch (err: unknown) {
      failedRuns++;
      firstError ||= `sample ${i}: ${errorMessage(err)}`;
      continue;
    }
    for (const t of Object.values(outputs)) {
      if (t.type !== 'string' && tensorNumbers(t).some((v) => !Number.isFinite(v))) nonFinite++;
    }
    const expected = golden?.[i];
    if (!expected) continue;
    for (const [name, value] of Object.entries(expected)) {
      const actual = outputs[name];
      const where = `${opts.goldenFile}: entry ${i} output "${name}"`;
      if (!actual) throw new InputError(`${where}: the model has no output "${name}" (it has ${session.outputNames.join(', ')})`, { subject: opts.goldenFile });
      const { shape, values } = flatten(value, where);
      const got = tensorNumbers(actual);
      if (shape.join('x') !== actual.dims.join('x')) {
        mismatches++;
        firstError ||= `${where}: shape ${actual.dims.join('×')} differs from golden ${shape.join('×')}`;
        continue;
      }
      values.forEach((g, k) => {
        const want = Number(g);
        const diff = Math.abs((got[k] ?? Number.NaN) - want);
        if (!(diff <= opts.atol + opts.rtol * Math.abs(want))) mismatches++;
        if (!(diff <= worst)) {
          worst = Number.isNaN(diff) ? Number.POSITIVE_INFINITY : diff;
          worstWhere = `entry ${i} ${name}[${k}]`;
        }
      });
    }
  }
  gates.push({
    name: 'smoke: sample inferences run',
    passed: failedRuns === 0 && nonFinite === 0,
    value: `${samples.length - failedRuns}/${samples.length} ran${nonFinite ? `, ${nonFinite} non-finite outputs` : ''}`,
    threshold: 'all run, finite outputs',
    ...(firstError && failedRuns ? { detail: firstError } : {}),
  });
  if (golden) {
    gates.push({
      name: 'smoke: outputs match golden',
      passed: mismatches === 0,
      value: `max |Δ| ${worst.toExponential(2)}${worstWhere ? ` at ${worstWhere}` : ''}`,
      threshold: `|Δ| ≤ ${opts.atol} + ${opts.rtol}·|golden|`,
      detail: mismatches ? `${mismatches} value(s) outside tolerance${firstError ? `; ${firstError}` : ''}` : 'all values within tolerance',
    });
  }
  return gates;
}
