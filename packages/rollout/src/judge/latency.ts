// Latency: canary against stable as whole distributions, as Kayenta's judge and Ferry's baseline
// comparison do, plus the upper tails, where a Mann–Whitney test is blind (a canary with the same
// median and a heavier tail has P(canary > stable) = ½).
// - shift: one-sided Mann–Whitney U (binned over the shared buckets when histograms, exact ranks
//   when raw samples) with the Hodges–Lehmann shift and its interval.
// - tail pXX: the canary requests above stable's pXX bucket (baseline.ts's tailCounts), tested
//   with the exact exceedance test (exceedance.ts: the threshold comes from stable's own sample,
//   which a two-proportion test ignores); the floor applies to the pXX difference, with an
//   interval from distribution-free percentile intervals.
// A significant slow-down aborts unless its interval shows it within the floor. The minimum sample
// is planned for a multiplicative slow-down of `detect` on a lognormal with stable's log spread.
import { shareBins, tailCounts, type LatencyHistogram, type SharedBins } from '@ferry/bench';
import { exceedanceTest } from './exceedance.js';
import { hodgesLehmannBinned, hodgesLehmannSorted, mannWhitneyBinned, mannWhitneyUSorted, normalCdf, normalQuantile, type Alternative } from '@ferry/stats';
import {
  canaryAlternative,
  computable,
  estimateBeyond,
  inputError,
  intervalConfidence,
  isShort,
  missingCheck,
  sampleText,
  sidedOf,
  twoSampleFacts,
  type CheckContext,
  type PreparedCheck,
  type RowDraft,
} from './common.js';
import type { ResolvedLatency } from './config.js';
import { binnedSides, countAboveSamples, percentileInterval, percentileOf, percentileTriple, readLatency, toHistogram, type Dist } from './distribution.js';
import { finite, fmtAlpha, fmtCount, fmtConfidence, fmtInterval, fmtMs, fmtNum, fmtP, fmtPct, fmtRate, fmtSignedMs, fmtSignedPct } from './format.js';
import { logSpreadFromQuartiles, lognormalSuperiority, noetherSampleSize, twoProportionSampleSize } from './sample-size.js';
import type { FloorFacts, Interval, JudgeWindow, TestFacts } from './types.js';

type Pair = (
  | { readonly kind: 'binned'; readonly stable: Dist; readonly canary: Dist; readonly bins: SharedBins; readonly hs: LatencyHistogram; readonly hc: LatencyHistogram }
  | { readonly kind: 'raw'; readonly stable: Dist & { kind: 'samples' }; readonly canary: Dist & { kind: 'samples' } }
) & {
  /** Stable's log-scale spread from its quartiles, for planning. */
  readonly sigma: number;
};

function withSigma<T extends { stable: Dist }>(p: T): T & { sigma: number } {
  return { ...p, sigma: logSpreadFromQuartiles(percentileOf(p.stable, 25), percentileOf(p.stable, 75)) };
}

function pairOf(m: ResolvedLatency, stable: Dist, canary: Dist): Pair {
  if (stable.kind === 'samples' && canary.kind === 'samples') return withSigma({ kind: 'raw' as const, stable, canary });
  const like = stable.kind === 'histogram' ? stable.histogram : (canary as Dist & { kind: 'histogram' }).histogram;
  const hs = toHistogram(stable, like);
  const hc = toHistogram(canary, like);
  const a = hs.config;
  const b = hc.config;
  if (a.significantDigits !== b.significantDigits || a.highestMicros !== b.highestMicros) {
    const text = (c: typeof a): string => `${c.significantDigits} significant digits up to ${c.highestMicros} µs`;
    throw inputError(m.name, `histogram layouts differ (stable ${text(a)}, canary ${text(b)}): the buckets cannot be compared one to one`);
  }
  const bins = shareBins(hs, hc);
  // Percentiles by binary search over the shared buckets, as the histograms would give them.
  const sides = binnedSides(bins, hs, hc, { stable: stable.dropped, canary: canary.dropped });
  return withSigma({ kind: 'binned' as const, stable: sides.stable, canary: sides.canary, bins, hs, hc });
}

