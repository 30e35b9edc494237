// validate-model gates through real files: metric thresholds and baseline deltas, fairness across
// slices, drift against SciPy (test/fixtures/drift_reference.py writes the samples and computes the
// reference values), the model card, the configuration's error paths and unreadable results files.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { exitCodeOf, ferryConfigSchema, InputError, type GateResult } from '@ferry/core';
import {
  parseGatesConfig,
  runGates,
  type DriftFeatureResult,
  type EvaluationResults,
  type FairnessGateResult,
  type GatesConfigOptions,
  type MetricGateResult,
  type ModelCardResult,
} from '@ferry/model/gates';
import { requirePython } from '../support/python.js';
import { REPO_ROOT } from '../support/repo.js';

/** A temporary directory holding `files` (paths may contain folders). */
function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-gates-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** Parses `raw` as the gates mapping and runs it in `cwd`, as the step does. */
async function gates(raw: unknown, cwd: string, options: GatesConfigOptions & { computed?: EvaluationResults } = {}): Promise<GateResult[]> {
  const { computed, ...parse } = options;
  return runGates(parseGatesConfig(raw, parse), { cwd, modelPath: join(cwd, 'model.onnx'), ...(computed ? { computed } : {}) });
}

/** The InputError a call throws (failing the test when it throws nothing or something else). */
async function inputError(fn: () => unknown): Promise<InputError> {
  try {
    await fn();
  } catch (err: unknown) {
    expect(err).toBeInstanceOf(InputError);
    expect(exitCodeOf(err)).toBe(2);
    return err as InputError;
  }
  return expect.fail('expected an InputError');
}

describe('metric gates: absolute thresholds', () => {
  const cases: { gate: string; metric: string; value: number; passed: boolean }[] = [
    { gate: 'accuracy >= 0.92', metric: 'accuracy', value: 0.93, passed: true },
    { gate: 'accuracy >= 0.92', metric: 'accuracy', value: 0.92, passed: true },
    { gate: 'accuracy >= 0.92', metric: 'accuracy', value: 0.9199, passed: false },
    { gate: 'p95_latency_ms <= 50', metric: 'p95_latency_ms', value: 41, passed: true },
    { gate: 'p95_latency_ms <= 50', metric: 'p95_latency_ms', value: 50.5, passed: false },
    { gate: 'error_rate < 0.01', metric: 'error_rate', value: 0.01, passed: false },
    { gate: 'auc > 0.9', metric: 'auc', value: 0.95, passed: true },
    { gate: 'errors == 0', metric: 'errors', value: 0, passed: true },
    { gate: 'errors == 0', metric: 'errors', value: 1, passed: false },
  ];
  it.each(cases)('$gate with $metric = $value: passed=$passed', async ({ gate, metric, value, passed }) => {
    const dir = tempDir({ 'eval.json': JSON.stringify({ [metric]: value }) });
    const [result] = (await gates({ results: 'eval.json', metrics: [gate] }, dir)) as MetricGateResult[];
    expect(result?.passed).toBe(passed);
    expect(result?.actual).toBe(value);
    expect(result?.value).toBe(String(value));
    expect(result?.threshold).toBe(gate.slice(metric.length + 1));
    expect(result?.detail).toContain('eval.json');
  });

  it('reads the same numbers from every results layout (JSON flat or nested, CSV by metric or by slice)', async () => {
    const layouts = {
      'flat.json': JSON.stringify({ accuracy: 0.93, 'latency.p95': 41, model: 'v2' }),
      'nested.json': JSON.stringify({ model: 'v2', metrics: { accuracy: 0.93, latency: { p95: 41 } } }),
      'by-metric.csv': 'metric,value,slice\naccuracy,0.93,\n"latency.p95",41,\naccuracy,0.90,sex=female\n',
      'by-slice.tsv': 'slice\taccuracy\tlatency.p95\noverall\t0.93\t41\nsex=female\t0.90\t40\n',
    };
    const dir = tempDir(layouts);
    for (const file of Object.keys(layouts)) {
      const results = (await gates({ results: file, metrics: ['accuracy >= 0.92', 'latency.p95 <= 40'] }, dir)) as MetricGateResult[];
      expect(results.map((r) => [r.actual, r.passed]), file).toEqual([
        [0.93, true],
        [41, false],
      ]);
    }
  });

  it('fails, never passes, on a metric that is missing or not a number', async () => {
    const dir = tempDir({ 'eval.json': JSON.stringify({ accuracy: null, f1: 0.8 }), 'eval.csv': 'metric,value\naccuracy,NA\n' });
    const [nullValue, absent] = await gates({ results: 'eval.json', metrics: ['accuracy >= 0.5', 'auc >= 0.5'] }, dir);
    expect(nullValue).toMatchObject({ passed: false, value: 'missing' });
    expect(nullValue?.detail).toContain('eval.json has null for it');
    expect(absent).toMatchObject({ passed: false, value: 'missing' });
    expect(absent?.detail).toContain('eval.json has f1');
    const [na] = await gates({ results: 'eval.csv', metrics: ['accuracy >= 0.5'] }, dir);
    expect(na).toMatchObject({ passed: false, value: 'missing' });
  });
});

