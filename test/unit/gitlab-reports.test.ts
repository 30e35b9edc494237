// The report files GitLab reads from a Ferry job: junit (gates and blocking findings), codequality
// (findings), OpenMetrics (numbers), the k6 summary (load performance) and the dotenv outputs,
// each checked the way GitLab's parser or MR widget reads it.
import { describe, expect, it } from 'vitest';
import type { Finding, GateResult, StepResult } from '@ferry/core';
import { codeQualityJson, dotenvName, dotenvText, junitXml, k6Summary, openMetrics } from '@ferry/platform';
import { findAll, parseXml, type XmlElement } from '../support/xml.js';

function result(over: Partial<StepResult> = {}): StepResult {
  return {
    step: 'validate-model',
    verdict: 'pass',
    headline: 'all good',
    outputs: {},
    report: [],
    findings: [],
    gates: [],
    metrics: {},
    durationMs: 1234,
    ...over,
  };
}

const gate = (name: string, passed: boolean, detail?: string): GateResult => ({ name, passed, value: '0.91', threshold: '>= 0.9', ...(detail ? { detail } : {}) });
const finding = (severity: Finding['severity'], rule = 'pickle/dangerous-global', over: Partial<Finding> = {}): Finding => ({ severity, rule, message: `${rule} in model.pkl`, file: 'model.pkl', line: 3, ...over });

interface JunitCase {
  readonly name: string;
  readonly classname: string;
  readonly failure?: string;
}

/** Reads the junit report back as GitLab's test report parser sees it. */
function readJunit(text: string): { root: XmlElement; suite: XmlElement; cases: JunitCase[] } {
  const root = parseXml(text);
  expect(root.name).toBe('testsuites');
  const suites = findAll(root, 'testsuite');
  expect(suites).toHaveLength(1);
  const cases = findAll(suites[0]!, 'testcase').map((c) => {
    const failure = findAll(c, 'failure')[0];
    return { name: c.attributes.name!, classname: c.attributes.classname!, ...(failure ? { failure: failure.attributes.message! } : {}) };
  });
  return { root, suite: suites[0]!, cases };
}

describe('junitXml', () => {
  const cases: { title: string; result: StepResult; expected: JunitCase[] }[] = [
    {
      title: 'passed gates are passing test cases',
      result: result({ gates: [gate('accuracy', true), gate('latency', true)] }),
      expected: [
        { name: 'accuracy', classname: 'ferry.validate-model' },
        { name: 'latency', classname: 'ferry.validate-model' },
      ],
    },
    {
      title: 'a failed gate fails with its value and threshold',
      result: result({ verdict: 'fail', gates: [gate('accuracy', false, 'below the floor'), gate('latency', true)] }),
      expected: [
        { name: 'accuracy', classname: 'ferry.validate-model', failure: '0.91 vs >= 0.9' },
        { name: 'latency', classname: 'ferry.validate-model' },
      ],
    },
    {
      title: 'critical and high findings fail, lower severities do not appear',
      result: result({ verdict: 'fail', findings: [finding('critical', 'a'), finding('high', 'b', { file: undefined }), finding('medium', 'c'), finding('info', 'd')] }),
      expected: [
        { name: 'a model.pkl', classname: 'ferry.validate-model.findings', failure: 'a in model.pkl' },
        { name: 'b', classname: 'ferry.validate-model.findings', failure: 'b in model.pkl' },
      ],
    },
    {
      title: 'nothing to list and a pass: one passing verdict case',
      result: result(),
      expected: [{ name: 'verdict', classname: 'ferry.validate-model' }],
    },
    {
      title: 'nothing to list and a fail: one failing verdict case with the headline',
      result: result({ verdict: 'fail', headline: 'no files' }),
      expected: [{ name: 'verdict', classname: 'ferry.validate-model', failure: 'no files' }],
    },
    {
      title: 'an inconclusive verdict with every gate passed still fails the report',
      result: result({ verdict: 'inconclusive', headline: 'too few samples', gates: [gate('latency', true)] }),
      expected: [
        { name: 'latency', classname: 'ferry.validate-model' },
        { name: 'verdict', classname: 'ferry.validate-model', failure: 'too few samples' },
      ],
    },
    {
      title: 'a failed verdict from non-blocking findings fails the report',
      result: result({ verdict: 'fail', headline: '3 medium findings', findings: [finding('medium')] }),
      expected: [{ name: 'verdict', classname: 'ferry.validate-model', failure: '3 medium findings' }],
    },
  ];

  it.each(cases)('$title', ({ result: r, expected }) => {
    const { root, suite, cases: got } = readJunit(junitXml(r));
    expect(got).toEqual(expected);
    const failures = String(expected.filter((c) => c.failure !== undefined).length);
    for (const el of [root, suite]) {
      expect(el.attributes.tests).toBe(String(expected.length));
      expect(el.attributes.failures).toBe(failures);
    }
    expect(suite.attributes.name).toBe(r.step);
    expect(suite.attributes.time).toBe('1.234');
  });

  it.each([
    ['markup characters', 'a<b>&"c"\'d', 'a<b>&"c"\'d'],
    ['an entity lookalike', '&amp; &lt;', '&amp; &lt;'],
    ['C0 control characters, which XML cannot hold', 'x\u0000\u0001\u0008\u000b\u000c\u001fy', 'xy'],
    ['non-ASCII text', 'größe ≥ 0.9 ✓ 模型', 'größe ≥ 0.9 ✓ 模型'],
  ])('escapes %s in names, messages and details', (_title, raw, readBack) => {
    const r = result({ verdict: 'fail', gates: [{ name: raw, passed: false, value: raw, threshold: raw, detail: raw }], findings: [finding('critical', raw, { message: raw, file: raw })] });
    const text = junitXml(r);
    const { cases } = readJunit(text);
    expect(cases.map((c) => c.name)).toEqual([readBack, `${readBack} ${readBack}`]);
    expect(cases.map((c) => c.failure)).toEqual([`${readBack} vs ${readBack}`, readBack]);
    const detail = findAll(parseXml(text), 'failure')[0]!.text;
    expect(detail).toBe(readBack);
  });
});