function mwAlternative(direction: ResolvedLatency['direction']): Alternative {
  // mannWhitney(x = stable, y = canary): 'less' asks whether stable is smaller, i.e. canary higher.
  return direction === 'higher-is-worse' ? 'less' : direction === 'lower-is-worse' ? 'greater' : 'two-sided';
}

function shiftCheck(m: ResolvedLatency, pair: Pair, ctx: CheckContext): PreparedCheck {
  const { stable, canary } = pair;
  const sp = percentileTriple(stable);
  const cp = percentileTriple(canary);
  const sigma = pair.sigma;
  const sided = sidedOf(m.direction);
  const superiority = lognormalSuperiority(m.detect, sigma);
  const planned = noetherSampleSize(superiority, ctx.planningAlpha, ctx.power, sided);
  const basis = `Noether for a ${fmtPct(m.detect)} slow-down (P(canary > stable) = ${fmtNum(superiority, 3)} on a lognormal with stable's log spread σ = ${fmtNum(sigma, 2)}), ${sided === 1 ? 'one' : 'two'}-sided ${fmtAlpha(ctx.planningAlpha)}, power ${fmtPct(ctx.power)}`;
  const samples = twoSampleFacts(stable.count, canary.count, m.minSamples, planned, ctx, basis);
  const threshold = Math.max(m.floorRelative * sp.p50, m.floorAbsoluteMs);
  const rule = `max(${fmtPct(m.floorRelative)} of stable p50 ${fmtMs(sp.p50)} ms, ${fmtNum(m.floorAbsoluteMs)} ms)`;
  const title = `${m.name} shift`;

  const evaluate = (alpha: number): RowDraft => {
    const alternative = mwAlternative(m.direction);
    const conf = intervalConfidence(alpha, sided);
    let pValue: number;
    let z: number | null;
    let superiorityObserved: number;
    let estimate: number;
    let lower: number | null = null;
    let upper: number | null = null;
    if (pair.kind === 'binned') {
      const mw = mannWhitneyBinned(pair.bins.baseline, pair.bins.current, { alternative });
      const hl = hodgesLehmannBinned(pair.bins.values, pair.bins.baseline, pair.bins.current, { confidence: computable(conf) ? conf : 0.95 });
      pValue = mw.pValue;
      z = finite(mw.z);
      superiorityObserved = mw.superiority;
      estimate = hl.estimate;
      if (computable(conf)) {
        lower = finite(hl.lower);
        upper = finite(hl.upper);
      }
    } else {
      const mw = mannWhitneyUSorted(pair.stable.sorted, pair.canary.sorted, { alternative, method: 'auto' });
      const hl = hodgesLehmannSorted(pair.canary.sorted, pair.stable.sorted, { confidence: computable(conf) ? conf : 0.95 });
      pValue = mw.pValue;
      z = finite(mw.z);
      superiorityObserved = 1 - mw.commonLanguageEffect;
      estimate = hl.estimate;
      if (computable(conf)) {
        lower = finite(hl.lower);
        upper = finite(hl.upper);
      }
    }
    const significant = alpha > 0 && pValue < alpha;
    const worse: 'higher' | 'lower' = m.direction === 'higher-is-worse' ? 'higher' : m.direction === 'lower-is-worse' ? 'lower' : superiorityObserved >= 0.5 ? 'higher' : 'lower';
    const beyond = estimateBeyond(estimate, threshold, worse);
    const test: TestFacts = { name: 'mann-whitney', alternative: canaryAlternative(m.direction), z, pValue, alpha, significant };
    const floor: FloorFacts = { threshold, rule, beyond };
    const interval: Interval | null = conf === null ? null : { lower, upper, confidence: conf };
    const rel = sp.p50 > 0 ? ` (${fmtSignedPct(estimate / sp.p50)} of stable p50)` : '';
    const shiftText = `shift ${fmtSignedMs(estimate)}${rel}${interval ? ` ${fmtInterval(lower, upper, fmtMs, ' ms')} at ${fmtConfidence(interval.confidence)}` : ''}, p50 ${fmtMs(sp.p50)} → ${fmtMs(cp.p50)} ms`;
    const testText = `Mann–Whitney ${fmtP(pValue)} ${significant ? '<' : '≥'} ${fmtAlpha(alpha)}`;
    const slower = worse === 'higher' ? 'slower' : 'faster';
    let outcome: RowDraft['outcome'];
    let reason: string;
    if (significant && beyond) {
      outcome = 'fail';
      reason = `canary significantly ${slower}: ${shiftText}; ${testText}; the shift is beyond the floor ±${fmtMs(threshold)} ms (${rule})`;
    } else if (isShort(samples)) {
      outcome = 'need-data';
      reason = `not enough data: ${sampleText(samples)}; need ${fmtCount(samples.need)} more per version. So far ${shiftText}; ${testText}`;
    } else if (significant) {
      outcome = 'pass';
      reason = `significantly ${slower} but within the floor: ${shiftText}, inside ±${fmtMs(threshold)} ms (${rule}); ${testText}`;
    } else {
      outcome = 'pass';
      reason = `no significant difference: ${shiftText}; ${testText}; ${fmtCount(samples.effective ?? 0)} effective requests per version, ${fmtCount(samples.required ?? 0)} needed`;
    }
    return {
      metric: m.name,
      kind: 'latency',
      check: 'shift',
      title,
      outcome,
      reason,
      unit: 'ms',
      stable: sp.p50,
      canary: cp.p50,
      effect: estimate,
      interval,
      test,
      floor,
      limit: null,
      samples,
      detail: {
        percentilesMs: { stable: sp, canary: cp },
        sigmaLog: sigma,
        ...(stable.dropped + canary.dropped > 0 ? { droppedSamples: { stable: stable.dropped, canary: canary.dropped } } : {}),
      },
    };
  };
  return { metric: m.name, short: isShort(samples), missing: false, evaluate };
}

