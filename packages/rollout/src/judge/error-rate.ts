// Error rates compared on counts, never on a ratio of ratios: the pooled two-proportion z-test, or
// Fisher's exact test when an expected cell count is below 5 (rare errors), one-sided in the
// worse direction (baseline.ts's proportionTest). The floor applies to the rate difference with
// Newcombe's interval; the minimum sample is the two-proportion size for a rise of `detect` over
// stable's rate, smoothed as (errors + ½)/(requests + 1) so that a clean stable still plans a size
// (stable's alone: a worse canary must not raise the bar it is held to).
import { proportionTest } from '@ferry/bench';
import {
  canaryAlternative,
  checkCount,
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
import type { ResolvedErrorRate } from './config.js';
import { finite, fmtAlpha, fmtCount, fmtConfidence, fmtInterval, fmtNum, fmtP, fmtPct, fmtPp, fmtRate } from './format.js';
import { twoProportionSampleSize } from './sample-size.js';
import type { CountData, FloorFacts, Interval, JudgeWindow, StatusCodeShare, TestFacts } from './types.js';

export interface Counts {
  readonly requests: number;
  readonly errors: number;
  readonly statusCodes: Readonly<Record<string, number>> | null;
}

/** Whether a status code matches one of the patterns ("5xx", "429"). */
export function matchesCode(code: string, patterns: readonly string[]): boolean {
  const c = code.trim().toLowerCase();
  return patterns.some((p) => p.length === c.length && [...p].every((ch, i) => ch === 'x' || ch === c[i]));
}

/**
 * One side's counts; undefined when absent or without a request. Requests default to the sum of
 * the status codes, errors to the codes matching `errorCodes`.
 */
export function readCounts(metric: string, side: string, data: CountData | undefined, errorCodes: readonly string[]): Counts | undefined {
  if (data === undefined || data === null) return undefined;
  if (typeof data !== 'object') throw inputError(metric, `${side} counts must be an object with requests and errors`);
  let codes: Record<string, number> | null = null;
  if (data.statusCodes !== undefined) {
    codes = {};
    for (const [code, n] of Object.entries(data.statusCodes)) codes[code] = checkCount(metric, `${side} statusCodes["${code}"]`, n);
  }
  const fromCodes = (pick: (code: string) => boolean): number | undefined =>
    codes === null ? undefined : Object.entries(codes).reduce((a, [code, n]) => a + (pick(code) ? n : 0), 0);
  const requests = data.requests !== undefined ? checkCount(metric, `${side} requests`, data.requests) : fromCodes(() => true);
  const errors = data.errors !== undefined ? checkCount(metric, `${side} errors`, data.errors) : fromCodes((c) => matchesCode(c, errorCodes));
  if (requests === undefined || errors === undefined || requests === 0) return undefined;
  if (errors > requests) throw inputError(metric, `${side} errors (${errors}) exceed requests (${requests})`);
  return { requests, errors, statusCodes: codes };
}

/** The status codes whose share grew most on the canary (at most five, largest rise first). */
function statusCodeShifts(stable: Counts, canary: Counts): StatusCodeShare[] {
  if (!stable.statusCodes || !canary.statusCodes) return [];
  const codes = new Set([...Object.keys(stable.statusCodes), ...Object.keys(canary.statusCodes)]);
  const rows = [...codes].map((code) => {
    const s = stable.statusCodes![code] ?? 0;
    const c = canary.statusCodes![code] ?? 0;
    return { code, stable: s, canary: c, stableShare: s / stable.requests, canaryShare: c / canary.requests };
  });
  return rows.sort((a, b) => b.canaryShare - b.stableShare - (a.canaryShare - a.stableShare) || a.code.localeCompare(b.code)).slice(0, 5);
}

export function prepareErrorRate(m: ResolvedErrorRate, window: JudgeWindow, ctx: CheckContext): PreparedCheck[] {
  const stable = readCounts(m.name, 'stable', window.stable.counts?.[m.source], m.errorCodes);
  const canary = readCounts(m.name, 'canary', window.canary.counts?.[m.source], m.errorCodes);
  const title = m.name === 'error-rate' || m.name === 'errors' ? 'error rate' : `${m.name} error rate`;
  if (!stable || !canary) {
    const side = !stable && !canary ? 'either version' : !stable ? 'stable' : 'canary';
    return [missingCheck({ metric: m.name, kind: 'error-rate', check: 'rate', title, unit: 'fraction', reason: `no requests counted in "${m.source}" from ${side} in this window (missing: ${m.missing})` })];
  }
  const sided = sidedOf(m.direction);
  const rs = stable.errors / stable.requests;
  const rc = canary.errors / canary.requests;
  const p0 = (stable.errors + 0.5) / (stable.requests + 1);
  const p1 = m.direction === 'lower-is-worse' ? Math.max(0, p0 - m.detect) : Math.min(1, p0 + m.detect);
  const planned = p1 === p0 ? 0 : twoProportionSampleSize(p0, p1, ctx.planningAlpha, ctx.power, sided);
  const basis = `two-proportion size for ${fmtRate(p0)} → ${fmtRate(p1)} (stable's rate ${m.direction === 'lower-is-worse' ? '−' : '+'} ${fmtPp(m.detect).slice(1)}), ${sided === 1 ? 'one' : 'two'}-sided ${fmtAlpha(ctx.planningAlpha)}, power ${fmtPct(ctx.power)}`;
  const samples = twoSampleFacts(stable.requests, canary.requests, m.minSamples, planned, ctx, basis);
  const threshold = Math.max(m.floorAbsolute, m.floorRelative * rs);
  const rule = m.floorRelative > 0 ? `max(${fmtPp(m.floorAbsolute).slice(1)}, ${fmtNum(m.floorRelative)} × stable's rate ${fmtRate(rs)})` : `${fmtPp(m.floorAbsolute).slice(1)} absolute`;

  const evaluate = (alpha: number): RowDraft => {
    const conf = intervalConfidence(alpha, sided);
    const alternative = canaryAlternative(m.direction);
    const t = proportionTest(canary.errors, canary.requests, stable.errors, stable.requests, computable(conf) ? conf : 0.95, alternative);
    const significant = alpha > 0 && t.pValue < alpha;
    const interval: Interval | null = conf === null ? null : computable(conf) ? { lower: t.lower, upper: t.upper, confidence: conf } : { lower: null, upper: null, confidence: conf };
    const worse = m.direction === 'higher-is-worse' ? 'higher' : m.direction === 'lower-is-worse' ? 'lower' : rc >= rs ? 'higher' : 'lower';
    const beyond = estimateBeyond(rc - rs, threshold, worse);
    const test: TestFacts = { name: t.test, alternative, z: finite(t.z), pValue: t.pValue, alpha, significant };
    const floor: FloorFacts = { threshold, rule, beyond };
    const rates = `error rate ${fmtRate(rs)} → ${fmtRate(rc)} (${fmtCount(stable.errors)}/${fmtCount(stable.requests)} vs ${fmtCount(canary.errors)}/${fmtCount(canary.requests)}), difference ${fmtPp(rc - rs)}${interval ? ` ${fmtInterval(interval.lower, interval.upper, (x) => fmtPp(x))} at ${fmtConfidence(interval.confidence)}` : ''}`;
    const testText = `${t.test === 'fisher-exact' ? "Fisher's exact" : 'two-proportion z'} ${fmtP(t.pValue)} ${significant ? '<' : '≥'} ${fmtAlpha(alpha)}`;
    const moved = statusCodeShifts(stable, canary);
    const codesText = moved.length > 0 && moved[0]!.canaryShare > moved[0]!.stableShare ? `; largest status-code rise: ${moved[0]!.code} ${fmtRate(moved[0]!.stableShare)} → ${fmtRate(moved[0]!.canaryShare)}` : '';
    let outcome: RowDraft['outcome'];
    let reason: string;
    if (significant && beyond) {
      outcome = 'fail';
      reason = `canary error rate significantly ${worse}: ${rates}; ${testText}; the difference is beyond the floor ${fmtPp(threshold).slice(1)} (${rule})${codesText}`;
    } else if (isShort(samples)) {
      outcome = 'need-data';
      reason = `not enough data: ${sampleText(samples)}; need ${fmtCount(samples.need)} more per version. So far ${rates}; ${testText}`;
    } else if (significant) {
      outcome = 'pass';
      reason = `significantly ${worse} but within the floor: ${rates}, inside ${fmtPp(threshold).slice(1)} (${rule}); ${testText}${codesText}`;
    } else {
      outcome = 'pass';
      reason = `no significant difference: ${rates}; ${testText}`;
    }
    return {
      metric: m.name,
      kind: 'error-rate',
      check: 'rate',
      title,
      outcome,
      reason,
      unit: 'fraction',
      stable: rs,
      canary: rc,
      effect: rc - rs,
      interval,
      test,
      floor,
      limit: null,
      samples,
      detail: {
        counts: { stable: { errors: stable.errors, requests: stable.requests }, canary: { errors: canary.errors, requests: canary.requests } },
        ...(moved.length > 0 ? { statusCodes: moved } : {}),
      },
    };
  };
  return [{ metric: m.name, short: isShort(samples), missing: false, evaluate }];
}
