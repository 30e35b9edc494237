// The canary judge (@ferry/rollout): table-driven decisions on seeded synthetic windows (lognormal
// latencies in histograms, binomial errors, paired outputs), and the statistics under them against
// SciPy (test/fixtures/judge_reference.py): the alpha-spending function, the planning formulas
// (each size confirmed by the power it reaches), and the tests the judge runs on raw samples and
// counts.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '@ferry/core';
import { LatencyHistogram, SeededRandom } from '@ferry/bench';
import { wilsonInterval } from '@ferry/stats';
import {
  agreementPValue,
  exceedanceTest,
  judgeCanary,
  lognormalSuperiority,
  lookFraction,
  morePerVersion,
  effectiveSize,
  noetherSampleSize,
  nominalAlpha,
  obrienFlemingSpending,
  oneProportionSampleSize,
  previousLookFraction,
  twoProportionSampleSize,
  type CheckRow,
  type Decision,
  type JudgeConfig,
  type JudgeLook,
  type JudgeWindow,
  type Judgement,
  type MetricConfig,
  type PairedOutput,
} from '@ferry/rollout';
import { requirePython } from '../support/python.js';
import { REPO_ROOT } from '../support/repo.js';

interface Reference {
  versions: { scipy: string; numpy: string };
  spending: { alpha: number; t: number; spent: number }[];
  superiority: { r: number; sigma: number; p: number }[];
  noether: { p: number; alpha: number; power: number; sided: 1 | 2; n: number; reached: number }[];
  twoProportion: { p0: number; p1: number; alpha: number; power: number; sided: 1 | 2; n: number; reached: number }[];
  oneProportion: { p0: number; p1: number; alpha: number; power: number; n: number; reached: number }[];
  latency: { name: string; stable: number[]; canary: number[]; u: number; pvalue: number; hl: number; p95: number; aboveStable: number; aboveCanary: number }[];
  errors: { stable: [number, number]; canary: [number, number]; fisherGreater: number; zGreater: number; z: number }[];
  agreement: { agree: number; n: number; a0: number; pvalue: number; confidence: number; lower: number; upper: number }[];
  exceedance: { canaryAbove: number; canaryN: number; stableAbove: number; stableN: number; pvalue: number; mean: number; sd: number }[];
}

const ref = JSON.parse(execFileSync(requirePython(), [join(REPO_ROOT, 'test/fixtures/judge_reference.py')], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })) as Reference;