describe('metric gates: change against the baseline', () => {
  const cases: { name: string; gate: Record<string, unknown>; current: number; baseline: number; passed: boolean }[] = [
    { name: 'a drop of exactly the limit', gate: { metric: 'auc', 'max-drop': 0.005 }, current: 0.97, baseline: 0.975, passed: true },
    { name: 'a drop beyond the limit', gate: { metric: 'auc', 'max-drop': 0.005 }, current: 0.969, baseline: 0.975, passed: false },
    { name: 'an improvement', gate: { metric: 'auc', 'max-drop': 0.005 }, current: 0.99, baseline: 0.975, passed: true },
    { name: 'a relative rise within 10%', gate: { metric: 'latency_ms', 'max-increase-relative': '10%' }, current: 54, baseline: 50, passed: true },
    { name: 'a relative rise beyond 10%', gate: { metric: 'latency_ms', 'max-increase-relative': 0.1 }, current: 56, baseline: 50, passed: false },
    { name: 'a fall of a lower-is-better metric', gate: { metric: 'latency_ms', 'max-increase': 1 }, current: 30, baseline: 50, passed: true },
    { name: 'no worsening allowed, equal', gate: { metric: 'auc', direction: 'higher-is-better' }, current: 0.975, baseline: 0.975, passed: true },
    { name: 'no worsening allowed, slightly worse', gate: { metric: 'auc', direction: 'higher-is-better' }, current: 0.9749, baseline: 0.975, passed: false },
    { name: 'both limits hold', gate: { metric: 'loss', 'max-increase': 0.02, 'max-increase-relative': '5%' }, current: 0.42, baseline: 0.4, passed: true },
    { name: 'absolute holds, relative does not', gate: { metric: 'loss', 'max-increase': 0.1, 'max-increase-relative': '5%' }, current: 0.43, baseline: 0.4, passed: false },
  ];
  it.each(cases)('$name: passed=$passed', async ({ gate, current, baseline, passed }) => {
    const metric = gate.metric as string;
    const dir = tempDir({ 'eval.json': JSON.stringify({ [metric]: current }), 'prod.csv': `metric,value\n${metric},${baseline}\n` });
    const [result] = (await gates({ results: 'eval.json', baseline: 'prod.csv', metrics: [gate] }, dir)) as MetricGateResult[];
    expect(result).toMatchObject({ passed, actual: current, baseline });
    expect(result?.value).toBe(`${current} vs ${baseline}`);
    expect(result?.detail).toContain('prod.csv');
  });

  it('fails when the baseline lacks the metric', async () => {
    const dir = tempDir({ 'eval.json': '{"auc": 0.97}', 'prod.json': '{"accuracy": 0.9}' });
    const [result] = await gates({ results: 'eval.json', baseline: 'prod.json', metrics: [{ metric: 'auc', 'max-drop': 0.01 }] }, dir);
    expect(result).toMatchObject({ passed: false, value: '0.97 vs missing' });
    expect(result?.detail).toContain('baseline: "auc" has no number (prod.json has accuracy)');
  });

  it('takes the eval-results and baseline-results inputs over the files in the mapping', async () => {
    const dir = tempDir({ 'old.json': '{"auc": 0.5}', 'new.json': '{"auc": 0.97}', 'prod.json': '{"auc": 0.975}' });
    const [result] = await gates({ results: 'old.json', metrics: [{ metric: 'auc', 'max-drop': 0.01 }] }, dir, { results: 'new.json', baseline: 'prod.json' });
    expect(result).toMatchObject({ passed: true, value: '0.97 vs 0.975' });
  });
});