function tailCheck(m: ResolvedLatency, pair: Pair, q: number, ctx: CheckContext): PreparedCheck {
  const { stable, canary } = pair;
  const sq = percentileOf(stable, q);
  const cq = percentileOf(canary, q);
  const sigma = pair.sigma;
  // Planning: a multiplicative slow-down of `detect` moves the share above stable's pXX from
  // 1 − q to 1 − Φ(z_q − ln(1 + detect)/σ) on a lognormal; the exceedance count's null variance is
  // about that of two proportions (2q(1 − q)/n), so their sample size serves.
  const p0 = 1 - q / 100;
  const p1 = 1 - normalCdf(normalQuantile(q / 100) - Math.log1p(m.detect) / sigma);
  const planned = twoProportionSampleSize(p0, Math.min(1, p1), ctx.planningAlpha, ctx.power, 1);
  const basis = `two-proportion size for ${fmtRate(p0)} → ${fmtRate(p1)} above stable p${q} (a ${fmtPct(m.detect)} slow-down on a lognormal with σ = ${fmtNum(sigma, 2)}), one-sided ${fmtAlpha(ctx.planningAlpha)}, power ${fmtPct(ctx.power)}`;
  const samples = twoSampleFacts(stable.count, canary.count, m.minSamples, planned, ctx, basis);
  const threshold = Math.max(m.floorRelative * sq, m.floorAbsoluteMs);
  const rule = `max(${fmtPct(m.floorRelative)} of stable p${q} ${fmtMs(sq)} ms, ${fmtNum(m.floorAbsoluteMs)} ms)`;
  let thresholdMs: number;
  let aboveStable: number;
  let aboveCanary: number;
  if (pair.kind === 'binned') {
    const t = tailCounts(q, pair.hs.count, pair.bins);
    thresholdMs = t.thresholdMs;
    aboveStable = t.aboveBaseline;
    aboveCanary = t.aboveCurrent;
  } else {
    thresholdMs = sq;
    aboveStable = countAboveSamples(pair.stable.sorted, sq);
    aboveCanary = countAboveSamples(pair.canary.sorted, sq);
  }
  const title = `${m.name} p${q} tail`;

  const evaluate = (alpha: number): RowDraft => {
    const conf = intervalConfidence(alpha, 1);
    const t = exceedanceTest(aboveCanary, canary.count, aboveStable, stable.count);
    const significant = alpha > 0 && t.pValue < alpha;
    let interval: Interval | null = null;
    if (conf !== null) {
      // Each percentile at 1 − α two-sided: the difference's ends hold jointly at ≥ 1 − 2α.
      const ci = (d: Dist): { lower: number | null; upper: number | null } => percentileInterval(d, q, 1 - alpha);
      const cs = ci(stable);
      const cc = ci(canary);
      interval = {
        lower: cc.lower === null || cs.upper === null ? null : cc.lower - cs.upper,
        upper: cc.upper === null || cs.lower === null ? null : cc.upper - cs.lower,
        confidence: conf,
      };
    }
    const diff = cq - sq;
    const beyond = estimateBeyond(diff, threshold, 'higher');
    const test: TestFacts = { name: 'exceedance', alternative: 'greater', z: finite(t.z), pValue: t.pValue, alpha, significant };
    const floor: FloorFacts = { threshold, rule, beyond };
    const shares = `${fmtRate(aboveCanary / canary.count)} of canary requests above stable's p${q} bucket (${fmtMs(thresholdMs)} ms) vs ${fmtRate(aboveStable / stable.count)}`;
    const pText = `p${q} ${fmtMs(sq)} → ${fmtMs(cq)} ms (${fmtSignedMs(diff)}${sq > 0 ? `, ${fmtSignedPct(diff / sq)}` : ''}${interval ? ` ${fmtInterval(interval.lower, interval.upper, fmtMs, ' ms')} at ${fmtConfidence(interval.confidence)}` : ''})`;
    const testText = `exceedance test ${fmtP(t.pValue)} ${significant ? '<' : '≥'} ${fmtAlpha(alpha)}`;
    let outcome: RowDraft['outcome'];
    let reason: string;
    if (significant && beyond) {
      outcome = 'fail';
      reason = `canary tail significantly heavier: ${pText}; ${shares}; ${testText}; the rise is beyond the floor ${fmtMs(threshold)} ms (${rule})`;
    } else if (isShort(samples)) {
      outcome = 'need-data';
      reason = `not enough data: ${sampleText(samples)}; need ${fmtCount(samples.need)} more per version. So far ${pText}; ${testText}`;
    } else if (significant) {
      outcome = 'pass';
      reason = `tail significantly heavier but within the floor: ${pText}, inside ${fmtMs(threshold)} ms (${rule}); ${shares}; ${testText}`;
    } else {
      outcome = 'pass';
      reason = `no significantly heavier tail: ${pText}; ${shares}; ${testText}`;
    }
    return {
      metric: m.name,
      kind: 'latency',
      check: 'tail',
      title,
      outcome,
      reason,
      unit: 'ms',
      stable: sq,
      canary: cq,
      effect: diff,
      interval,
      test,
      floor,
      limit: null,
      samples,
      detail: { above: { thresholdMs, stable: aboveStable, canary: aboveCanary }, sigmaLog: sigma },
    };
  };
  return { metric: m.name, short: isShort(samples), missing: false, evaluate };
}

export function prepareLatency(m: ResolvedLatency, window: JudgeWindow, ctx: CheckContext): PreparedCheck[] {
  const stable = readLatency(m.name, 'stable', window.stable.latency?.[m.source]);
  const canary = readLatency(m.name, 'canary', window.canary.latency?.[m.source]);
  if (!stable || !canary) {
    const side = !stable && !canary ? 'either version' : !stable ? 'stable' : 'canary';
    const reason = `no latency "${m.source}" from ${side} in this window (missing: ${m.missing})`;
    return [
      missingCheck({ metric: m.name, kind: 'latency', check: 'shift', title: `${m.name} shift`, unit: 'ms', reason, stable: stable?.count ?? 0, canary: canary?.count ?? 0 }),
      ...m.tails.map((q) =>
        missingCheck({ metric: m.name, kind: 'latency', check: 'tail', title: `${m.name} p${q} tail`, unit: 'ms', reason, stable: stable?.count ?? 0, canary: canary?.count ?? 0 }),
      ),
    ];
  }
  const pair = pairOf(m, stable, canary);
  return [shiftCheck(m, pair, ctx), ...m.tails.map((q) => tailCheck(m, pair, q, ctx))];
}