describe('codeQualityJson', () => {
  type Issue = { description: string; check_name: string; fingerprint: string; severity: string; location: { path: string; lines: { begin: number } } };
  const issues = (r: StepResult): Issue[] => JSON.parse(codeQualityJson(r)) as Issue[];

  it.each([
    ['critical', 'blocker'],
    ['high', 'critical'],
    ['medium', 'major'],
    ['low', 'minor'],
    ['info', 'info'],
  ] as const)('a %s finding is a %s issue', (severity, expected) => {
    const [issue] = issues(result({ findings: [finding(severity)] }));
    expect(issue).toEqual({
      description: 'pickle/dangerous-global in model.pkl',
      check_name: 'pickle/dangerous-global',
      fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown as string,
      severity: expected,
      location: { path: 'model.pkl', lines: { begin: 3 } },
    });
  });

  it('is an empty array when nothing was found', () => {
    expect(codeQualityJson(result())).toBe('[]\n');
  });

  it('points a finding without a file or line at the project root, line 1', () => {
    const [issue] = issues(result({ findings: [{ severity: 'high', rule: 'r', message: 'm' }] }));
    expect(issue!.location).toEqual({ path: '.', lines: { begin: 1 } });
  });

  it('keeps fingerprints stable across runs, so GitLab shows no issue as new or fixed', () => {
    const findings = [finding('critical'), finding('low', 'format/unrecognized', { file: 'a.bin', line: undefined })];
    const first = issues(result({ findings, durationMs: 10, verdict: 'fail', headline: 'one' })).map((i) => i.fingerprint);
    const again = issues(result({ findings: [...findings].map((f) => ({ ...f })), durationMs: 99_999, verdict: 'pass', headline: 'two' })).map((i) => i.fingerprint);
    expect(again).toEqual(first);
  });

  it.each([
    ['rule', { rule: 'other/rule' }],
    ['file', { file: 'other.pkl' }],
    ['line', { line: 4 }],
    ['message', { message: 'something else' }],
    ['severity only (same issue, new severity)', { severity: 'low' as const }],
  ])('gives a different fingerprint when the %s differs', (what, change) => {
    const base = finding('critical');
    const [a, b] = issues(result({ findings: [base, { ...base, ...change }] })).map((i) => i.fingerprint);
    if (what.startsWith('severity')) expect(b).toBe(a);
    else expect(b).not.toBe(a);
  });

  it('fingerprints the same finding in two steps differently', () => {
    const f = [finding('high')];
    expect(issues(result({ findings: f }))[0]!.fingerprint).not.toBe(issues(result({ step: 'build-serving-image', findings: f }))[0]!.fingerprint);
  });
});

