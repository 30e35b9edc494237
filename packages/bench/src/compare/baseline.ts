// The current benchmark run against a stored baseline (a result from the default branch), compared
// as distributions: a significance test AND an effect-size floor decide every metric, never a
// single ratio. Latency is the whole corrected histogram (binned Mann–Whitney over the shared
// buckets, Hodges–Lehmann shift with its interval), the p95/p99 tails a two-proportion test of the
// share of requests above the baseline's percentile bucket, errors a test of failed vs ok counts,
// closed-loop throughput Welch's t over the measurement windows, and TTFT/ITL for LLM streams the
// same binned test as latency. Each metric, each load point and the comparison as a whole end in
// one of regression, improvement, no-change (not significant, or below the effect floor) and
// invalid (the two runs cannot be compared: never a regression). The result is plain data with
// every number the decision used, for a report to explain it.
import { readFileSync } from 'node:fs';
import { InputError } from '@ferry/core';
import { fisherExact, hodgesLehmannBinned, mannWhitneyBinned, twoProportionZTest, welchTTest, type Alternative } from '@ferry/stats';
import { LatencyHistogram, type SerializedHistogram } from '../histogram/histogram.js';
import type { LoadPoint } from '../load/options.js';
import type { LoadPointResult, LoadResult } from '../load/result.js';
import { LLM_HISTOGRAMS } from '../load/window.js';

export const BASELINE_COMPARISON_SCHEMA = 'ferry-baseline-comparison/1';

export type Outcome = 'regression' | 'improvement' | 'no-change' | 'invalid';
/** Why a metric counts as no change: no significant difference, or one smaller than the floor. */
export type NoChangeReason = 'not-significant' | 'below-effect-floor';
export type MetricName = 'latency' | 'latency-p95' | 'latency-p99' | 'error-rate' | 'throughput' | 'ttft' | 'itl';

export interface BaselineCompareOptions {
  /** Significance level of every test (default 0.05); a metric is significant when p < alpha. */
  readonly alpha?: number;
  /** Relative floor for latency shifts: a fraction of the baseline's p50 (or of its p95/p99 for the tails); default 0.10. */
  readonly latencyFloor?: number;
  /** Absolute floor for latency shifts in ms (default 0.5); the larger of the two floors applies. */
  readonly minLatencyShiftMs?: number;
  /** Absolute floor for the error-rate difference, as a fraction (default 0.005 = 0.5 percentage points). */
  readonly errorRateFloor?: number;
  /** Relative floor for the mean throughput change (default 0.10). */
  readonly throughputFloor?: number;
}

export const DEFAULT_BASELINE_COMPARE_OPTIONS: Required<BaselineCompareOptions> = {
  alpha: 0.05,
  latencyFloor: 0.1,
  minLatencyShiftMs: 0.5,
  errorRateFloor: 0.005,
  throughputFloor: 0.1,
};

/** The test behind a metric's p-value. */
export type TestName = 'mann-whitney' | 'two-proportion-z' | 'fisher-exact' | 'welch-t';

export interface Significance {
  readonly test: TestName;
  readonly pValue: number;
  readonly alpha: number;
  /** p < alpha. */
  readonly significant: boolean;
  /** Which way the current run differs: `up` = larger values (latency, error rate, throughput). */
  readonly direction: 'up' | 'down' | 'none';
}

export interface EffectFloor {
  /** The effect the floor applies to: `absolute` in the metric's unit, `relative` as a fraction of the baseline. */
  readonly applies: 'absolute' | 'relative';
  /** The effect, signed (current minus baseline). */
  readonly effect: number;
  /** The size the effect must exceed, in the test's direction, to count. */
  readonly threshold: number;
  /** How the threshold was set, in words: "max(10% of baseline p50 10.0 ms, 0.5 ms)". */
  readonly rule: string;
  /** Whether the effect goes beyond the threshold in the direction the test found. */
  readonly exceeded: boolean;
}

interface MetricBase {
  readonly metric: MetricName;
  /** Human name: "p95 latency", "error rate", "TTFT". */
  readonly title: string;
  readonly outcome: Exclude<Outcome, 'invalid'>;
  /** Present for `no-change`. */
  readonly noChange?: NoChangeReason;
  /** One sentence on the decision, with the numbers behind it. */
  readonly reason: string;
  /** Which way is better for this metric. */
  readonly better: 'lower' | 'higher';
  readonly unit: 'ms' | 'fraction' | 'req/s';
  /** The figure a reader compares: p50 for distributions, the percentile, the error rate, the mean window throughput. */
  readonly baseline: number;
  readonly current: number;
  /**
   * The effect in the metric's unit: the Hodges–Lehmann shift for distributions (not the p50
   * difference), otherwise current − baseline.
   */
  readonly change: number;
  /** change ÷ baseline; null when the baseline figure is 0. */
  readonly relativeChange: number | null;
  readonly significance: Significance;
  readonly floor: EffectFloor;
}

export interface ProportionTest {
  readonly test: 'two-proportion-z' | 'fisher-exact';
  readonly pValue: number;
  /** Pooled z of current against baseline (always computed; the p-value is Fisher's when counts are small). */
  readonly z: number;
  /** Sample odds ratio when Fisher's test decided; null otherwise (or when undefined). */
  readonly oddsRatio: number | null;
  /** Current rate − baseline rate, with Newcombe's hybrid score interval. */
  readonly difference: number;
  readonly lower: number;
  readonly upper: number;
  readonly confidence: number;
  /** The smallest expected cell count of the 2×2 table; Fisher's exact test below 5. */
  readonly minExpected: number;
}

export interface CountShare {
  readonly count: number;
  readonly n: number;
  readonly fraction: number;
}

/** Latency, TTFT or ITL as whole distributions over the shared histogram buckets. */
export interface DistributionMetric extends MetricBase {
  readonly kind: 'distribution';
  readonly histogram: 'corrected' | 'ttft' | 'itlToken';
  readonly mannWhitney: {
    /** U of the baseline (SciPy's statistic with the baseline as the first sample). */
    readonly u: number;
    readonly z: number | null;
    readonly pValue: number;
    readonly nBaseline: number;
    readonly nCurrent: number;
    /** P(current > baseline) + ½P(tie): 0.5 means neither tends to be larger. */
    readonly superiority: number;
    readonly tieTerm: number;
    /** Buckets non-empty on either side. */
    readonly bins: number;
  };
  /** Hodges–Lehmann shift of current relative to baseline (median of the pairwise differences). */
  readonly shift: {
    readonly estimateMs: number;
    readonly lowerMs: number | null;
    readonly upperMs: number | null;
    readonly confidence: number;
    readonly achievedConfidence: number;
    /** estimate ÷ baseline p50; null when that p50 is 0. */
    readonly relativeToBaselineP50: number | null;
  };
  readonly percentilesMs: {
    readonly baseline: { readonly p50: number; readonly p95: number; readonly p99: number };
    readonly current: { readonly p50: number; readonly p95: number; readonly p99: number };
  };
}

