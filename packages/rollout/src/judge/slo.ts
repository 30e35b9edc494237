// Absolute objectives on the canary (a latency percentile, an error rate), read as a dashboard
// reads them: the canary's observed value against the limit. Stable's value is shown beside it:
// a breach on both versions points at the environment, yet the canary still may not ship through
// it. The minimum sample expects at least 10 "bad" requests at the limit (10/(1 − q) for a
// percentile, 10/limit for a rate); below it, an interval at `confidence` may still settle the
// check: a breach whose interval lies wholly above the limit fails, a pass whose interval lies
// wholly below it passes, anything else needs data.
import { wilsonInterval } from '@ferry/stats';
import { isShort, missingCheck, oneSampleFacts, sampleText, type CheckContext, type PreparedCheck, type RowDraft } from './common.js';
import type { ResolvedSlo } from './config.js';
import { percentileInterval, percentileOf, percentileTriple, readLatency } from './distribution.js';
import { readCounts } from './error-rate.js';
import { fmtConfidence, fmtCount, fmtInterval, fmtMs, fmtNum, fmtRate } from './format.js';
import type { Interval, JudgeWindow, LimitFacts } from './types.js';

function settle(breached: boolean, short: boolean, interval: Interval, limit: number): RowDraft['outcome'] {
  if (!short) return breached ? 'fail' : 'pass';
  if (breached && interval.lower !== null && interval.lower > limit) return 'fail';
  if (!breached && interval.upper !== null && interval.upper <= limit) return 'pass';
  return 'need-data';
}

export function prepareSlo(m: ResolvedSlo, window: JudgeWindow, ctx: CheckContext): PreparedCheck[] {
  const o = m.objective;
  // Not a test: the sample is a floor at every look, not a share of a planned size.
  const flat: CheckContext = { ...ctx, lookShare: 1 };
  if ('percentile' in o) {
    const q = o.percentile;
    const title = `${m.name}: p${fmtNum(q, 4)} ≤ ${fmtMs(o.maxMs)} ms`;
    const canary = readLatency(m.name, 'canary', window.canary.latency?.[m.source]);
    const stable = readLatency(m.name, 'stable', window.stable.latency?.[m.source]);
    if (!canary) {
      return [missingCheck({ metric: m.name, kind: 'slo', check: 'slo', title, unit: 'ms', reason: `no canary latency "${m.source}" in this window (missing: ${m.missing})` })];
    }
    const minBad = Math.ceil(10 / (1 - q / 100));
    const samples = oneSampleFacts(stable?.count ?? null, canary.count, m.minSamples, minBad, flat, `at least 10 requests expected above p${fmtNum(q, 4)}`);
    const evaluate = (): RowDraft => {
      const value = percentileOf(canary, q);
      const stableValue = stable ? percentileOf(stable, q) : null;
      const ci = percentileInterval(canary, q, m.confidence);
      const interval: Interval = { lower: ci.lower, upper: ci.upper, confidence: m.confidence };
      const breached = value > o.maxMs;
      const limit: LimitFacts = { limit: o.maxMs, rule: `p${fmtNum(q, 4)} ≤ ${fmtMs(o.maxMs)} ms on the canary`, breached };
      const outcome = settle(breached, isShort(samples), interval, o.maxMs);
      const values = `canary p${fmtNum(q, 4)} ${fmtMs(value)} ms ${fmtInterval(ci.lower, ci.upper, fmtMs, ' ms')} at ${fmtConfidence(m.confidence)}${stableValue !== null ? ` (stable ${fmtMs(stableValue)} ms${stableValue > o.maxMs ? ', over the limit too' : ''})` : ''}`;
      const reason =
        outcome === 'fail'
          ? `SLO breached: ${values} > ${fmtMs(o.maxMs)} ms${isShort(samples) ? ' (interval wholly above the limit before the minimum sample)' : ''}`
          : outcome === 'pass'
            ? `within the SLO: ${values} ≤ ${fmtMs(o.maxMs)} ms${isShort(samples) ? ' (interval wholly below the limit before the minimum sample)' : ''}`
            : `not enough data: ${sampleText(samples, 'requests', true)}; need ${fmtCount(samples.need)} more. So far ${values}`;
      return {
        metric: m.name,
        kind: 'slo',
        check: 'slo',
        title,
        outcome,
        reason,
        unit: 'ms',
        stable: stableValue,
        canary: value,
        effect: value - o.maxMs,
        interval,
        test: null,
        floor: null,
        limit,
        samples,
        detail: { percentilesMs: { stable: stable ? percentileTriple(stable) : null, canary: percentileTriple(canary) } },
      };
    };
    return [{ metric: m.name, short: isShort(samples), missing: false, evaluate }];
  }

  const max = o.maxErrorRate;
  const title = `${m.name}: error rate ≤ ${fmtRate(max)}`;
  const canary = readCounts(m.name, 'canary', window.canary.counts?.[m.source], m.errorCodes);
  const stable = readCounts(m.name, 'stable', window.stable.counts?.[m.source], m.errorCodes);
  if (!canary) {
    return [missingCheck({ metric: m.name, kind: 'slo', check: 'slo', title, unit: 'fraction', reason: `no canary requests counted in "${m.source}" in this window (missing: ${m.missing})` })];
  }
  const samples = oneSampleFacts(stable?.requests ?? null, canary.requests, m.minSamples, Math.ceil(10 / max), flat, `at least 10 errors expected at the limit`);
  const evaluate = (): RowDraft => {
    const rate = canary.errors / canary.requests;
    const stableRate = stable ? stable.errors / stable.requests : null;
    const w = wilsonInterval(canary.errors, canary.requests, m.confidence);
    const interval: Interval = { lower: w.lower, upper: w.upper, confidence: m.confidence };
    const breached = rate > max;
    const limit: LimitFacts = { limit: max, rule: `error rate ≤ ${fmtRate(max)} on the canary`, breached };
    const outcome = settle(breached, isShort(samples), interval, max);
    const values = `canary error rate ${fmtRate(rate)} (${fmtCount(canary.errors)}/${fmtCount(canary.requests)}) ${fmtInterval(w.lower, w.upper, fmtRate)} at ${fmtConfidence(m.confidence)}${stableRate !== null ? ` (stable ${fmtRate(stableRate)}${stableRate > max ? ', over the limit too' : ''})` : ''}`;
    const reason =
      outcome === 'fail'
        ? `SLO breached: ${values} > ${fmtRate(max)}${isShort(samples) ? ' (interval wholly above the limit before the minimum sample)' : ''}`
        : outcome === 'pass'
          ? `within the SLO: ${values} ≤ ${fmtRate(max)}${isShort(samples) ? ' (interval wholly below the limit before the minimum sample)' : ''}`
          : `not enough data: ${sampleText(samples, 'requests', true)}; need ${fmtCount(samples.need)} more. So far ${values}`;
    return {
      metric: m.name,
      kind: 'slo',
      check: 'slo',
      title,
      outcome,
      reason,
      unit: 'fraction',
      stable: stableRate,
      canary: rate,
      effect: rate - max,
      interval,
      test: null,
      floor: null,
      limit,
      samples,
      detail: { counts: { stable: stable ? { errors: stable.errors, requests: stable.requests } : null, canary: { errors: canary.errors, requests: canary.requests } } },
    };
  };
  return [{ metric: m.name, short: isShort(samples), missing: false, evaluate }];
}