describe('metric gates on metrics the step computed (smoke-eval)', () => {
  const computed: EvaluationResults = {
    source: 'smoke-eval eval.csv',
    metrics: new Map([
      ['accuracy', 0.815],
      ['f1_macro', 0.81],
    ]),
    slices: new Map(),
    unusable: new Map([['precision', 'no value (precision, recall and f1 need binary 0/1 labels; f1_macro covers any)']]),
  };
  const computedMetrics = ['accuracy', 'f1_macro', 'precision', 'recall', 'f1'];

  it('reads them when no results file is given', async () => {
    const results = (await gates({ metrics: ['accuracy >= 0.8', 'f1_macro >= 0.9', 'precision >= 0.5'] }, tempDir(), { computedMetrics, computed })) as MetricGateResult[];
    expect(results.map((r) => r.passed)).toEqual([true, false, false]);
    expect(results[0]?.actual).toBe(0.815);
    expect(results[0]?.detail).toContain('from smoke-eval eval.csv');
    expect(results[2]?.detail).toContain('need binary 0/1 labels');
  });

  it('prefers the results file, and falls back to them for a metric the file lacks', async () => {
    const dir = tempDir({ 'eval.json': '{"accuracy": 0.95}' });
    const results = (await gates({ results: 'eval.json', metrics: ['accuracy >= 0.9', 'f1_macro >= 0.8'] }, dir, { computedMetrics, computed })) as MetricGateResult[];
    expect(results.map((r) => [r.actual, r.passed])).toEqual([
      [0.95, true],
      [0.81, true],
    ]);
  });

  it('refuses, before running, a gate on a metric that nothing provides', async () => {
    const err = await inputError(() => parseGatesConfig({ metrics: ['auc >= 0.9'] }, { computedMetrics }));
    expect(err.message).toContain('validate-model.gates.metrics[0]: "auc" is not computed by smoke-eval');
  });
});

describe('fairness gates', () => {
  const slices = { 'sex=female': 0.9, 'sex=male': 0.93, 'age=young': 0.8, 'age=old': 0.95 };
  const groups = (prefix: string): number[] => Object.entries(slices).filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);
  const gap = (prefix: string): number => Math.max(...groups(prefix)) - Math.min(...groups(prefix));
  const ratio = (prefix: string): number => Math.min(...groups(prefix)) / Math.max(...groups(prefix));
  const results = JSON.stringify({ accuracy: 0.91, slices: Object.fromEntries(Object.entries(slices).map(([k, v]) => [k, { accuracy: v }])) });

  const cases: { name: string; gate: Record<string, unknown>; by: string; passed: boolean }[] = [
    { name: 'gap within the limit', gate: { by: 'sex', 'max-gap': 0.05 }, by: 'sex', passed: true },
    { name: 'gap beyond the limit', gate: { by: 'sex', 'max-gap': 0.02 }, by: 'sex', passed: false },
    { name: 'ratio above the floor', gate: { by: 'sex', 'min-ratio': 0.95 }, by: 'sex', passed: true },
    { name: 'ratio below the floor', gate: { by: 'sex', 'min-ratio': 0.97 }, by: 'sex', passed: false },
    { name: 'four-fifths rule holds, gap does not', gate: { by: 'age', 'min-ratio': 0.8, 'max-gap': 0.1 }, by: 'age', passed: false },
    { name: 'explicit slices', gate: { slices: ['age=young', 'age=old'], 'min-ratio': 0.8 }, by: 'age', passed: true },
  ];
  it.each(cases)('$name: passed=$passed', async ({ gate, by, passed }) => {
    const dir = tempDir({ 'eval.json': results });
    const [result] = (await gates({ results: 'eval.json', fairness: [{ metric: 'accuracy', ...gate }] }, dir)) as FairnessGateResult[];
    expect(result?.passed).toBe(passed);
    expect(result?.gap).toBeCloseTo(gap(`${by}=`), 12);
    expect(result?.ratio).toBeCloseTo(ratio(`${by}=`), 12);
    expect(Object.values(result?.groups ?? {}).sort()).toEqual(groups(`${by}=`).sort());
  });

  it('fails when a group has no number or too few groups match', async () => {
    const dir = tempDir({ 'slices.csv': `slice,accuracy\n${Object.entries(slices).map(([k, v]) => `${k},${v}`).join('\n')}\n` });
    const [missing, none] = await gates(
      {
        slices: 'slices.csv',
        fairness: [
          { metric: 'accuracy', slices: ['sex=female', 'sex=other'], 'max-gap': 0.1 },
          { metric: 'accuracy', by: 'region', 'max-gap': 0.1 },
        ],
      },
      dir,
    );
    expect(missing).toMatchObject({ passed: false, value: 'missing' });
    expect(missing?.detail).toContain('"sex=other"');
    expect(none).toMatchObject({ passed: false, value: '0 groups' });
  });
});