/** p95 or p99 latency: the percentile ratio, decided by the share of requests above the baseline's percentile bucket. */
export interface TailMetric extends MetricBase {
  readonly kind: 'tail';
  readonly percentile: 95 | 99;
  /** current ÷ baseline percentile; null when the baseline's is 0. */
  readonly ratio: number | null;
  /** Top of the baseline bucket holding its percentile: requests in later buckets count as above. */
  readonly thresholdMs: number;
  readonly above: { readonly baseline: CountShare; readonly current: CountShare };
  readonly test: ProportionTest;
}

export interface ErrorRateMetric extends MetricBase {
  readonly kind: 'error-rate';
  readonly counts: {
    readonly baseline: { readonly failed: number; readonly ok: number; readonly rate: number };
    readonly current: { readonly failed: number; readonly ok: number; readonly rate: number };
  };
  readonly test: ProportionTest;
}

export interface ThroughputMetric extends MetricBase {
  readonly kind: 'throughput';
  /** Successful responses per second of every measurement window of every repeat. */
  readonly windows: {
    readonly baseline: { readonly n: number; readonly mean: number; readonly sd: number; readonly values: readonly number[] };
    readonly current: { readonly n: number; readonly mean: number; readonly sd: number; readonly values: readonly number[] };
  };
  readonly welch: {
    readonly t: number | null;
    readonly df: number | null;
    readonly pValue: number;
    /** Mean current − mean baseline, with its interval at 1 − alpha. */
    readonly difference: number;
    readonly lower: number;
    readonly upper: number;
    readonly confidence: number;
  };
}

/** A metric that cannot be compared (for example histograms with different layouts): the point is invalid. */
export interface InvalidMetric {
  readonly kind: 'invalid';
  readonly metric: MetricName;
  readonly title: string;
  readonly outcome: 'invalid';
  readonly reason: string;
}

export type MetricComparison = DistributionMetric | TailMetric | ErrorRateMetric | ThroughputMetric | InvalidMetric;

/** A metric not compared, and why (no data on a side, open-loop throughput, too few windows). */
export interface SkippedMetric {
  readonly metric: MetricName;
  readonly reason: string;
}

export interface PointFigures {
  readonly valid: boolean;
  readonly requests: { readonly ok: number; readonly failed: number; readonly dropped: number };
  readonly errorRate: number;
  readonly throughput: number;
  readonly windows: number;
  readonly latencyMs: { readonly p50: number | null; readonly p95: number | null; readonly p99: number | null };
}

export interface PointComparison {
  /** Matching key: mode and rate or concurrency ("open:100", "closed:8"). */
  readonly key: string;
  /** "100 req/s", "concurrency 8". */
  readonly label: string;
  readonly load: { readonly current: LoadPoint; readonly baseline: LoadPoint };
  readonly outcome: Outcome;
  readonly headline: string;
  /** Why the point is invalid (empty otherwise); the metrics are not compared then. */
  readonly invalidReasons: readonly string[];
  readonly figures: { readonly current: PointFigures; readonly baseline: PointFigures };
  readonly metrics: readonly MetricComparison[];
  readonly skipped: readonly SkippedMetric[];
}

export interface RunFacts {
  readonly target: string;
  readonly protocol: string;
  readonly startedAt: string;
  readonly shards: number;
  readonly points: number;
}

export interface UnmatchedPoint {
  /** The run that has the point. */
  readonly side: 'current' | 'baseline';
  readonly key: string;
  readonly label: string;
  readonly load: LoadPoint;
}

export interface BaselineComparison {
  readonly schema: typeof BASELINE_COMPARISON_SCHEMA;
  /** invalid > regression > improvement > no-change over the matched points; invalid when none match. */
  readonly outcome: Outcome;
  /** One line for a human: "p95 latency regressed 23% (12.1 → 14.9 ms, p < 0.001) at 100 req/s". */
  readonly headline: string;
  readonly options: Required<BaselineCompareOptions>;
  readonly runs: { readonly current: RunFacts; readonly baseline: RunFacts };
  /** Differences between the runs' setups that make every point invalid. */
  readonly invalidReasons: readonly string[];
  /** Differences worth knowing that do not invalidate (another host, say). */
  readonly notes: readonly string[];
  readonly points: readonly PointComparison[];
  /** Load points only one run measured: reported, not compared. */
  readonly unmatched: readonly UnmatchedPoint[];
  /** Matched points by outcome. */
  readonly counts: Readonly<Record<Outcome, number>>;
}

// ---------------------------------------------------------------------------------------------
// Formatting (headlines and reasons)

