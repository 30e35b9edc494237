// validate-model gates through the real CLI: gates from ferry.yml, a flag or a GitLab-style
// variable; exit 0, 1 and 2 as documented; the value, threshold and result in the terminal report
// and the JSON; and smoke-eval metrics equal to what torch + NumPy computed on the same CSV
// (test/fixtures/make_smoke_model.py writes the models, the CSVs and expected-metrics.json).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { requirePython } from '../support/python.js';
import { ferry, REPO_ROOT, requireBuilt } from '../support/repo.js';

interface Gate {
  name: string;
  passed: boolean;
  value: string;
  threshold: string;
  detail?: string;
  actual?: number;
}
interface JsonResult {
  verdict: string;
  exitCode: number;
  gates: Gate[];
  metrics: Record<string, number>;
  outputs: Record<string, string>;
}
interface Expected {
  rows: number;
  accuracy: number;
  f1_macro: number;
  precision?: number;
  recall?: number;
  f1?: number;
}

let models = '';
let expected: { multiclass: Expected; binary: Expected };

beforeAll(() => {
  requireBuilt();
  models = mkdtempSync(join(tmpdir(), 'ferry-smoke-models-'));
  execFileSync(requirePython(), [join(REPO_ROOT, 'test/fixtures/make_smoke_model.py'), models], { encoding: 'utf8' });
  expected = JSON.parse(readFileSync(join(models, 'expected-metrics.json'), 'utf8')) as typeof expected;
});