interface DriftReference {
  kind: 'numeric' | 'categorical';
  referenceCount: number;
  currentCount: number;
  referenceMissing?: number;
  currentMissing?: number;
  psi: number;
  ksStatistic?: number;
  ksPValue?: number;
  jsDistance?: number;
  chi2?: number;
  chi2p?: number;
  dof?: number;
}

/** |actual − expected| ≤ max(rel·|expected|, abs). */
function expectClose(actual: number | undefined, expected: number, rel: number, abs = 0): void {
  const tolerance = Math.max(rel * Math.abs(expected), abs);
  if (actual === undefined || !(Math.abs(actual - expected) <= tolerance)) {
    expect.fail(`expected ${actual} to be within ${tolerance.toExponential(2)} of ${expected}`);
  }
}

describe('drift gates against SciPy and NumPy', () => {
  let dir = '';
  let ref: Record<'small' | 'tiny' | 'large', Record<string, DriftReference>>;
  beforeAll(() => {
    dir = tempDir();
    ref = JSON.parse(execFileSync(requirePython(), [join(REPO_ROOT, 'test/fixtures/drift_reference.py'), dir], { encoding: 'utf8' })) as typeof ref;
  });
  const drift = async (pair: string, settings: Record<string, unknown> = {}): Promise<Map<string, DriftFeatureResult>> => {
    const results = (await gates({ drift: { reference: `${pair}/reference.csv`, current: `${pair}/current.csv`, ...settings } }, dir)) as DriftFeatureResult[];
    return new Map(results.map((r) => [r.feature, r]));
  };

  it('reports PSI, KS (statistic and p-value), Jensen–Shannon and chi-square as SciPy computes them', async () => {
    const results = await drift('small');
    expect([...results.keys()]).toEqual(Object.keys(ref.small));
    for (const [feature, expected] of Object.entries(ref.small)) {
      const r = results.get(feature);
      expect(r?.kind, feature).toBe(expected.kind);
      expect([r?.referenceCount, r?.currentCount], feature).toEqual([expected.referenceCount, expected.currentCount]);
      expectClose(r?.psi, expected.psi, 1e-9, 1e-12);
      if (expected.kind === 'numeric') {
        expect([r?.referenceMissing, r?.currentMissing], feature).toEqual([expected.referenceMissing, expected.currentMissing]);
        expectClose(r?.ks?.statistic, expected.ksStatistic as number, 1e-12);
        expectClose(r?.ks?.pValue, expected.ksPValue as number, 1e-6, 1e-300);
        expect(r?.pValue).toBe(r?.ks?.pValue);
      } else {
        expectClose(r?.jensenShannon?.distance, expected.jsDistance as number, 1e-9);
        expectClose(r?.chiSquare?.statistic, expected.chi2 as number, 1e-9);
        expect(r?.chiSquare?.dof).toBe(expected.dof);
        expectClose(r?.chiSquare?.pValue, expected.chi2p as number, 1e-6, 1e-300);
      }
      // Each result shows the effect size and the p-value side by side.
      expect(r?.value, feature).toMatch(/^PSI [\d.e+-]+, (KS D|JS) [\d.e+-]+ \(p [^)]+\)$/);
      // With the default threshold, a feature fails exactly when PSI reaches 0.2.
      expect(r?.passed, feature).toBe(expected.psi < 0.2);
      expect(r?.threshold).toBe('PSI < 0.2');
    }
    expect(results.get('shifted')?.passed).toBe(false);
    expect(results.get('color')?.passed).toBe(false);
    expect(results.get('stable')?.passed).toBe(true);
    expect(results.get('plan')?.detail).toContain('New in current: "enterprise"');
  });

  it('does not fail a large sample on a trivial shift that KS calls significant', async () => {
    const expected = ref.large.score as DriftReference;
    expect(expected.ksPValue).toBeLessThan(1e-4); // the premise: with 60 000 values per side KS rejects
    const r = (await drift('large')).get('score');
    expectClose(r?.ks?.pValue, expected.ksPValue as number, 1e-6);
    expectClose(r?.psi, expected.psi, 1e-9);
    expect(r?.passed).toBe(true);
    expect(r?.detail).toContain('statistically significant');
    expect(r?.detail).toContain('every effect size is below its threshold');
  });

  it('with alpha, does not fail a small sample whose PSI crossed the threshold by noise', async () => {
    const expected = ref.tiny.noise as DriftReference;
    expect(expected.psi).toBeGreaterThanOrEqual(0.2); // the premise: PSI of 40 values is noisy
    expect(expected.ksPValue).toBeGreaterThan(0.05);
    const plain = (await drift('tiny', { 'min-samples': 20 })).get('noise');
    expect(plain?.passed).toBe(false);
    const guarded = (await drift('tiny', { 'min-samples': 20, alpha: 0.05 })).get('noise');
    expect(guarded?.passed).toBe(true);
    expect(guarded?.detail).toContain('not distinguishable from sampling noise');
    const tooFew = (await drift('tiny', { 'min-samples': 50 })).get('noise');
    expect(tooFew).toMatchObject({ passed: false, value: 'too few values' });
  });

  it('fails on KS or Jensen–Shannon limits when they are set, and checks only the listed features', async () => {
    const plan = ref.small.plan as DriftReference;
    const ints = ref.small.ints as DriftReference;
    const results = await drift('small', {
      features: [
        { name: 'plan', 'js-threshold': 0.1 },
        { name: 'ints', 'ks-threshold': 0.05 },
        'stable',
      ],
    });
    expect([...results.keys()]).toEqual(['plan', 'ints', 'stable']);
    expect(plan.psi).toBeLessThan(0.2);
    expect(results.get('plan')?.passed).toBe((plan.jsDistance as number) < 0.1);
    expect(results.get('plan')?.threshold).toBe('PSI < 0.2, JS < 0.1');
    expect(results.get('ints')?.passed).toBe((ints.ksStatistic as number) < 0.05 && ints.psi < 0.2);
    expect(results.get('ints')?.passed).toBe(false);
  });

  it('fails a feature whose current column is missing or changed type; a bad reference is an input error', async () => {
    const local = tempDir({
      'ref.csv': `a,b\n${Array.from({ length: 40 }, (_, i) => `${i},${i % 3}`).join('\n')}\n`,
      'cur.csv': `a,c\n${Array.from({ length: 40 }, (_, i) => `${i % 5 === 0 ? 'oops' : i},x`).join('\n')}\n`,
      'bad-ref.csv': 'a\n1\n2\nthree\n',
    });
    const results = (await gates({ drift: { reference: 'ref.csv', current: 'cur.csv' } }, local)) as DriftFeatureResult[];
    expect(results.map((r) => [r.feature, r.passed, r.value])).toEqual([
      ['a', false, '8 non-numbers'],
      ['b', false, 'column missing'],
    ]);
    expect(results[0]?.detail).toContain('"oops" at cur.csv:2');
    const err = await inputError(() => gates({ drift: { reference: 'bad-ref.csv', current: 'cur.csv', features: [{ name: 'a', type: 'numeric' }] } }, local));
    expect(err.message).toBe('bad-ref.csv:4: column "a" is numeric, but holds "three"');
  });
});