function fmtMs(ms: number): string {
  const a = Math.abs(ms);
  if (a >= 100) return ms.toFixed(0);
  if (a >= 10) return ms.toFixed(1);
  if (a >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

function fmtSignedMs(ms: number): string {
  return `${ms >= 0 ? '+' : '−'}${fmtMs(Math.abs(ms))} ms`;
}

function fmtPct(fraction: number): string {
  const p = Math.abs(fraction) * 100;
  return `${p >= 10 ? p.toFixed(0) : p.toFixed(1)}%`;
}

function fmtSignedPct(fraction: number): string {
  return `${fraction >= 0 ? '+' : '−'}${fmtPct(fraction)}`;
}

function fmtRate(fraction: number): string {
  return `${(fraction * 100).toFixed(fraction !== 0 && Math.abs(fraction) < 0.001 ? 3 : 2)}%`;
}

function fmtPoints(fraction: number): string {
  return `${(Math.abs(fraction) * 100).toFixed(2)} percentage points`;
}

function fmtRps(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2);
}

function fmtP(p: number): string {
  return p < 0.001 ? 'p < 0.001' : `p = ${Number(p.toPrecision(2))}`;
}

const TEST_TITLES: Record<TestName, string> = {
  'mann-whitney': 'Mann–Whitney U',
  'two-proportion-z': 'two-proportion z-test',
  'fisher-exact': "Fisher's exact test",
  'welch-t': "Welch's t-test",
};

function fin(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function loadKey(load: LoadPoint): string {
  return load.mode === 'open' ? `open:${load.rate}` : `closed:${load.concurrency}`;
}

function loadLabel(load: LoadPoint): string {
  if (load.mode === 'closed') return `concurrency ${load.concurrency}${load.thinkTimeMs > 0 ? ` (think ${load.thinkTimeMs} ms)` : ''}`;
  const process = load.process === 'constant' ? '' : load.process === 'gamma' ? ` gamma(${load.burstiness ?? 1})` : ` ${load.process}`;
  return `${Number(load.rate.toPrecision(6))} req/s${process}`;
}

// ---------------------------------------------------------------------------------------------
// The decision shared by every metric

interface DecisionInput {
  readonly test: TestName;
  readonly pValue: number;
  readonly alpha: number;
  readonly direction: 'up' | 'down' | 'none';
  readonly better: 'lower' | 'higher';
  readonly applies: 'absolute' | 'relative';
  readonly effect: number;
  readonly threshold: number;
  readonly rule: string;
  /** The effect in words for the reason: "shift +2.00 ms", "p95 +23%". */
  readonly effectText: string;
  /** The threshold in words: "1.00 ms", "10%". */
  readonly thresholdText: string;
}

function decide(d: DecisionInput): Pick<MetricBase, 'outcome' | 'noChange' | 'reason' | 'significance' | 'floor'> {
  const significant = d.pValue < d.alpha && d.direction !== 'none';
  const exceeded = (d.direction === 'up' && d.effect > d.threshold) || (d.direction === 'down' && d.effect < -d.threshold);
  const significance: Significance = { test: d.test, pValue: d.pValue, alpha: d.alpha, significant, direction: d.direction };
  const floor: EffectFloor = { applies: d.applies, effect: d.effect, threshold: d.threshold, rule: d.rule, exceeded };
  const test = `${TEST_TITLES[d.test]}, ${fmtP(d.pValue)}`;
  if (!significant) {
    return {
      outcome: 'no-change',
      noChange: 'not-significant',
      reason: `not significant (${test}, α = ${d.alpha}); ${d.effectText}`,
      significance,
      floor,
    };
  }
  if (!exceeded) {
    return {
      outcome: 'no-change',
      noChange: 'below-effect-floor',
      reason: `significant (${test}) but below the effect floor: ${d.effectText} is within ${d.thresholdText} (${d.rule})`,
      significance,
      floor,
    };
  }
  const worse = (d.direction === 'up') === (d.better === 'lower');
  return {
    outcome: worse ? 'regression' : 'improvement',
    reason: `${worse ? 'regressed' : 'improved'}: ${d.effectText}, beyond the ${d.thresholdText} floor (${d.rule}); ${test}`,
    significance,
    floor,
  };
}

/**
 * Rates compared from counts: the pooled z-test, or Fisher's exact test when an expected cell
 * count is below 5. `s1/n1` is the current run, `s2/n2` the baseline. `alternative` (default
 * two-sided) is the test's: `greater` asks whether the current rate is higher. The interval is
 * always Newcombe's two-sided one at `confidence`.
 */
export function proportionTest(s1: number, n1: number, s2: number, n2: number, confidence: number, alternative: Alternative = 'two-sided'): ProportionTest {
  const z = twoProportionZTest(s1, n1, s2, n2, { confidence, alternative });
  const total = n1 + n2;
  const events = s1 + s2;
  const minExpected = Math.min(n1, n2) * Math.min(events, total - events) / total;
  const base = { z: z.z, difference: z.difference, lower: z.lower, upper: z.upper, confidence, minExpected };
  if (minExpected < 5) {
    const f = fisherExact(
      [
        [s1, n1 - s1],
        [s2, n2 - s2],
      ],
      { alternative },
    );
    return { test: 'fisher-exact', pValue: f.pValue, oddsRatio: fin(f.oddsRatio), ...base };
  }
  return { test: 'two-proportion-z', pValue: z.pValue, oddsRatio: null, ...base };
}

// ---------------------------------------------------------------------------------------------
// Histograms over shared buckets

function sameLayout(a: SerializedHistogram, b: SerializedHistogram): boolean {
  return a.significantDigits === b.significantDigits && a.highestMicros === b.highestMicros;
}

function layoutText(h: SerializedHistogram): string {
  return `${h.significantDigits} significant digits up to ${h.highestMicros} µs`;
}

export interface SharedBins {
  /** Bucket midpoints in ms (the value a bucket stands for), strictly increasing. */
  readonly values: number[];
  /** Top of each bucket in ms. */
  readonly highMs: number[];
  readonly baseline: number[];
  readonly current: number[];
}

/** The buckets non-empty in either histogram, in value order, with both counts. Same layout assumed. */
export function shareBins(baseline: LatencyHistogram, current: LatencyHistogram): SharedBins {
  const byLow = new Map<number, { high: number; b: number; c: number }>();
  baseline.forEachBucket((lowMs, highMs, count) => {
    byLow.set(Math.round(lowMs * 1000), { high: Math.round(highMs * 1000), b: count, c: 0 });
  });
  current.forEachBucket((lowMs, highMs, count) => {
    const low = Math.round(lowMs * 1000);
    const e = byLow.get(low);
    if (e) e.c = count;
    else byLow.set(low, { high: Math.round(highMs * 1000), b: 0, c: count });
  });
  const lows = [...byLow.keys()].sort((a, b) => a - b);
  const out: SharedBins = { values: [], highMs: [], baseline: [], current: [] };
  for (const low of lows) {
    const e = byLow.get(low)!;
    out.values.push((low + e.high) / 2 / 1000);
    out.highMs.push(e.high / 1000);
    out.baseline.push(e.b);
    out.current.push(e.c);
  }
  return out;
}

function latencyFloorOf(o: Required<BaselineCompareOptions>, reference: number, what: string): { threshold: number; rule: string; text: string } {
  const relative = o.latencyFloor * reference;
  const threshold = Math.max(relative, o.minLatencyShiftMs);
  return {
    threshold,
    rule: `max(${fmtPct(o.latencyFloor)} of baseline ${what} ${fmtMs(reference)} ms, ${Number(o.minLatencyShiftMs.toPrecision(3))} ms)`,
    text: `±${fmtMs(threshold)} ms`,
  };
}

const DISTRIBUTIONS = {
  latency: { histogram: 'corrected', title: 'latency' },
  ttft: { histogram: 'ttft', title: 'TTFT' },
  itl: { histogram: 'itlToken', title: 'ITL (per token)' },
} as const;

function distributionMetric(
  metric: keyof typeof DISTRIBUTIONS,
  base: LatencyHistogram,
  cur: LatencyHistogram,
  bins: SharedBins,
  o: Required<BaselineCompareOptions>,
): DistributionMetric {
  const { histogram, title } = DISTRIBUTIONS[metric];
  const mw = mannWhitneyBinned(bins.baseline, bins.current);
  const hl = hodgesLehmannBinned(bins.values, bins.baseline, bins.current, { confidence: 1 - o.alpha });
  const pct = (h: LatencyHistogram): { p50: number; p95: number; p99: number } => ({ p50: h.percentile(50)!, p95: h.percentile(95)!, p99: h.percentile(99)! });
  const bp = pct(base);
  const cp = pct(cur);
  const floor = latencyFloorOf(o, bp.p50, 'p50');
  const relative = bp.p50 > 0 ? hl.estimate / bp.p50 : null;
  const direction = mw.superiority > 0.5 ? 'up' : mw.superiority < 0.5 ? 'down' : 'none';
  const decision = decide({
    test: 'mann-whitney',
    pValue: mw.pValue,
    alpha: o.alpha,
    direction,
    better: 'lower',
    applies: 'absolute',
    effect: hl.estimate,
    threshold: floor.threshold,
    rule: floor.rule,
    effectText: `shift ${fmtSignedMs(hl.estimate)} (${relative !== null ? `${fmtSignedPct(relative)} of baseline p50; ` : ''}p50 ${fmtMs(bp.p50)} → ${fmtMs(cp.p50)} ms)`,
    thresholdText: floor.text,
  });
  return {
    kind: 'distribution',
    metric,
    title,
    histogram,
    ...decision,
    better: 'lower',
    unit: 'ms',
    baseline: bp.p50,
    current: cp.p50,
    change: hl.estimate,
    relativeChange: relative,
    mannWhitney: {
      u: mw.u,
      z: fin(mw.z),
      pValue: mw.pValue,
      nBaseline: mw.n1,
      nCurrent: mw.n2,
      superiority: mw.superiority,
      tieTerm: mw.tieTerm,
      bins: bins.values.length,
    },
    shift: {
      estimateMs: hl.estimate,
      lowerMs: fin(hl.lower),
      upperMs: fin(hl.upper),
      confidence: hl.confidence,
      achievedConfidence: hl.achievedConfidence,
      relativeToBaselineP50: relative,
    },
    percentilesMs: { baseline: bp, current: cp },
  };
}

export interface TailCounts {
  /** Index in the shared bins of the baseline bucket holding its percentile. */
  readonly bucket: number;
  /** Top of that bucket in ms: requests in later buckets count as above. */
  readonly thresholdMs: number;
  readonly aboveBaseline: number;
  readonly aboveCurrent: number;
}

/**
 * The requests of each side above the baseline bucket that holds the baseline's percentile
 * (nearest rank, as LatencyHistogram.percentile); `baselineCount` is the baseline's total.
 */
export function tailCounts(percentile: number, baselineCount: number, bins: SharedBins): TailCounts {
  const rank = Math.max(1, Math.ceil((percentile / 100) * baselineCount - 1e-9));
  let seen = 0;
  let k = 0;
  for (; k < bins.baseline.length; k++) {
    seen += bins.baseline[k]!;
    if (seen >= rank) break;
  }
  let aboveBaseline = 0;
  let aboveCurrent = 0;
  for (let j = k + 1; j < bins.values.length; j++) {
    aboveBaseline += bins.baseline[j]!;
    aboveCurrent += bins.current[j]!;
  }
  return { bucket: k, thresholdMs: bins.highMs[k] ?? Number.NaN, aboveBaseline, aboveCurrent };
}

function tailMetric(percentile: 95 | 99, base: LatencyHistogram, cur: LatencyHistogram, bins: SharedBins, o: Required<BaselineCompareOptions>): TailMetric {
  const baseP = base.percentile(percentile)!;
  const curP = cur.percentile(percentile)!;
  const nBase = base.count;
  const nCur = cur.count;
  const { bucket: k, aboveBaseline: aboveBase, aboveCurrent: aboveCur } = tailCounts(percentile, base.count, bins);
  const test = proportionTest(aboveCur, nCur, aboveBase, nBase, 1 - o.alpha);
  const floor = latencyFloorOf(o, baseP, `p${percentile}`);
  const change = curP - baseP;
  const ratio = baseP > 0 ? curP / baseP : null;
  const direction = aboveCur / nCur > aboveBase / nBase ? 'up' : aboveCur / nCur < aboveBase / nBase ? 'down' : 'none';
  const decision = decide({
    test: test.test,
    pValue: test.pValue,
    alpha: o.alpha,
    direction,
    better: 'lower',
    applies: 'absolute',
    effect: change,
    threshold: floor.threshold,
    rule: floor.rule,
    effectText: `p${percentile} ${fmtMs(baseP)} → ${fmtMs(curP)} ms (${fmtSignedMs(change)}${ratio !== null ? `, ${fmtSignedPct(ratio - 1)}` : ''}; ${fmtRate(aboveCur / nCur)} of current requests above the baseline's p${percentile} bucket vs ${fmtRate(aboveBase / nBase)})`,
    thresholdText: floor.text,
  });
  return {
    kind: 'tail',
    metric: percentile === 95 ? 'latency-p95' : 'latency-p99',
    title: `p${percentile} latency`,
    percentile,
    ...decision,
    better: 'lower',
    unit: 'ms',
    baseline: baseP,
    current: curP,
    change,
    relativeChange: ratio !== null ? ratio - 1 : null,
    ratio,
    thresholdMs: bins.highMs[k] ?? baseP,
    above: {
      baseline: { count: aboveBase, n: nBase, fraction: aboveBase / nBase },
      current: { count: aboveCur, n: nCur, fraction: aboveCur / nCur },
    },
    test,
  };
}

function errorRateMetric(base: LoadPointResult, cur: LoadPointResult, o: Required<BaselineCompareOptions>): ErrorRateMetric | SkippedMetric {
  const b = base.summary.requests;
  const c = cur.summary.requests;
  const nb = b.ok + b.failed;
  const nc = c.ok + c.failed;
  if (nb === 0 || nc === 0) return { metric: 'error-rate', reason: `no settled requests in the ${nb === 0 ? 'baseline' : 'current'} run` };
  const test = proportionTest(c.failed, nc, b.failed, nb, 1 - o.alpha);
  const rb = b.failed / nb;
  const rc = c.failed / nc;
  const change = rc - rb;
  const decision = decide({
    test: test.test,
    pValue: test.pValue,
    alpha: o.alpha,
    direction: rc > rb ? 'up' : rc < rb ? 'down' : 'none',
    better: 'lower',
    applies: 'absolute',
    effect: change,
    threshold: o.errorRateFloor,
    rule: `${fmtPoints(o.errorRateFloor)} absolute`,
    effectText: `error rate ${fmtRate(rb)} → ${fmtRate(rc)} (${b.failed}/${nb} vs ${c.failed}/${nc} failed)`,
    thresholdText: `±${fmtPoints(o.errorRateFloor)}`,
  });
  return {
    kind: 'error-rate',
    metric: 'error-rate',
    title: 'error rate',
    ...decision,
    better: 'lower',
    unit: 'fraction',
    baseline: rb,
    current: rc,
    change,
    relativeChange: rb > 0 ? change / rb : null,
    counts: { baseline: { failed: b.failed, ok: b.ok, rate: rb }, current: { failed: c.failed, ok: c.ok, rate: rc } },
    test,
  };
}

function windowThroughputs(p: LoadPointResult): number[] {
  return p.repeats.flatMap((r) => r.windows.map((w) => w.summary.throughput));
}

function meanSd(values: readonly number[]): { n: number; mean: number; sd: number } {
  const n = values.length;
  const mean = values.reduce((a, v) => a + v, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { n, mean, sd };
}

function throughputMetric(base: LoadPointResult, cur: LoadPointResult, o: Required<BaselineCompareOptions>): ThroughputMetric | SkippedMetric {
  if (cur.load.mode === 'open') return { metric: 'throughput', reason: 'open loop: the arrival schedule sets the throughput' };
  const wb = windowThroughputs(base);
  const wc = windowThroughputs(cur);
  if (wb.length < 2 || wc.length < 2) {
    return { metric: 'throughput', reason: `Welch's t-test needs at least 2 measurement windows on each side (baseline ${wb.length}, current ${wc.length})` };
  }
  const sb = meanSd(wb);
  const sc = meanSd(wc);
  if (!(sb.mean > 0)) return { metric: 'throughput', reason: 'the baseline throughput is 0' };
  const w = welchTTest(wc, wb, { confidence: 1 - o.alpha });
  const relative = (sc.mean - sb.mean) / sb.mean;
  const decision = decide({
    test: 'welch-t',
    pValue: w.pValue,
    alpha: o.alpha,
    direction: w.difference > 0 ? 'up' : w.difference < 0 ? 'down' : 'none',
    better: 'higher',
    applies: 'relative',
    effect: relative,
    threshold: o.throughputFloor,
    rule: `${fmtPct(o.throughputFloor)} of the baseline mean`,
    effectText: `mean window throughput ${fmtRps(sb.mean)} → ${fmtRps(sc.mean)} req/s (${fmtSignedPct(relative)})`,
    thresholdText: `±${fmtPct(o.throughputFloor)}`,
  });
  return {
    kind: 'throughput',
    metric: 'throughput',
    title: 'throughput',
    ...decision,
    better: 'higher',
    unit: 'req/s',
    baseline: sb.mean,
    current: sc.mean,
    change: sc.mean - sb.mean,
    relativeChange: relative,
    windows: { baseline: { ...sb, values: wb }, current: { ...sc, values: wc } },
    welch: { t: fin(w.t), df: fin(w.df), pValue: w.pValue, difference: w.difference, lower: w.lower, upper: w.upper, confidence: w.confidence },
  };
}

// ---------------------------------------------------------------------------------------------
// Points

function figuresOf(p: LoadPointResult): PointFigures {
  const l = p.summary.latencyMs.corrected;
  return {
    valid: pointValid(p),
    requests: { ok: p.summary.requests.ok, failed: p.summary.requests.failed, dropped: p.summary.requests.dropped },
    errorRate: p.summary.errorRate,
    throughput: p.summary.throughput,
    windows: p.repeats.reduce((a, r) => a + r.windows.length, 0),
    latencyMs: { p50: l.p50 ?? null, p95: l.p95 ?? null, p99: l.p99 ?? null },
  };
}

function pointValid(p: LoadPointResult): boolean {
  return p.validity.valid !== false && p.repeats.every((r) => r.validity.valid !== false);
}

function validityReasons(p: LoadPointResult, side: 'current' | 'baseline'): string[] {
  if (pointValid(p)) return [];
  const messages = new Set<string>();
  for (const v of [p.validity, ...p.repeats.map((r) => r.validity)]) {
    if (v.valid !== false) continue;
    for (const r of v.reasons) messages.add(`${r.message} (${r.code})`);
  }
  if (messages.size === 0) messages.add('marked invalid');
  return [...messages].map((m) => `${side} run invalid: ${m}`);
}

function loadDifferences(c: LoadPoint, b: LoadPoint): string[] {
  if (c.mode === 'open' && b.mode === 'open') {
    const out: string[] = [];
    if (c.process !== b.process) out.push(`arrival process differs: current ${c.process}, baseline ${b.process}`);
    else if (c.process === 'gamma' && (c.burstiness ?? 1) !== (b.burstiness ?? 1)) out.push(`burstiness differs: current ${c.burstiness ?? 1}, baseline ${b.burstiness ?? 1}`);
    return out;
  }
  if (c.mode === 'closed' && b.mode === 'closed' && c.thinkTimeMs !== b.thinkTimeMs) {
    return [`think time differs: current ${c.thinkTimeMs} ms, baseline ${b.thinkTimeMs} ms`];
  }
  return [];
}

const PRECEDENCE: Record<Outcome, number> = { invalid: 3, regression: 2, improvement: 1, 'no-change': 0 };
/** Headline order among metrics with the same outcome. */
const METRIC_ORDER: readonly MetricName[] = ['error-rate', 'latency-p95', 'latency', 'latency-p99', 'throughput', 'ttft', 'itl'];

function worst(outcomes: readonly Outcome[]): Outcome {
  let out: Outcome = 'no-change';
  for (const o of outcomes) if (PRECEDENCE[o] > PRECEDENCE[out]) out = o;
  return out;
}

function metricHeadline(m: Exclude<MetricComparison, InvalidMetric>, label: string): string {
  const verb = m.outcome === 'regression' ? 'regressed' : 'improved';
  const p = fmtP(m.significance.pValue);
  switch (m.kind) {
    case 'distribution':
      return `${m.title} ${verb} ${m.relativeChange !== null ? fmtPct(m.relativeChange) : fmtSignedMs(m.change)} (p50 ${fmtMs(m.baseline)} → ${fmtMs(m.current)} ms, shift ${fmtSignedMs(m.change)}, ${p}) at ${label}`;
    case 'tail':
      return `${m.title} ${verb} ${m.relativeChange !== null ? fmtPct(m.relativeChange) : fmtSignedMs(m.change)} (${fmtMs(m.baseline)} → ${fmtMs(m.current)} ms, ${p}) at ${label}`;
    case 'error-rate':
      return `${m.title} ${verb} by ${fmtPoints(m.change)} (${fmtRate(m.baseline)} → ${fmtRate(m.current)}, ${p}) at ${label}`;
    case 'throughput':
      return `${m.title} ${verb} ${fmtPct(m.relativeChange ?? 0)} (${fmtRps(m.baseline)} → ${fmtRps(m.current)} req/s, ${p}) at ${label}`;
  }
}

function pointHeadline(outcome: Outcome, label: string, invalidReasons: readonly string[], metrics: readonly MetricComparison[]): string {
  if (outcome === 'invalid') {
    const reasons = [...invalidReasons, ...metrics.filter((m) => m.outcome === 'invalid').map((m) => `${m.title}: ${m.reason}`)];
    return `invalid at ${label}: ${reasons[0] ?? 'cannot be compared'}${reasons.length > 1 ? ` (+${reasons.length - 1} more)` : ''}`;
  }
  const decided = metrics.filter((m): m is Exclude<MetricComparison, InvalidMetric> => m.kind !== 'invalid');
  if (outcome === 'no-change') {
    const below = decided.filter((m) => m.noChange === 'below-effect-floor').length;
    return `no change at ${label}${below > 0 ? ` (${below} significant difference${below > 1 ? 's' : ''} below the effect floor)` : ' (no significant difference)'}`;
  }
  const hits = decided.filter((m) => m.outcome === outcome).sort((a, b) => METRIC_ORDER.indexOf(a.metric) - METRIC_ORDER.indexOf(b.metric));
  const first = hits[0]!;
  const rest = hits.slice(1).map((m) => m.title);
  return `${metricHeadline(first, label)}${rest.length > 0 ? `; also ${rest.join(', ')}` : ''}`;
}

function histogramOrUndefined(h: SerializedHistogram | undefined): LatencyHistogram | undefined {
  if (!h) return undefined;
  const d = LatencyHistogram.fromJSON(h);
  return d.count > 0 ? d : undefined;
}

function comparePoint(
  cur: LoadPointResult,
  base: LoadPointResult,
  runReasons: readonly string[],
  o: Required<BaselineCompareOptions>,
): PointComparison {
  const label = loadLabel(cur.load);
  const figures = { current: figuresOf(cur), baseline: figuresOf(base) };
  const invalidReasons = [...runReasons, ...loadDifferences(cur.load, base.load), ...validityReasons(cur, 'current'), ...validityReasons(base, 'baseline')];
  const common = { key: loadKey(cur.load), label, load: { current: cur.load, baseline: base.load }, figures };
  if (invalidReasons.length > 0) {
    return { ...common, outcome: 'invalid', headline: pointHeadline('invalid', label, invalidReasons, []), invalidReasons, metrics: [], skipped: [] };
  }
  const metrics: MetricComparison[] = [];
  const skipped: SkippedMetric[] = [];

  const distribution = (
    names: readonly { metric: keyof typeof DISTRIBUTIONS | 'latency-p95' | 'latency-p99'; title: string }[],
    b: SerializedHistogram | undefined,
    c: SerializedHistogram | undefined,
    what: string,
  ): void => {
    if (!b || !c) {
      for (const n of names) skipped.push({ metric: n.metric, reason: `only the ${b ? 'baseline' : 'current'} run has ${what}` });
      return;
    }
    if (!sameLayout(b, c)) {
      const reason = `histogram layouts differ (current ${layoutText(c)}, baseline ${layoutText(b)}): the buckets cannot be compared one to one`;
      for (const n of names) metrics.push({ kind: 'invalid', metric: n.metric, title: n.title, outcome: 'invalid', reason });
      return;
    }
    const hb = histogramOrUndefined(b);
    const hc = histogramOrUndefined(c);
    if (!hb || !hc) {
      for (const n of names) skipped.push({ metric: n.metric, reason: `no ${what} recorded in the ${!hb ? 'baseline' : 'current'} run` });
      return;
    }
    const bins = shareBins(hb, hc);
    for (const n of names) {
      if (n.metric === 'latency-p95') metrics.push(tailMetric(95, hb, hc, bins, o));
      else if (n.metric === 'latency-p99') metrics.push(tailMetric(99, hb, hc, bins, o));
      else metrics.push(distributionMetric(n.metric, hb, hc, bins, o));
    }
  };

  distribution(
    [
      { metric: 'latency', title: 'latency' },
      { metric: 'latency-p95', title: 'p95 latency' },
      { metric: 'latency-p99', title: 'p99 latency' },
    ],
    base.histograms.corrected,
    cur.histograms.corrected,
    'latency samples',
  );
  const error = errorRateMetric(base, cur, o);
  if ('kind' in error) metrics.push(error);
  else skipped.push(error);
  const throughput = throughputMetric(base, cur, o);
  if ('kind' in throughput) metrics.push(throughput);
  else skipped.push(throughput);
  if (base.histograms.llm || cur.histograms.llm) {
    distribution([{ metric: 'ttft', title: DISTRIBUTIONS.ttft.title }], base.histograms.llm?.ttft, cur.histograms.llm?.ttft, 'TTFT (LLM stream metrics)');
    distribution([{ metric: 'itl', title: DISTRIBUTIONS.itl.title }], base.histograms.llm?.itlToken, cur.histograms.llm?.itlToken, 'ITL (LLM stream metrics)');
  }

  const outcome = worst(metrics.map((m) => m.outcome));
  return { ...common, outcome, headline: pointHeadline(outcome, label, [], metrics), invalidReasons: [], metrics, skipped };
}

function runFacts(r: LoadResult): RunFacts {
  return { target: r.target, protocol: r.protocol, startedAt: r.startedAt, shards: r.generator.shard.count, points: r.points.length };
}

/** Scheme and path of a target URL (the host and port may change between runners without changing what is measured). */
function targetParts(target: string): { what: string; host: string } {
  try {
    const u = new URL(target);
    return { what: `${u.protocol}//…${u.pathname.replace(/\/+$/, '')}`, host: u.host };
  } catch {
    return { what: target, host: '' };
  }
}

function runDifferences(cur: LoadResult, base: LoadResult): { reasons: string[]; notes: string[] } {
  const reasons: string[] = [];
  const notes: string[] = [];
  if (cur.protocol !== base.protocol) reasons.push(`protocol differs: current ${cur.protocol}, baseline ${base.protocol}`);
  const tc = targetParts(cur.target);
  const tb = targetParts(base.target);
  if (tc.what !== tb.what) reasons.push(`target differs: current ${cur.target}, baseline ${base.target}`);
  else if (tc.host !== tb.host) notes.push(`target host differs (current ${tc.host}, baseline ${tb.host}); scheme and path agree, so the runs are compared`);
  if (cur.generator.shard.count !== base.generator.shard.count) {
    reasons.push(`load generated by ${cur.generator.shard.count} shard(s) now and ${base.generator.shard.count} in the baseline`);
  }
  return { reasons, notes };
}

function checkOptions(options: BaselineCompareOptions): Required<BaselineCompareOptions> {
  const o: { -readonly [K in keyof BaselineCompareOptions]-?: number } = { ...DEFAULT_BASELINE_COMPARE_OPTIONS };
  for (const [k, v] of Object.entries(options) as [keyof BaselineCompareOptions, number | undefined][]) {
    if (v === undefined) continue;
    const ok = k === 'alpha' ? v > 0 && v < 1 : Number.isFinite(v) && v >= 0;
    if (!ok || typeof v !== 'number') {
      throw new InputError(`baseline comparison: ${k} must be ${k === 'alpha' ? 'in (0, 1)' : 'a finite number ≥ 0'}, got ${String(v)}`, { subject: k });
    }
    o[k] = v;
  }
  return o;
}

/**
 * Compares the current run with a baseline run, load point by load point (matched by mode and
 * rate or concurrency). See the module comment and the types for what is compared and how.
 */
export function compareWithBaseline(current: LoadResult, baseline: LoadResult, options: BaselineCompareOptions = {}): BaselineComparison {
  const o = checkOptions(options);
  const { reasons: runReasons, notes } = runDifferences(current, baseline);
  // Pair points with the same key in order (a key measured twice pairs first with first).
  const pool = new Map<string, LoadPointResult[]>();
  for (const p of baseline.points) {
    const k = loadKey(p.load);
    pool.set(k, [...(pool.get(k) ?? []), p]);
  }
  const points: PointComparison[] = [];
  const unmatched: UnmatchedPoint[] = [];
  for (const cur of current.points) {
    const k = loadKey(cur.load);
    const base = pool.get(k)?.shift();
    if (!base) {
      unmatched.push({ side: 'current', key: k, label: loadLabel(cur.load), load: cur.load });
      continue;
    }
    points.push(comparePoint(cur, base, runReasons, o));
  }
  for (const [k, rest] of pool) for (const p of rest) unmatched.push({ side: 'baseline', key: k, label: loadLabel(p.load), load: p.load });

  const counts: Record<Outcome, number> = { regression: 0, improvement: 0, 'no-change': 0, invalid: 0 };
  for (const p of points) counts[p.outcome]++;
  const outcome: Outcome = points.length === 0 ? 'invalid' : worst(points.map((p) => p.outcome));
  return {
    schema: BASELINE_COMPARISON_SCHEMA,
    outcome,
    headline: overallHeadline(outcome, points, unmatched, runReasons),
    options: o,
    runs: { current: runFacts(current), baseline: runFacts(baseline) },
    invalidReasons: runReasons,
    notes,
    points,
    unmatched,
    counts,
  };
}

function overallHeadline(outcome: Outcome, points: readonly PointComparison[], unmatched: readonly UnmatchedPoint[], runReasons: readonly string[]): string {
  const unmatchedNote = unmatched.length > 0 ? ` (${unmatched.length} load point${unmatched.length > 1 ? 's' : ''} measured in only one run)` : '';
  if (points.length === 0) {
    const side = (s: 'current' | 'baseline'): string => unmatched.filter((u) => u.side === s).map((u) => u.label).join(', ') || 'none';
    return `invalid: no load point in common with the baseline (current: ${side('current')}; baseline: ${side('baseline')})`;
  }
  if (outcome === 'invalid' && runReasons.length > 0) {
    return `invalid: ${runReasons[0]}${runReasons.length > 1 ? ` (+${runReasons.length - 1} more)` : ''}`;
  }
  const of = (o: Outcome): PointComparison[] => points.filter((p) => p.outcome === o);
  const more = (list: readonly PointComparison[], what: string): string => (list.length > 1 ? ` (and ${list.length - 1} more load point${list.length > 2 ? 's' : ''} ${what})` : '');
  if (outcome === 'no-change') {
    return `no change beyond the effect floors at ${points.length === 1 ? points[0]!.label : `${points.length} load points`}${unmatchedNote}`;
  }
  const lead = of(outcome);
  let line = `${lead[0]!.headline}${more(lead, outcome === 'invalid' ? 'invalid' : outcome === 'regression' ? 'regressed' : 'improved')}`;
  // An invalid comparison still says what the valid points showed.
  if (outcome === 'invalid') {
    const regressed = of('regression');
    if (regressed.length > 0) line += `; meanwhile ${regressed[0]!.headline}${more(regressed, 'regressed')}`;
  }
  return `${line}${unmatchedNote}`;
}

// ---------------------------------------------------------------------------------------------
// Reading result files

/**
 * Reads a load result from a JSON file for comparison. Accepted shapes (documented decision):
 * - a bare LoadResult: `schema: "ferry-load/1"` at the top level, extra top-level fields (such as
 *   `ferryBenchResult` or `meta`) allowed and kept on the returned object;
 * - an object holding the LoadResult under `load`, such as the benchmark step's results file
 *   (`schema: "ferry-benchmark/1"`, `load: {...}`); the wrapper is dropped.
 * Missing file, bad JSON and a wrong shape are InputErrors (exit 2) naming the file and the field.
 */
export function readLoadResult(path: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (code ?? (err as Error).message);
    throw new InputError(`load result ${path}: cannot read it (${why})`, { subject: path, cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InputError(`load result ${path} is not valid JSON (${(err as Error).message})`, { subject: path, cause: err });
  }
  return parseLoadResult(value, path);
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks that a parsed JSON value is a load result (bare or under `load`, as readLoadResult) with
 * every field the comparison reads, decoding the histograms it compares; `source` names the file
 * in errors.
 */
export function parseLoadResult(value: unknown, source: string): LoadResult {
  const fail = (field: string, problem: string): never => {
    throw new InputError(`load result ${source}: ${field} ${problem}`, {
      subject: source,
      hint: 'expected a Ferry load result (schema "ferry-load/1") at the top level or under `load`, as the benchmark step writes it',
    });
  };
  if (!isObject(value)) return fail('the document', 'is not a JSON object');
  let root: Json = value;
  let prefix = '';
  if (value.schema !== 'ferry-load/1') {
    if (isObject(value.load) && value.load.schema === 'ferry-load/1') {
      root = value.load;
      prefix = 'load.';
    } else if (isObject(value.load)) {
      return fail('load.schema', `is ${JSON.stringify(value.load.schema)}, expected "ferry-load/1"`);
    } else {
      return fail('schema', `is ${JSON.stringify(value.schema)}, expected "ferry-load/1" (or a load result under \`load\`)`);
    }
  }
  const str = (obj: Json, key: string, at: string): void => {
    if (typeof obj[key] !== 'string') fail(`${at}${key}`, `must be a string (got ${JSON.stringify(obj[key]) ?? 'nothing'})`);
  };
  const num = (obj: Json, key: string, at: string, integer = false): void => {
    const v = obj[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && (!Number.isInteger(v) || v < 0))) {
      fail(`${at}${key}`, `must be ${integer ? 'a non-negative integer' : 'a finite number'} (got ${JSON.stringify(v) ?? 'nothing'})`);
    }
  };
  const obj = (parent: Json, key: string, at: string): Json => {
    const v = parent[key];
    return isObject(v) ? v : fail(`${at}${key}`, `must be an object (got ${JSON.stringify(v) ?? 'nothing'})`);
  };
  const arr = (parent: Json, key: string, at: string): unknown[] => {
    const v = parent[key];
    return Array.isArray(v) ? v : fail(`${at}${key}`, `must be an array (got ${v === undefined ? 'nothing' : typeof v})`);
  };
  const validity = (parent: Json, at: string): void => {
    const v = obj(parent, 'validity', at);
    if (typeof v.valid !== 'boolean') fail(`${at}validity.valid`, 'must be true or false');
    arr(v, 'reasons', `${at}validity.`).forEach((r, i) => {
      if (!isObject(r) || typeof r.message !== 'string') fail(`${at}validity.reasons[${i}]`, 'must be an object with a message');
    });
  };
  const histogram = (parent: Json, key: string, at: string): void => {
    const h = obj(parent, key, at);
    try {
      LatencyHistogram.fromJSON(h as unknown as SerializedHistogram);
    } catch (err) {
      fail(`${at}${key}`, `is not a valid serialized histogram (${(err as Error).message})`);
    }
  };

  str(root, 'target', prefix);
  str(root, 'protocol', prefix);
  const generator = obj(root, 'generator', prefix);
  const shard = obj(generator, 'shard', `${prefix}generator.`);
  num(shard, 'count', `${prefix}generator.shard.`, true);
  arr(root, 'points', prefix).forEach((p, i) => {
    const at = `${prefix}points[${i}].`;
    if (!isObject(p)) return fail(`${prefix}points[${i}]`, 'must be an object');
    const load = obj(p, 'load', at);
    if (load.mode === 'open') {
      num(load, 'rate', `${at}load.`);
      str(load, 'process', `${at}load.`);
    } else if (load.mode === 'closed') {
      num(load, 'concurrency', `${at}load.`);
      num(load, 'thinkTimeMs', `${at}load.`);
    } else {
      fail(`${at}load.mode`, `must be "open" or "closed" (got ${JSON.stringify(load.mode) ?? 'nothing'})`);
    }
    const summary = obj(p, 'summary', at);
    const requests = obj(summary, 'requests', `${at}summary.`);
    for (const k of ['ok', 'failed', 'dropped']) num(requests, k, `${at}summary.requests.`, true);
    num(summary, 'throughput', `${at}summary.`);
    num(summary, 'errorRate', `${at}summary.`);
    const latency = obj(summary, 'latencyMs', `${at}summary.`);
    obj(latency, 'corrected', `${at}summary.latencyMs.`);
    validity(p, at);
    arr(p, 'repeats', at).forEach((r, j) => {
      const rat = `${at}repeats[${j}].`;
      if (!isObject(r)) return fail(`${at}repeats[${j}]`, 'must be an object');
      validity(r, rat);
      arr(r, 'windows', rat).forEach((w, k) => {
        if (!isObject(w)) return fail(`${rat}windows[${k}]`, 'must be an object');
        num(obj(w, 'summary', `${rat}windows[${k}].`), 'throughput', `${rat}windows[${k}].summary.`);
      });
    });
    const histograms = obj(p, 'histograms', at);
    histogram(histograms, 'corrected', `${at}histograms.`);
    if (histograms.llm !== undefined) {
      const llm = obj(histograms, 'llm', `${at}histograms.`);
      for (const name of LLM_HISTOGRAMS) if (llm[name] !== undefined) histogram(llm, name, `${at}histograms.llm.`);
    }
  });
  return root as unknown as LoadResult;
}