describe('openMetrics', () => {
  /** Reads OpenMetrics text the way a strict parser does: families declared once, samples after their TYPE, `# EOF` last. */
  function readMetrics(text: string): Map<string, number> {
    expect(text.endsWith('# EOF\n')).toBe(true);
    const lines = text.slice(0, -'# EOF\n'.length).split('\n').filter((l) => l !== '');
    const types = new Set<string>();
    const samples = new Map<string, number>();
    for (const line of lines) {
      const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) gauge$/.exec(line);
      if (type) {
        expect(types.has(type[1]!), `family ${type[1]} declared twice`).toBe(false);
        types.add(type[1]!);
        continue;
      }
      const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)$/.exec(line);
      expect(sample, `not a sample line: ${line}`).not.toBeNull();
      expect(types.has(sample![1]!), `${sample![1]} has no TYPE line before it`).toBe(true);
      const value = Number(sample![2]);
      expect(Number.isFinite(value), `${line}: value`).toBe(true);
      samples.set(sample![1]!, value);
    }
    return samples;
  }

  it.each([
    {
      title: 'a pass with numbers',
      r: result({ metrics: { model_bytes: 622, model_files: 2 } }),
      expected: { ferry_validate_model_model_bytes: 622, ferry_validate_model_model_files: 2, ferry_validate_model_passed: 1 },
    },
    {
      title: 'a fail',
      r: result({ verdict: 'fail', metrics: { findings_blocking: 1 } }),
      expected: { ferry_validate_model_findings_blocking: 1, ferry_validate_model_passed: 0 },
    },
    {
      title: 'inconclusive counts as not passed',
      r: result({ step: 'canary-deploy', verdict: 'inconclusive' }),
      expected: { ferry_canary_deploy_passed: 0 },
    },
    {
      title: 'names made valid, step dashes and all',
      r: result({ step: 'benchmark-on-gpu-runner', metrics: { 'p95-ms': 12.5, 'gpu.util%': 0.75, error_rate: 0 } }),
      expected: { ferry_benchmark_on_gpu_runner_p95_ms: 12.5, ferry_benchmark_on_gpu_runner_gpu_util_: 0.75, ferry_benchmark_on_gpu_runner_error_rate: 0, ferry_benchmark_on_gpu_runner_passed: 1 },
    },
    {
      title: 'values that are not finite numbers left out',
      r: result({ metrics: { a: Number.NaN, b: Number.POSITIVE_INFINITY, c: -1.5e-7, d: 1e21 } }),
      expected: { ferry_validate_model_c: -1.5e-7, ferry_validate_model_d: 1e21, ferry_validate_model_passed: 1 },
    },
  ])('$title', ({ r, expected }) => {
    expect(Object.fromEntries(readMetrics(openMetrics(r)))).toEqual(expected);
  });
});

describe('k6Summary', () => {
  const base = { p50Ms: 10, p90Ms: 18, p95Ms: 21, maxMs: 40, avgMs: 11, minMs: 2, rps: 250.5, requests: 1000, failures: 0 };
  type Summary = { metrics: Record<string, Record<string, number>>; root_group: Record<string, unknown> };

  it.each([
    { title: 'all requests passed', m: base, checks: { passes: 1000, fails: 0, value: 1 } },
    { title: 'some failed', m: { ...base, failures: 50 }, checks: { passes: 950, fails: 50, value: 0.95 } },
    { title: 'no requests at all', m: { ...base, requests: 0, rps: 0 }, checks: { passes: 0, fails: 0, value: 0 } },
  ])('has the fields GitLab\'s load-performance widget compares: $title', ({ m, checks }) => {
    const s = JSON.parse(k6Summary(m)) as Summary;
    // The widget shows checks success, TTFB p90/p95 (http_req_waiting) and RPS (http_reqs.rate).
    expect(s.metrics.http_req_waiting).toEqual({ avg: 11, min: 2, med: 10, max: 40, 'p(90)': 18, 'p(95)': 21 });
    expect(s.metrics.http_req_duration).toEqual(s.metrics.http_req_waiting);
    expect(s.metrics.http_reqs).toEqual({ count: m.requests, rate: m.rps });
    expect(s.metrics.checks).toEqual(checks);
    expect(s.root_group).toMatchObject({ name: '', path: '', groups: {}, checks: {} });
  });
});