describe('model card gate', () => {
  const huggingFace = [
    '---',
    'license: apache-2.0',
    'datasets: [imdb]',
    '---',
    '# Sentiment classifier',
    '## Intended uses & limitations',
    'Reviews in English; not for medical text.',
    '## Evaluation results',
    '| metric | value |',
    '| accuracy | 0.93 |',
  ].join('\n');
  const cases: { name: string; files: Record<string, string>; config: unknown; passed: boolean; missing: string[] }[] = [
    { name: 'a Hugging Face card with every default field', files: { 'README.md': huggingFace }, config: true, passed: true, missing: [] },
    {
      name: 'placeholders do not count',
      files: { 'MODEL_CARD.md': '---\nlicense: mit\n---\n## Intended use\n[More Information Needed]\n## Limitations\nTBD\n## Evaluation\nAccuracy 0.9 on the test split.\n' },
      config: true,
      passed: false,
      missing: ['intended_use', 'limitations'],
    },
    { name: 'configured fields and path', files: { 'docs/card.md': huggingFace }, config: { path: 'docs/card.md', required: ['license', 'training_data'] }, passed: true, missing: [] },
    { name: 'a field the card lacks', files: { 'README.md': huggingFace }, config: { required: ['license', 'carbon emissions'] }, passed: false, missing: ['carbon emissions'] },
    { name: 'presence only', files: { 'README.md': '# Model\n' }, config: { required: [] }, passed: true, missing: [] },
    { name: 'no card at all', files: {}, config: true, passed: false, missing: ['license', 'intended_use', 'limitations', 'evaluation'] },
  ];
  it.each(cases)('$name: passed=$passed', async ({ files, config, passed, missing }) => {
    const dir = tempDir({ 'model.onnx': 'not read by this gate', ...files });
    const [result] = (await gates({ 'model-card': config }, dir)) as ModelCardResult[];
    expect(result?.passed).toBe(passed);
    expect(result?.fields.filter((f) => !f.present).map((f) => f.field)).toEqual(missing);
    if (missing.length > 0) expect(result?.detail).toContain(Object.keys(files).length ? `missing or empty: ${missing.join(', ')}` : 'no model card found');
  });

  it('names file:line of broken front matter', async () => {
    const dir = tempDir({ 'README.md': '---\nlicense: [mit\n---\n# x\n' });
    const err = await inputError(() => gates({ 'model-card': true }, dir));
    expect(err.message).toMatch(/^README\.md:\d+: front matter is not valid YAML/);
  });
});