/** A project directory: the 3-class ONNX model and its eval.csv copied in, plus `files`. */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-gates-cli-'));
  copyFileSync(join(models, 'model.onnx'), join(dir, 'model.onnx'));
  copyFileSync(join(models, 'eval.csv'), join(dir, 'eval.csv'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

function parse(stdout: string): JsonResult {
  return JSON.parse(stdout) as JsonResult;
}

const gate = (r: JsonResult, name: string): Gate | undefined => r.gates.find((g) => g.name === name);

// Two samples of one feature with the same values in a different order: no drift by construction.
const values = Array.from({ length: 200 }, (_, i) => ((i * 37) % 101) / 10);
const sample = (order: number[]): string => `feature,kind\n${order.map((v, i) => `${v},${i % 3 === 0 ? 'a' : 'b'}`).join('\n')}\n`;

const passingFiles = {
  'eval/results.json': JSON.stringify({
    metrics: { accuracy: 0.93, auc: 0.97, latency: { p95_ms: 41 } },
    slices: { 'sex=female': { accuracy: 0.91 }, 'sex=male': { accuracy: 0.94 } },
  }),
  'eval/production.csv': 'metric,value\nauc,0.974\naccuracy,0.92\n',
  'data/reference.csv': sample(values),
  'data/current.csv': sample([...values].reverse()),
  'README.md': '---\nlicense: apache-2.0\n---\n# Classifier\n## Intended use\nTriage.\n## Limitations\nEnglish only.\n## Evaluation\nAccuracy 0.93.\n',
};

const gatesYaml = (accuracyGate: string): string => `version: 1
validate-model:
  model-path: model.onnx
  gates:
    results: eval/results.json
    baseline: eval/production.csv
    metrics:
      - ${accuracyGate}
      - latency.p95_ms <= 50
      - {metric: auc, max-drop: 0.005}
    fairness:
      - {metric: accuracy, by: sex, max-gap: 0.05}
    drift:
      reference: data/reference.csv
      current: data/current.csv
    model-card: true
`;

describe('validate-model gates from ferry.yml', () => {
  it('passes with exit 0 when every gate passes, and lists each with its numbers', async () => {
    const dir = project({ ...passingFiles, 'ferry.yml': gatesYaml('accuracy >= 0.92') });
    const r = await ferry(['validate-model', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const result = parse(r.stdout);
    expect(result.verdict).toBe('pass');
    expect(result.gates.map((g) => [g.name, g.passed])).toEqual([
      ['metric: accuracy', true],
      ['metric: latency.p95_ms', true],
      ['baseline: auc', true],
      ['fairness: accuracy by sex', true],
      ['drift: feature', true],
      ['drift: kind', true],
      ['model card', true],
    ]);
    expect(gate(result, 'baseline: auc')).toMatchObject({ value: '0.97 vs 0.974', threshold: 'drop ≤ 0.005' });
    expect(gate(result, 'drift: feature')?.value).toMatch(/^PSI 0, KS D 0 \(p 1\)$/);
    expect(result.outputs['gates-failed']).toBe('0');
  });

  it('fails with exit 1 on a threshold the results miss, showing value, threshold and result', async () => {
    const dir = project({ ...passingFiles, 'ferry.yml': gatesYaml('accuracy >= 0.95') });
    const terminal = await ferry(['validate-model'], { cwd: dir });
    expect(terminal.code).toBe(1);
    expect(terminal.stdout).toMatch(/FAIL\s+1 gate\(s\) failed; first: metric: accuracy \(0\.93 vs >= 0\.95\)/);
    expect(terminal.stdout).toMatch(/^\s+metric: accuracy\s+0\.93\s+>= 0\.95\s+FAIL$/m);
    expect(terminal.stdout).toMatch(/^\s+metric: latency\.p95_ms\s+41\s+<= 50\s+pass$/m);
    expect(terminal.stdout).toContain('FAIL metric: accuracy: accuracy = 0.93 from eval/results.json; required accuracy >= 0.95.');

    const json = await ferry(['validate-model', '--json'], { cwd: dir });
    expect(json.code).toBe(1);
    const result = parse(json.stdout);
    expect(result).toMatchObject({ verdict: 'fail', exitCode: 1 });
    expect(gate(result, 'metric: accuracy')).toMatchObject({ passed: false, value: '0.93', threshold: '>= 0.95', actual: 0.93 });
    expect(result.outputs['gates-failed']).toBe('1');
    expect(result.metrics.gates_failed).toBe(1);
  });

  it('exits 2 naming the key path of a bad setting, from ferry.yml or from the --gates flag', async () => {
    const dir = project({ ...passingFiles, 'ferry.yml': gatesYaml('accuracy >= 0.92').replace('latency.p95_ms <= 50', '{metric: latency.p95_ms, op: "<=", threshold: fifty}') });
    const fromFile = await ferry(['validate-model'], { cwd: dir });
    expect(fromFile.code).toBe(2);
    expect(fromFile.stderr).toContain('validate-model.gates.metrics[1].threshold: must be a number, got "fifty"');

    const fromFlag = await ferry(['validate-model', '--model-path', 'model.onnx', '--gates', '{"metrics": ["accuracy >= 0.9"], "fairnes": []}'], { cwd: project({}) });
    expect(fromFlag.code).toBe(2);
    expect(fromFlag.stderr).toContain('validate-model.gates.fairnes: unknown key (did you mean "fairness"?)');
  });

  it('exits 2 naming file and line of a results file that is not JSON', async () => {
    const dir = project({ 'broken.json': '{\n  "accuracy": 0.93,\n  "auc": NaN\n}\n' });
    const r = await ferry(['validate-model', '--model-path', 'model.onnx', '--gates', '{"metrics": ["accuracy >= 0.9"]}', '--eval-results', 'broken.json'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('broken.json:3:10: not valid JSON, unexpected "N"');
    expect(r.stderr).toContain('write null for a metric that could not be computed');
  });

  it('takes gates as YAML text in a GitLab-style variable, with eval-results replacing the file in it', async () => {
    const dir = project({ 'old.json': '{"accuracy": 0.5}', 'new.json': '{"accuracy": 0.96}' });
    const env = {
      FERRY_INPUT_MODEL_PATH: 'model.onnx',
      FERRY_INPUT_GATES: 'results: old.json\nmetrics:\n  - accuracy >= 0.95\n',
      FERRY_INPUT_EVAL_RESULTS: 'new.json',
    };
    const r = await ferry(['validate-model', '--from-env', '--json'], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(0);
    expect(gate(parse(r.stdout), 'metric: accuracy')).toMatchObject({ passed: true, value: '0.96' });
  });
});

describe('validate-model smoke inference', () => {
  it('compares sample outputs with golden outputs torch wrote, and fails on wrong ones', async () => {
    const args = (golden: string) => ['validate-model', '--model-path', 'model.onnx', '--smoke-samples', join(models, 'samples.json'), '--smoke-golden', join(models, golden), '--json'];
    const right = await ferry(args('golden.json'), { cwd: project({}) });
    expect(right.code, right.stderr).toBe(0);
    expect(parse(right.stdout).gates.map((g) => [g.name, g.passed])).toEqual([
      ['smoke: model loads in onnxruntime', true],
      ['smoke: sample inferences run', true],
      ['smoke: outputs match golden', true],
    ]);
    const wrong = await ferry(args('golden-wrong.json'), { cwd: project({}) });
    expect(wrong.code).toBe(1);
    const g = gate(parse(wrong.stdout), 'smoke: outputs match golden');
    expect(g?.passed).toBe(false);
    // golden-wrong.json adds 0.5 to every logit, so every value is off by 0.5 (float32 rounding aside).
    expect(Number(/max \|Δ\| (\S+)/.exec(g?.value ?? '')?.[1])).toBeCloseTo(0.5, 5);
  });
});

describe('validate-model smoke-eval', () => {
  it('computes accuracy and macro F1 of a multi-class ONNX model as NumPy does on the same CSV', async () => {
    const dir = project({});
    const r = await ferry(['validate-model', '--model-path', 'model.onnx', '--smoke-eval', 'eval.csv', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const result = parse(r.stdout);
    const want = expected.multiclass;
    expect(result.metrics.eval_rows).toBe(want.rows);
    expect(result.metrics.accuracy).toBeCloseTo(want.accuracy, 12);
    expect(result.metrics.f1_macro).toBeCloseTo(want.f1_macro, 12);
    // Binary metrics would mean nothing for three classes.
    expect(result.metrics.precision).toBeUndefined();
    expect(gate(result, 'smoke: labelled evaluation')).toMatchObject({ passed: true, value: `accuracy ${Number(want.accuracy.toPrecision(4))} on ${want.rows} rows` });
  });

  it('computes precision, recall and F1 of class 1 for a binary model with a label output', async () => {
    const dir = project({});
    const r = await ferry(['validate-model', '--model-path', join(models, 'binary/model.onnx'), '--smoke-eval', join(models, 'binary/eval.csv'), '--smoke-eval-label', 'y', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const result = parse(r.stdout);
    const want = expected.binary;
    for (const name of ['accuracy', 'f1_macro', 'precision', 'recall', 'f1'] as const) {
      expect(result.metrics[name], name).toBeCloseTo(want[name] as number, 12);
    }
    expect(result.metrics.eval_rows).toBe(want.rows);
  });

  it('lets a metric gate read the computed accuracy: passes below it, fails above it', async () => {
    const accuracy = expected.multiclass.accuracy;
    const run = (threshold: number) =>
      ferry(['validate-model', '--model-path', 'model.onnx', '--smoke-eval', 'eval.csv', '--gates', JSON.stringify({ metrics: [`accuracy >= ${threshold}`] }), '--json'], {
        cwd: project({}),
      });
    const below = await run(Number((accuracy - 0.01).toFixed(4)));
    expect(below.code, below.stderr).toBe(0);
    expect(gate(parse(below.stdout), 'metric: accuracy')).toMatchObject({ passed: true, actual: parse(below.stdout).metrics.accuracy });

    const threshold = Number((accuracy + 0.01).toFixed(4));
    const above = await run(threshold);
    expect(above.code).toBe(1);
    const result = parse(above.stdout);
    const g = gate(result, 'metric: accuracy');
    expect(g).toMatchObject({ passed: false, threshold: `>= ${threshold}` });
    expect(g?.actual).toBeCloseTo(accuracy, 12);
    expect(g?.detail).toContain('from smoke-eval eval.csv');
  });

  it('exits 2 when the label column is missing or a gate names a metric smoke-eval does not compute', async () => {
    const noLabel = await ferry(['validate-model', '--model-path', 'model.onnx', '--smoke-eval', 'eval.csv', '--smoke-eval-label', 'target'], { cwd: project({}) });
    expect(noLabel.code).toBe(2);
    expect(noLabel.stderr).toContain('eval.csv:1: no label column "target" (columns: f0, f1, f2, f3, label)');

    const unknown = await ferry(['validate-model', '--model-path', 'model.onnx', '--smoke-eval', 'eval.csv', '--gates', '{"metrics": ["auc >= 0.9"]}'], { cwd: project({}) });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('validate-model.gates.metrics[0]: "auc" is not computed by smoke-eval');
  });
});