function expectClose(actual: number, expected: number, rel: number, abs = 0): void {
  const tolerance = Math.max(rel * Math.abs(expected), abs);
  if (!(Math.abs(actual - expected) <= tolerance)) {
    expect.fail(`expected ${actual} to be within ${tolerance.toExponential(2)} of ${expected}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Seeded synthetic windows

interface Side {
  readonly n: number;
  /** Median latency in ms and log-scale spread. */
  readonly medianMs?: number;
  readonly sigma?: number;
  readonly errorRate?: number;
}

function latencies(rng: SeededRandom, n: number, medianMs: number, sigma: number): LatencyHistogram {
  const h = new LatencyHistogram();
  for (let i = 0; i < n; i++) h.record(medianMs * Math.exp(sigma * rng.normal()));
  return h;
}

function binomial(rng: SeededRandom, n: number, p: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (rng.uniform() < p) k++;
  return k;
}

function makeWindow(seed: number, stable: Side, canary: Side): JudgeWindow {
  const rng = new SeededRandom(seed);
  const side = (s: Side): JudgeWindow['stable'] => ({
    latency: { latency: latencies(rng, s.n, s.medianMs ?? 20, s.sigma ?? 0.5) },
    counts: { errors: { requests: s.n, errors: binomial(rng, s.n, s.errorRate ?? 0.001) } },
  });
  return { stable: side(stable), canary: side(canary) };
}

const LATENCY_AND_ERRORS: readonly MetricConfig[] = [
  { kind: 'latency', name: 'latency' },
  { kind: 'error-rate', name: 'errors' },
];

function rowOf(j: Judgement, title: string): CheckRow {
  const r = j.rows.find((x) => x.title === title);
  if (!r) throw new Error(`no row "${title}" in ${j.rows.map((x) => x.title).join(', ')}`);
  return r;
}

/** Every number in a judgement is finite: JSON keeps it as it is. */
function expectJsonSafe(value: unknown, path = 'judgement'): void {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) expect.fail(`${path} is ${value}`);
  } else if (Array.isArray(value)) value.forEach((v, i) => expectJsonSafe(v, `${path}[${i}]`));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) expectJsonSafe(v, `${path}.${k}`);
}

// ---------------------------------------------------------------------------------------------

interface DecisionCase {
  readonly name: string;
  readonly metrics?: readonly MetricConfig[];
  readonly config?: Partial<JudgeConfig>;
  readonly look?: JudgeLook;
  readonly window: () => JudgeWindow;
  readonly decision: Decision;
  /** Title of a row that must carry this outcome. */
  readonly rows?: Readonly<Record<string, CheckRow['outcome']>>;
  readonly headline?: RegExp;
  readonly final?: boolean;
}

const STEADY: Side = { n: 2000 };
const DROP_CANARY_LATENCY = (w: JudgeWindow): JudgeWindow => ({ ...w, canary: { ...w.canary, latency: {} } });

function labels(n: number, agree: number): { stable: PairedOutput[]; canary: PairedOutput[] } {
  const stable: PairedOutput[] = [];
  const canary: PairedOutput[] = [];
  for (let i = 0; i < n; i++) {
    const c = ['cat', 'dog', 'bird'][i % 3]!;
    stable.push(c);
    canary.push(i < agree ? c : 'fox');
  }
  return { stable, canary };
}

function scoreVectors(seed: number, n: number, flip: number): { stable: PairedOutput[]; canary: PairedOutput[] } {
  const rng = new SeededRandom(seed);
  const stable: PairedOutput[] = [];
  const canary: PairedOutput[] = [];
  for (let i = 0; i < n; i++) {
    const logits = [rng.normal() * 2, rng.normal() * 2, rng.normal() * 2];
    const soft = (l: number[]): number[] => {
      const e = l.map((x) => Math.exp(x));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((x) => x / s);
    };
    stable.push(soft(logits));
    // A flipped canary ranks the stable's last class first.
    const noisy = logits.map((x) => x + 0.01 * rng.normal());
    if (rng.uniform() < flip) {
      const top = noisy.indexOf(Math.max(...noisy));
      const low = noisy.indexOf(Math.min(...noisy));
      [noisy[top], noisy[low]] = [noisy[low]!, noisy[top]!];
    }
    canary.push(soft(noisy));
  }
  return { stable, canary };
}

const DECISIONS: readonly DecisionCase[] = [
  {
    name: 'identical versions continue',
    window: () => makeWindow(1, STEADY, STEADY),
    decision: 'continue',
    rows: { 'latency shift': 'pass', 'latency p95 tail': 'pass', 'error rate': 'pass' },
    headline: /^continue after look 2\/4: all 3 checks pass/,
  },
  {
    name: 'a canary 30% slower aborts on the shift and the tail',
    window: () => makeWindow(2, STEADY, { n: 2000, medianMs: 26 }),
    decision: 'abort',
    rows: { 'latency shift': 'fail', 'latency p95 tail': 'fail', 'error rate': 'pass' },
    headline: /^abort at look 2\/4: latency shift: canary significantly slower: shift \+\d/,
  },
  {
    name: '2% errors against 0.1% aborts',
    window: () => makeWindow(3, STEADY, { n: 2000, errorRate: 0.02 }),
    decision: 'abort',
    rows: { 'error rate': 'fail', 'latency shift': 'pass' },
    headline: /^abort at look 2\/4: error rate: canary error rate significantly higher: error rate 0\.\d+% → [12]\.\d+%/,
  },
  {
    name: 'a heavier tail with the same median aborts on the tail alone',
    // p95 +25%, p50 unchanged: Mann–Whitney cannot see it.
    window: () => makeWindow(4, { n: 3000 }, { n: 3000, sigma: 0.5 + Math.log(1.25) / 1.645 }),
    decision: 'abort',
    rows: { 'latency shift': 'pass', 'latency p95 tail': 'fail' },
  },
  {
    name: 'tiny samples extend with the requests still needed',
    window: () => makeWindow(5, { n: 40 }, { n: 40 }),
    decision: 'extend',
    rows: { 'latency shift': 'need-data', 'error rate': 'need-data' },
    headline: /^extend look 2\/4: need [\d,]+ more requests per version for error rate \([\d,]+ of [\d,]+ at this look/,
  },
  {
    name: 'tiny samples out of extensions are inconclusive',
    look: { index: 2, count: 4, extension: 2 },
    window: () => makeWindow(5, { n: 40 }, { n: 40 }),
    decision: 'inconclusive',
    headline: /^inconclusive at look 2\/4, extension 2\/2: out of extensions \(2\) with error rate below its minimum sample/,
  },
  {
    name: 'tiny samples with a gross regression still abort',
    window: () => makeWindow(6, { n: 60, errorRate: 0 }, { n: 60, errorRate: 0.6 }),
    decision: 'abort',
    rows: { 'error rate': 'fail' },
  },
  {
    name: 'missing canary latency, policy fail: abort',
    metrics: [{ kind: 'latency', name: 'latency', missing: 'fail' }, { kind: 'error-rate', name: 'errors' }],
    window: () => DROP_CANARY_LATENCY(makeWindow(7, STEADY, STEADY)),
    decision: 'abort',
    rows: { 'latency shift': 'missing', 'latency p95 tail': 'missing', 'error rate': 'pass' },
    headline: /^abort at look 2\/4: latency shift: no latency "latency" from canary in this window \(missing: fail\)$/,
  },
  {
    name: 'missing canary latency, policy extend: extend',
    window: () => DROP_CANARY_LATENCY(makeWindow(7, STEADY, STEADY)),
    decision: 'extend',
    headline: /^extend look 2\/4: no data yet for latency shift, latency p95 tail; no check failed$/,
  },
  {
    name: 'missing canary latency, policy extend, out of extensions: inconclusive',
    look: { index: 2, count: 4, extension: 2 },
    window: () => DROP_CANARY_LATENCY(makeWindow(7, STEADY, STEADY)),
    decision: 'inconclusive',
  },
  {
    name: 'missing canary latency, policy inconclusive: inconclusive at once',
    metrics: [{ kind: 'latency', name: 'latency', missing: 'inconclusive' }, { kind: 'error-rate', name: 'errors' }],
    window: () => DROP_CANARY_LATENCY(makeWindow(7, STEADY, STEADY)),
    decision: 'inconclusive',
    headline: /^inconclusive at look 2\/4: no latency "latency" from canary in this window \(missing: inconclusive\)$/,
  },
  {
    name: 'an SLO breach aborts even when stable breaches too',
    metrics: [...LATENCY_AND_ERRORS, { kind: 'slo', name: 'p95-slo', source: 'latency', objective: { percentile: 95, maxMs: 40 } }],
    window: () => makeWindow(8, STEADY, STEADY),
    decision: 'abort',
    rows: { 'p95-slo: p95 ≤ 40.0 ms': 'fail', 'latency shift': 'pass' },
    headline: /SLO breached: canary p95 4\d\.\d ms .*over the limit too/,
  },
  {
    name: 'an error-rate SLO within the limit passes',
    metrics: [...LATENCY_AND_ERRORS, { kind: 'slo', name: 'err-slo', source: 'errors', objective: { maxErrorRate: 0.01 } }],
    window: () => makeWindow(9, STEADY, STEADY),
    decision: 'continue',
    rows: { 'err-slo: error rate ≤ 1.00%': 'pass' },
  },
  {
    name: 'paired labels agreeing 90% against 99% abort',
    metrics: [...LATENCY_AND_ERRORS, { kind: 'quality', name: 'quality' }],
    window: () => ({ ...makeWindow(10, STEADY, STEADY), paired: { quality: labels(2000, 1800) } }),
    decision: 'abort',
    rows: { 'quality agreement': 'fail' },
    headline: /quality agreement: canary disagrees with stable: agreement 90\.00% \(1,800 of 2,000 paired requests\)/,
  },
  {
    name: 'paired score vectors that agree continue, with PSI and score deltas',
    metrics: [...LATENCY_AND_ERRORS, { kind: 'quality', name: 'quality', minAgreement: 0.98 }],
    window: () => ({ ...makeWindow(11, STEADY, STEADY), paired: { quality: scoreVectors(11, 2000, 0) } }),
    decision: 'continue',
    rows: { 'quality agreement': 'pass', 'quality PSI (top scores)': 'pass', 'quality score delta': 'info' },
  },
  {
    name: 'paired score vectors with 8% flipped top classes abort',
    metrics: [...LATENCY_AND_ERRORS, { kind: 'quality', name: 'quality', minAgreement: 0.98 }],
    window: () => ({ ...makeWindow(12, STEADY, STEADY), paired: { quality: scoreVectors(12, 2000, 0.08) } }),
    decision: 'abort',
    rows: { 'quality agreement': 'fail' },
  },
  {
    name: 'the final look promotes identical versions',
    look: { index: 4, count: 4 },
    window: () => makeWindow(13, { n: 3000 }, { n: 3000 }),
    decision: 'continue',
    final: true,
    headline: /^promote after look 4\/4: all 3 checks pass at α = 0\.002\d per test/,
  },
  {
    name: 'the final look out of extensions reports inconclusive for the caller',
    look: { index: 4, count: 4, extension: 2 },
    window: () => makeWindow(14, { n: 100 }, { n: 100 }),
    decision: 'inconclusive',
    final: true,
    headline: /the caller decides abort or hold$/,
  },
  {
    name: 'a significant error-rate rise inside the floor passes on 200k requests',
    window: () => {
      const w = makeWindow(15, { n: 200 }, { n: 200 });
      return { ...w, stable: { ...w.stable, counts: { errors: { requests: 200_000, errors: 200 } } }, canary: { ...w.canary, counts: { errors: { requests: 200_000, errors: 330 } } } };
    },
    metrics: [{ kind: 'error-rate', name: 'errors' }],
    decision: 'continue',
    rows: { 'error rate': 'pass' },
    headline: /^continue after look 2\/4: the 1 check passes at α = /,
  },
];

describe('judgeCanary decisions on seeded synthetic windows', () => {
  it.each(DECISIONS)('$name', (c) => {
    const j = judgeCanary({ ...c.config, metrics: c.metrics ?? LATENCY_AND_ERRORS }, c.look ?? { index: 2, count: 4 }, c.window());
    const table = j.rows.map((r) => `${r.title}: ${r.outcome} (${r.verdict}) ${r.reason}`).join('\n');
    expect(j.decision, `${j.headline}\n${table}`).toBe(c.decision);
    for (const [title, outcome] of Object.entries(c.rows ?? {})) expect(rowOf(j, title).outcome, `${title}: ${rowOf(j, title).reason}`).toBe(outcome);
    if (c.headline) expect(j.headline).toMatch(c.headline);
    if (c.final !== undefined) expect(j.final).toBe(c.final);
    expect(j.headline).not.toContain('\n');
    expectJsonSafe(j);
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
  });

  it('explains a failing latency row with its numbers', () => {
    const j = judgeCanary({ metrics: LATENCY_AND_ERRORS }, { index: 2, count: 4 }, makeWindow(2, STEADY, { n: 2000, medianMs: 26 }));
    const r = rowOf(j, 'latency shift');
    expect(r.test).toMatchObject({ name: 'mann-whitney', alternative: 'greater', significant: true, alpha: j.spending.nominal });
    expect(r.test!.pValue).toBeLessThan(1e-20);
    expect(r.effect!).toBeGreaterThan(4.5);
    expect(r.effect!).toBeLessThan(7.5);
    expect(r.interval!.lower!).toBeGreaterThan(r.floor!.threshold);
    expect(r.interval!.confidence).toBeCloseTo(1 - 2 * j.spending.nominal, 12);
    expect(r.floor).toMatchObject({ beyond: true, rule: expect.stringMatching(/^max\(10% of stable p50 \d+\.\d+ ms, 0\.5 ms\)$/) });
    expect(r.reason).toMatch(/Mann–Whitney p = \d\.\de-\d+ < α = \d\.\de-5/);
    expect(r.samples.need).toBe(0);
  });

  it('holds a shift against the floor by its estimate: significant, interval past the floor, shift inside it, pass', () => {
    // +7.5% on the median (20 → 21.5 ms) on 5,000 requests a version, against the default 10% floor.
    const rng = new SeededRandom(3);
    const stable = latencies(rng, 5000, 20, 0.5);
    const canary = latencies(rng, 5000, 21.5, 0.5);
    const j = judgeCanary({ metrics: [{ kind: 'latency', name: 'latency', tails: [] }] }, { index: 2, count: 4 }, { stable: { latency: { latency: stable } }, canary: { latency: { latency: canary } } });
    const r = rowOf(j, 'latency shift');
    expect(r.test!.significant, r.reason).toBe(true);
    expect(r.interval!.upper!).toBeGreaterThan(r.floor!.threshold);
    expect(r.effect!).toBeGreaterThan(0);
    expect(r.effect!).toBeLessThan(r.floor!.threshold);
    expect(r.floor!.beyond).toBe(false);
    expect(r.outcome).toBe('pass');
    expect(r.reason).toMatch(/^significantly slower but within the floor: shift \+1\.\d+ ms/);
  });

  it('holds an error-rate rise against the floor by its estimate at an early look', () => {
    // 0.10% → 0.45% on 20,000 requests: significant at look 1/4, interval reaching past the 0.5-point floor.
    const w: JudgeWindow = { stable: { counts: { errors: { requests: 20_000, errors: 20 } } }, canary: { counts: { errors: { requests: 20_000, errors: 90 } } } };
    const r = rowOf(judgeCanary({ metrics: [{ kind: 'error-rate', name: 'errors' }] }, { index: 1, count: 4 }, w), 'error rate');
    expect(r.test!.significant, r.reason).toBe(true);
    expect(r.interval!.upper!).toBeGreaterThan(r.floor!.threshold);
    expect(r.effect!).toBeCloseTo(0.0035, 6);
    expect(r.outcome).toBe('pass');
    // Past the floor, the same test fails: 0.10% → 0.80%.
    const worse: JudgeWindow = { ...w, canary: { counts: { errors: { requests: 20_000, errors: 160 } } } };
    const f = rowOf(judgeCanary({ metrics: [{ kind: 'error-rate', name: 'errors' }] }, { index: 1, count: 4 }, worse), 'error rate');
    expect(f.outcome).toBe('fail');
    expect(f.reason).toMatch(/; the difference is beyond the floor /);
  });

  it('holds a tail rise against the floor by its estimate: significant, interval past the floor, rise inside it, pass', () => {
    // p95 +25% on 3,000 requests a version is significant; its interval reaches past a 40% floor
    // (a p95's interval is wide), while the estimated rise stays inside it.
    const j = judgeCanary({ metrics: [{ kind: 'latency', name: 'latency', floor: { relative: 0.4 } }] }, { index: 2, count: 4 }, makeWindow(4, { n: 3000 }, { n: 3000, sigma: 0.5 + Math.log(1.25) / 1.645 }));
    const r = rowOf(j, 'latency p95 tail');
    expect(r.test!.significant, r.reason).toBe(true);
    expect(r.interval!.upper!).toBeGreaterThan(r.floor!.threshold);
    expect(r.effect!).toBeLessThan(r.floor!.threshold);
    expect(r.floor!.beyond).toBe(false);
    expect(r.outcome).toBe('pass');
    expect(r.reason).toMatch(/^tail significantly heavier but within the floor: p95 /);
  });

  it('says how many more requests per version it needs, and that many is enough', () => {
    const small = judgeCanary({ metrics: [{ kind: 'latency', name: 'latency', tails: [] }] }, { index: 1, count: 2 }, makeWindow(16, { n: 30 }, { n: 30 }));
    expect(small.decision).toBe('extend');
    const need = small.need!;
    expect(need.perVersion).toBe(rowOf(small, 'latency shift').samples.need);
    expect(small.headline).toContain(`need ${need.perVersion} more requests per version for latency shift`);
    const n = 30 + need.perVersion;
    const enough = judgeCanary({ metrics: [{ kind: 'latency', name: 'latency', tails: [] }] }, { index: 1, count: 2, extension: 1 }, makeWindow(16, { n }, { n }));
    // The plan is re-estimated from the new stable sample: it may move a little either way.
    expect(rowOf(enough, 'latency shift').samples.need).toBeLessThanOrEqual(Math.ceil(0.25 * need.perVersion));
  });

  it('counts errors from status codes when the counts carry codes only', () => {
    const w = makeWindow(17, STEADY, STEADY);
    const window: JudgeWindow = {
      stable: { ...w.stable, counts: { errors: { statusCodes: { '200': 1990, '404': 8, '503': 2 } } } },
      canary: { ...w.canary, counts: { errors: { statusCodes: { '200': 1940, '404': 9, '500': 11, '503': 40 } } } },
    };
    const j = judgeCanary({ metrics: LATENCY_AND_ERRORS }, { index: 3, count: 4 }, window);
    const r = rowOf(j, 'error rate');
    expect(r.detail.counts).toEqual({ stable: { errors: 2, requests: 2000 }, canary: { errors: 51, requests: 2000 } });
    expect(r.outcome).toBe('fail');
    expect(r.detail.statusCodes![0]).toMatchObject({ code: '503', stable: 2, canary: 40 });
    expect(r.reason).toContain('largest status-code rise: 503 0.10% → 2.00%');
  });

  it('judges a serialized histogram exactly as the live one, and raw samples nearly so', () => {
    const w = makeWindow(18, STEADY, { n: 2000, medianMs: 21 });
    const live = judgeCanary({ metrics: LATENCY_AND_ERRORS }, { index: 2, count: 4 }, w);
    const ser = (h: unknown): unknown => (h as LatencyHistogram).toJSON();
    const serialized = judgeCanary({ metrics: LATENCY_AND_ERRORS }, { index: 2, count: 4 }, {
      stable: { ...w.stable, latency: { latency: ser(w.stable.latency!.latency) as never } },
      canary: { ...w.canary, latency: { latency: ser(w.canary.latency!.latency) as never } },
    });
    expect(serialized).toEqual(live);
  });

  it('tests both ways for direction either, and reads raw samples beside a histogram', () => {
    const w = makeWindow(21, STEADY, { n: 2000, medianMs: 14 });
    const either = judgeCanary({ metrics: [{ kind: 'latency', name: 'latency', direction: 'either', tails: [] }] }, { index: 2, count: 4 }, w);
    expect(either.decision).toBe('abort');
    const r = rowOf(either, 'latency shift');
    expect(r.test!.alternative).toBe('two-sided');
    expect(r.reason).toMatch(/^canary significantly faster: shift −\d/);
    expect(r.interval!.upper!).toBeLessThan(-r.floor!.threshold);
    expect(r.interval!.confidence).toBeCloseTo(1 - either.spending.nominal, 12);
    // The default direction lets a faster canary through.
    expect(judgeCanary({ metrics: [{ kind: 'latency', name: 'latency' }] }, { index: 2, count: 4 }, w).decision).toBe('continue');
    // Raw canary samples are recorded into the stable histogram's layout.
    const rng = new SeededRandom(22);
    const raw = Array.from({ length: 1500 }, () => 26 * Math.exp(0.5 * rng.normal()));
    const mixed = judgeCanary({ metrics: [{ kind: 'latency', name: 'latency' }] }, { index: 2, count: 4 }, { stable: w.stable, canary: { latency: { latency: [...raw, Number.NaN] } } });
    expect(mixed.decision).toBe('abort');
    expect(rowOf(mixed, 'latency shift').samples).toMatchObject({ stable: 2000, canary: 1500 });
    expect(rowOf(mixed, 'latency shift').detail.droppedSamples).toEqual({ stable: 0, canary: 1 });
  });

  it('rejects malformed configuration and data', () => {
    const w = makeWindow(19, STEADY, STEADY);
    const look = { index: 1, count: 3 };
    expect(() => judgeCanary({ metrics: [] }, look, w)).toThrow(InputError);
    expect(() => judgeCanary({ metrics: [{ kind: 'latency', name: 'a' }, { kind: 'latency', name: 'a' }] }, look, w)).toThrow(/used twice/);
    expect(() => judgeCanary({ metrics: [{ kind: 'latency', name: 'latency', missing: 'pass' as never }] }, look, w)).toThrow(/missing must be one of fail, extend, inconclusive/);
    expect(() => judgeCanary({ metrics: LATENCY_AND_ERRORS }, { index: 4, count: 3 }, w)).toThrow(/look.index/);
    expect(() => judgeCanary({ metrics: LATENCY_AND_ERRORS }, { index: 1, count: 3, extension: 3 }, w)).toThrow(/look.extension/);
    const badCounts: JudgeWindow = { ...w, canary: { ...w.canary, counts: { errors: { requests: 10, errors: 11 } } } };
    expect(() => judgeCanary({ metrics: LATENCY_AND_ERRORS }, look, badCounts)).toThrow(/errors \(11\) exceed requests \(10\)/);
    const unpaired = { ...w, paired: { quality: { stable: ['a', 'b'], canary: ['a'] } } };
    expect(() => judgeCanary({ metrics: [{ kind: 'quality', name: 'quality' }] }, look, unpaired)).toThrow(/differ in length/);
  });
});

describe(`alpha spending against SciPy ${ref.versions.scipy}`, () => {
  it.each(ref.spending)('α(t = $t) at alpha $alpha', (c) => {
    expectClose(obrienFlemingSpending(c.alpha, c.t), c.spent, 1e-10, 1e-300);
  });

  it('spends at most alpha over a whole plan, extensions included', () => {
    const alpha = 0.05 / 3;
    for (const [K, E] of [
      [1, 0],
      [3, 2],
      [4, 2],
      [5, 3],
    ] as const) {
      // The costliest path: every look extended as often as allowed, then closed at the look's end.
      let spent = 0;
      let prev = 0;
      for (let k = 1; k <= K; k++) {
        for (let e = 0; e <= E; e++) {
          const last = e === E;
          const t = lookFraction(k, K, e, E, last);
          expect(previousLookFraction(k, K, e, E)).toBeCloseTo(prev, 15);
          spent += nominalAlpha(alpha, t, prev);
          prev = t;
        }
      }
      expect(prev).toBe(1);
      expect(spent).toBeLessThanOrEqual(alpha * (1 + 1e-12));
      expect(spent).toBeCloseTo(alpha, 15);
    }
  });

  it('a judgement reports the nominal alpha it used', () => {
    const j = judgeCanary({ metrics: LATENCY_AND_ERRORS }, { index: 2, count: 4 }, makeWindow(20, STEADY, STEADY));
    const perTest = 0.01 / 3;
    expect(j.spending).toMatchObject({ tests: 3, fraction: 0.5, previousFraction: 0.25 });
    expectClose(j.spending.alphaPerTest, perTest, 1e-15);
    const row = ref.spending.filter((c) => Math.abs(c.alpha - perTest) < 1e-15);
    const at = (t: number): number => row.find((c) => Math.abs(c.t - t) < 1e-12)!.spent;
    expectClose(j.spending.nominal, at(0.5) - at(0.25), 1e-9);
    expectClose(j.spending.planningAlpha, perTest - at(0.75), 1e-9);
    for (const r of j.rows) if (r.test) expect(r.test.alpha).toBe(j.spending.nominal);
    // A plan that spends by data passes its own fractions.
    const byData = judgeCanary({ metrics: LATENCY_AND_ERRORS }, { index: 2, count: 4, fraction: 0.6, previousFraction: 0.3 }, makeWindow(20, STEADY, STEADY));
    expect(byData.spending).toMatchObject({ fraction: 0.6, previousFraction: 0.3 });
    expectClose(byData.spending.nominal, obrienFlemingSpending(perTest, 0.6) - obrienFlemingSpending(perTest, 0.3), 1e-12);
    // An analysis that may still extend sits on the look's grid: look 2 of 4, first of 3 analyses.
    const early = judgeCanary({ metrics: LATENCY_AND_ERRORS }, { index: 2, count: 4 }, makeWindow(20, { n: 40 }, { n: 40 }));
    expect(early.look.lastAtLook).toBe(false);
    expect(early.spending.fraction).toBeCloseTo((1 + 1 / 3) / 4, 15);
  });
});

describe(`planning formulas against SciPy ${ref.versions.scipy}`, () => {
  it.each(ref.superiority)('P(Y > X) for a $r slow-down at σ = $sigma', (c) => {
    expectClose(lognormalSuperiority(c.r, c.sigma), c.p, 1e-12);
  });
  it.each(ref.noether)("Noether's size at p = $p, α = $alpha, power $power", (c) => {
    expect(noetherSampleSize(c.p, c.alpha, c.power, c.sided)).toBe(c.n);
    expect(c.reached).toBeGreaterThan(c.power - 0.01);
  });
  it.each(ref.twoProportion)('two-proportion size $p0 → $p1, α = $alpha', (c) => {
    expect(twoProportionSampleSize(c.p0, c.p1, c.alpha, c.power, c.sided)).toBe(c.n);
    expect(c.reached).toBeGreaterThanOrEqual(c.power);
  });
  it.each(ref.oneProportion)('one-sample size $p0 → $p1, α = $alpha', (c) => {
    expect(oneProportionSampleSize(c.p0, c.p1, c.alpha, c.power)).toBe(c.n);
    expect(c.reached).toBeGreaterThanOrEqual(c.power);
  });
  it('more per version reaches the effective size and no fewer would', () => {
    for (const [a, b, r] of [
      [100, 100, 250],
      [5000, 40, 300],
      [0, 0, 17],
      [300, 10, 1000],
    ] as const) {
      const x = morePerVersion(a, b, r);
      expect(effectiveSize(a + x, b + x)).toBeGreaterThanOrEqual(r);
      if (x > 0) expect(effectiveSize(a + x - 1, b + x - 1)).toBeLessThan(r);
    }
  });
});

describe(`the judge's tests against SciPy ${ref.versions.scipy}`, () => {
  it.each(ref.latency)('raw latencies $name: one-sided Mann–Whitney, HL shift, p95 tail counts', (c) => {
    const window: JudgeWindow = { stable: { latency: { latency: c.stable } }, canary: { latency: { latency: c.canary } } };
    const j = judgeCanary({ metrics: [{ kind: 'latency', name: 'latency' }] }, { index: 1, count: 1 }, window);
    const shift = rowOf(j, 'latency shift');
    expectClose(shift.test!.pValue, c.pvalue, 1e-9, 1e-300);
    expectClose(shift.effect!, c.hl, 1e-12, 1e-12);
    const tail = rowOf(j, 'latency p95 tail');
    expect(tail.stable).toBe(c.p95);
    expect(tail.detail.above).toEqual({ thresholdMs: c.p95, stable: c.aboveStable, canary: c.aboveCanary });
  });

  it.each(ref.errors)('error counts $stable vs $canary: one-sided Fisher or pooled z', (c) => {
    const window: JudgeWindow = {
      stable: { counts: { errors: { errors: c.stable[0], requests: c.stable[1] } } },
      canary: { counts: { errors: { errors: c.canary[0], requests: c.canary[1] } } },
    };
    const r = rowOf(judgeCanary({ metrics: [{ kind: 'error-rate', name: 'errors' }] }, { index: 1, count: 1 }, window), 'error rate');
    expectClose(r.test!.pValue, r.test!.name === 'fisher-exact' ? c.fisherGreater : c.zGreater, 1e-9, 1e-300);
    expectClose(r.test!.z!, c.z, 1e-12);
  });

  it.each(ref.exceedance)('exceedance: $canaryAbove of $canaryN above a threshold $stableAbove of $stableN stable values exceed', (c) => {
    const r = exceedanceTest(c.canaryAbove, c.canaryN, c.stableAbove, c.stableN);
    expectClose(r.pValue, c.pvalue, 1e-9, 1e-300);
    expectClose(r.expected, c.mean, 1e-12);
    if (c.sd > 0) expectClose(r.z, (c.canaryAbove - c.mean) / c.sd, 1e-9, 1e-12);
  });

  it.each(ref.agreement)('agreement $agree of $n against $a0: exact binomial and Wilson', (c) => {
    expectClose(agreementPValue(c.agree, c.n, c.a0), c.pvalue, 1e-9, 1e-300);
    const w = wilsonInterval(c.agree, c.n, c.confidence);
    expectClose(w.lower, c.lower, 1e-12);
    expectClose(w.upper, c.upper, 1e-12);
    const j = judgeCanary({ metrics: [{ kind: 'quality', name: 'quality', minAgreement: c.a0, maxPsi: null }] }, { index: 1, count: 1 }, { stable: {}, canary: {}, paired: { quality: labels(c.n, c.agree) } });
    expectClose(rowOf(j, 'quality agreement').test!.pValue, c.pvalue, 1e-9, 1e-300);
  });
});