describe('configuration errors name the key path', () => {
  const cases: { name: string; raw: unknown; path: string }[] = [
    { name: 'a threshold that is not a number', raw: { results: 'r.json', metrics: ['accuracy >= 0.9', { metric: 'auc', op: '>=', threshold: 'high' }] }, path: 'validate-model.gates.metrics[1].threshold' },
    { name: 'an expression without a number', raw: { results: 'r.json', metrics: ['accuracy >= '] }, path: 'validate-model.gates.metrics[0]' },
    { name: 'an unknown operator', raw: { results: 'r.json', metrics: [{ metric: 'auc', op: '=>', threshold: 1 }] }, path: 'validate-model.gates.metrics[0].op' },
    { name: 'metrics not a list', raw: { results: 'r.json', metrics: 'accuracy >= 0.9' }, path: 'validate-model.gates.metrics' },
    { name: 'a misspelt key', raw: { metric: ['accuracy >= 0.9'] }, path: 'validate-model.gates.metric' },
    { name: 'metric gates without results', raw: { metrics: ['accuracy >= 0.9'] }, path: 'validate-model.gates.results' },
    { name: 'a baseline gate without a baseline', raw: { results: 'r.json', metrics: [{ metric: 'auc', 'max-drop': 0.01 }] }, path: 'validate-model.gates.baseline' },
    { name: 'a direction against the limit', raw: { results: 'r.json', baseline: 'b.json', metrics: [{ metric: 'auc', 'max-drop': 0.01, direction: 'lower-is-better' }] }, path: 'validate-model.gates.metrics[0].direction' },
    { name: 'a negative tolerance', raw: { results: 'r.json', baseline: 'b.json', metrics: [{ metric: 'auc', 'max-drop': -1 }] }, path: 'validate-model.gates.metrics[0].max-drop' },
    { name: 'a fairness gate without a limit', raw: { results: 'r.json', fairness: [{ metric: 'accuracy', by: 'sex' }] }, path: 'validate-model.gates.fairness[0]' },
    { name: 'a ratio above 1', raw: { results: 'r.json', fairness: [{ metric: 'accuracy', 'min-ratio': 1.2 }] }, path: 'validate-model.gates.fairness[0].min-ratio' },
    { name: 'drift without a current sample', raw: { drift: { reference: 'a.csv' } }, path: 'validate-model.gates.drift.current' },
    { name: 'one PSI bin', raw: { drift: { reference: 'a.csv', current: 'b.csv', bins: 1 } }, path: 'validate-model.gates.drift.bins' },
    { name: 'a feature limit out of range', raw: { drift: { reference: 'a.csv', current: 'b.csv', features: [{ name: 'x', 'ks-threshold': 2 }] } }, path: 'validate-model.gates.drift.features[0].ks-threshold' },
    { name: 'features and exclude together', raw: { drift: { reference: 'a.csv', current: 'b.csv', features: ['x'], exclude: ['y'] } }, path: 'validate-model.gates.drift.exclude' },
    { name: 'required fields not strings', raw: { 'model-card': { required: [3] } }, path: 'validate-model.gates.model-card.required[0]' },
    { name: 'gates not a mapping', raw: ['accuracy >= 0.9'], path: 'validate-model.gates' },
  ];
  it.each(cases)('$name → $path', async ({ raw, path }) => {
    const err = await inputError(() => parseGatesConfig(raw));
    expect(err.message.startsWith(`${path}: `), err.message).toBe(true);
    expect(err.subject).toBe(path);
  });

  // The hand-written schema for editors (packages/core) and the parser here accept the same shapes.
  const validate = new Ajv({ allErrors: true, strict: false }).compile(ferryConfigSchema());
  const shapes: { name: string; raw: unknown }[] = [
    { name: 'every gate kind', raw: { results: 'r.json', baseline: 'b.json', metrics: ['accuracy >= 0.9', { metric: 'p95', op: '<=', threshold: 50 }, { metric: 'auc', 'max-drop': 0.005 }], fairness: [{ metric: 'accuracy', by: 'sex', 'max-gap': 0.05 }], drift: { reference: 'a.csv', current: 'b.csv', features: ['x', { name: 'y', type: 'categorical', 'js-threshold': 0.1 }] }, 'model-card': { required: ['license'] } } },
    { name: 'model card as true', raw: { 'model-card': true } },
    ...cases.filter((c) => !/without results|without a baseline|without a limit|together|against the limit/.test(c.name)),
  ];
  it.each(shapes)('schema and parser agree: $name', ({ raw }) => {
    let parsed = true;
    try {
      parseGatesConfig(raw);
    } catch {
      parsed = false;
    }
    expect(validate({ version: 1, 'validate-model': { gates: raw } })).toBe(parsed);
  });
});