describe('dotenv', () => {
  it.each([
    ['validate-model', 'model-digest', 'FERRY_VALIDATE_MODEL_MODEL_DIGEST'],
    ['validate-model', 'verdict', 'FERRY_VALIDATE_MODEL_VERDICT'],
    ['benchmark-on-gpu-runner', 'p95-ms', 'FERRY_BENCHMARK_ON_GPU_RUNNER_P95_MS'],
    ['canary-deploy', 'final-weights', 'FERRY_CANARY_DEPLOY_FINAL_WEIGHTS'],
    ['build-serving-image', 'uploaded-bytes', 'FERRY_BUILD_SERVING_IMAGE_UPLOADED_BYTES'],
    ['promote', 'stable-version', 'FERRY_PROMOTE_STABLE_VERSION'],
  ] as const)('%s output %s is the variable %s', (step, output, expected) => {
    expect(dotenvName(step, output)).toBe(expected);
  });

  /** GitLab's dotenv rules: KEY=VALUE lines of letters, digits and underscores, no empty lines, under 5 KiB. */
  function readDotenv(text: string): Record<string, string> {
    expect(Buffer.byteLength(text)).toBeLessThan(5120);
    expect(text.endsWith('\n')).toBe(true);
    const vars: Record<string, string> = {};
    for (const line of text.slice(0, -1).split('\n')) {
      const m = /^([A-Za-z0-9_]+)=(.*)$/.exec(line);
      expect(m, `not a KEY=VALUE line: ${JSON.stringify(line)}`).not.toBeNull();
      expect(m![1]! in vars, `${m![1]} twice`).toBe(false);
      vars[m![1]!] = m![2]!;
    }
    return vars;
  }

  it.each<{ title: string; outputs: Record<string, string>; expected: Record<string, string> }>([
    { title: 'plain values', outputs: { verdict: 'pass', 'model-digest': 'sha256:abc' }, expected: { FERRY_VALIDATE_MODEL_VERDICT: 'pass', FERRY_VALIDATE_MODEL_MODEL_DIGEST: 'sha256:abc' } },
    { title: 'JSON kept intact', outputs: { 'file-digests': '{"a b.bin":"sha256:1","c=d":"x"}' }, expected: { FERRY_VALIDATE_MODEL_FILE_DIGESTS: '{"a b.bin":"sha256:1","c=d":"x"}' } },
    { title: 'newlines of every kind become spaces', outputs: { tags: 'v1\nv2\r\nv3\rv4' }, expected: { FERRY_VALIDATE_MODEL_TAGS: 'v1 v2 v3 v4' } },
    { title: 'an empty value stays empty', outputs: { 'report-path': '' }, expected: { FERRY_VALIDATE_MODEL_REPORT_PATH: '' } },
  ])('writes one line per output: $title', ({ outputs, expected }) => {
    expect(readDotenv(dotenvText('validate-model', outputs))).toEqual(expected);
  });

  it('leaves out the longest values, never the verdict, to stay under GitLab\'s 5 KiB limit', () => {
    // A sharded model: 80 files' digests are about 8 KiB of JSON.
    const digests = JSON.stringify(Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`model-${String(i).padStart(5, '0')}-of-00080.safetensors`, `sha256:${'ab'.repeat(32)}`])));
    const omitted: [string, number][] = [];
    const text = dotenvText('validate-model', { verdict: 'pass', 'model-digest': `sha256:${'cd'.repeat(32)}`, 'file-digests': digests, 'total-bytes': '123' }, (o, bytes) => omitted.push([o, bytes]));
    expect(readDotenv(text)).toEqual({ FERRY_VALIDATE_MODEL_VERDICT: 'pass', FERRY_VALIDATE_MODEL_MODEL_DIGEST: `sha256:${'cd'.repeat(32)}`, FERRY_VALIDATE_MODEL_TOTAL_BYTES: '123' });
    expect(omitted).toEqual([['file-digests', Buffer.byteLength(`FERRY_VALIDATE_MODEL_FILE_DIGESTS=${digests}`)]]);
  });

  it('keeps everything that fits', () => {
    const omitted: string[] = [];
    const value = 'x'.repeat(4000);
    expect(readDotenv(dotenvText('validate-model', { verdict: 'pass', big: value }, (o) => omitted.push(o))).FERRY_VALIDATE_MODEL_BIG).toBe(value);
    expect(omitted).toEqual([]);
  });
});