describe('results files that cannot be used are input errors naming file and line', () => {
  const cases: { name: string; file: string; text?: string; message: string }[] = [
    { name: 'missing file', file: 'nowhere.json', message: 'evaluation results nowhere.json cannot be read' },
    { name: 'NaN in JSON', file: 'r.json', text: '{\n  "accuracy": 0.9,\n  "auc": NaN\n}\n', message: 'r.json:3:10: not valid JSON, unexpected "N"' },
    { name: 'trailing comma in JSON', file: 'r.json', text: '{"metrics": {\n "accuracy": 0.9,\n}}\n', message: 'r.json:3:1: not valid JSON, unexpected "}"' },
    { name: 'truncated JSON', file: 'r.json', text: '{"accuracy": 0.9', message: 'r.json:1:17: not valid JSON, unexpected the end of the file' },
    { name: 'JSON that is not an object', file: 'r.json', text: '[0.9]', message: 'r.json: evaluation results must be a JSON object' },
    { name: 'CSV row of the wrong width', file: 'r.csv', text: 'metric,value\naccuracy,0.9\nauc,0.8,extra\n', message: 'r.csv:3: expected 2 fields as in the header, found 3' },
    { name: 'CSV value not a number', file: 'r.csv', text: 'metric,value\naccuracy,high\n', message: 'r.csv:2: the value of "accuracy" is "high", not a number' },
    { name: 'CSV unclosed quote', file: 'r.csv', text: 'metric,value\n"accuracy,0.9\n', message: 'r.csv:2: quoted field is never closed' },
    { name: 'CSV duplicate metric', file: 'r.csv', text: 'metric,value\naccuracy,0.9\naccuracy,0.8\n', message: 'r.csv:3: metric "accuracy" appears twice (first on line 2)' },
    { name: 'CSV with an unknown header', file: 'r.csv', text: 'name,score\naccuracy,0.9\n', message: 'r.csv:1: unrecognised header' },
  ];
  it.each(cases)('$name', async ({ file, text, message }) => {
    const dir = tempDir(text === undefined ? {} : { [file]: text });
    const err = await inputError(() => gates({ results: file, metrics: ['accuracy >= 0.9'] }, dir));
    expect(err.message).toContain(message);
    expect(err.subject).toBe(file);
  });
});
