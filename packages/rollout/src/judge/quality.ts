// Model quality on paired requests: the same inputs sent to both versions (mirrored or Ferry's
// own paired load), so the outputs compare request by request, which no HTTP metric can show.
// - agreement: the share of requests whose top-1 class (argmax of a score vector; p ≥ ½ for a
//   single probability) or label agrees, with its Wilson interval. Fails when significantly below
//   minAgreement: the exact one-sided binomial test of the disagreements against 1 − minAgreement.
//   The minimum is the one-sample size for an agreement `detect` below the limit.
// - psi: PSI of the top scores (score vectors) or of the label mix (labels), against maxPsi. Two
//   samples of n from one distribution show a PSI of about 2(B − 1)/n by chance (a χ²-type bias
//   over B bins), so the minimum is n ≥ 8(B − 1)/maxPsi, where that bias is at most a quarter of
//   the limit; below it, only a PSI above maxPsi plus the chance level and three of its standard
//   deviations fails.
// - score-delta: canary − stable score on the class stable ranked first, summarised; checked
//   against maxScoreDeltaP95 (p95 of |Δ|) when configured, else reported.
import { categoricalPsi, countCategories, psi, quantile, regularizedIncompleteBeta, wilsonInterval } from '@ferry/stats';
import { computable, inputError, intervalConfidence, isShort, missingCheck, oneSampleFacts, sampleText, type CheckContext, type PreparedCheck, type RowDraft } from './common.js';
import type { ResolvedQuality } from './config.js';
import { fmtAlpha, fmtConfidence, fmtCount, fmtInterval, fmtNum, fmtP, fmtPct, fmtRate } from './format.js';
import { oneProportionSampleSize } from './sample-size.js';
import type { Interval, JudgeWindow, LimitFacts, PairedOutput, ScoreDeltaSummary, TestFacts } from './types.js';

interface Paired {
  readonly n: number;
  readonly agree: number;
  /** Score vectors on both sides: top scores and deltas; otherwise labels. */
  readonly vectors: boolean;
  readonly stableTop: Float64Array;
  readonly canaryTop: Float64Array;
  readonly deltas: Float64Array;
  readonly stableLabels: string[];
  readonly canaryLabels: string[];
}

function isVector(o: PairedOutput): o is readonly number[] {
  return Array.isArray(o);
}

function labelOf(v: readonly number[]): { label: string; top: number; index: number } {
  if (v.length === 1) return { label: v[0]! >= 0.5 ? '1' : '0', top: v[0]!, index: 0 };
  let index = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[index]!) index = i;
  return { label: String(index), top: v[index]!, index };
}

function readPaired(m: ResolvedQuality, stable: readonly PairedOutput[], canary: readonly PairedOutput[]): Paired {
  if (!Array.isArray(stable) || !Array.isArray(canary)) throw inputError(m.name, 'paired outputs must be arrays (stable, canary)');
  if (stable.length !== canary.length) throw inputError(m.name, `paired outputs differ in length (stable ${stable.length}, canary ${canary.length}): pairs must line up request by request`);
  const n = stable.length;
  const vectors = n > 0 && isVector(stable[0]!);
  const stableTop = new Float64Array(vectors ? n : 0);
  const canaryTop = new Float64Array(vectors ? n : 0);
  const deltas = new Float64Array(vectors ? n : 0);
  const stableLabels: string[] = [];
  const canaryLabels: string[] = [];
  let agree = 0;
  for (let i = 0; i < n; i++) {
    const s = stable[i]!;
    const c = canary[i]!;
    if (isVector(s) !== vectors || isVector(c) !== vectors) throw inputError(m.name, `pair ${i}: outputs must all be score vectors or all labels`);
    if (vectors) {
      const sv = s as readonly number[];
      const cv = c as readonly number[];
      if (sv.length === 0 || sv.length !== cv.length) throw inputError(m.name, `pair ${i}: score vectors must be non-empty and of equal length (stable ${sv.length}, canary ${cv.length})`);
      for (const x of [...sv, ...cv]) if (typeof x !== 'number' || !Number.isFinite(x)) throw inputError(m.name, `pair ${i}: scores must be finite numbers`);
      const ls = labelOf(sv);
      const lc = labelOf(cv);
      stableTop[i] = ls.top;
      canaryTop[i] = lc.top;
      deltas[i] = cv[ls.index]! - sv[ls.index]!;
      stableLabels.push(ls.label);
      canaryLabels.push(lc.label);
    } else {
      if (!(typeof s === 'string' || typeof s === 'number') || !(typeof c === 'string' || typeof c === 'number')) {
        throw inputError(m.name, `pair ${i}: a label must be a string or a number`);
      }
      stableLabels.push(String(s));
      canaryLabels.push(String(c));
    }
    if (stableLabels[i] === canaryLabels[i]) agree++;
  }
  return { n, agree, vectors, stableTop, canaryTop, deltas, stableLabels, canaryLabels };
}

/** P(X ≤ agree) for X ~ Binomial(n, a0): the one-sided exact p of agreement below a0. */
export function agreementPValue(agree: number, n: number, a0: number): number {
  const d = n - agree;
  if (d <= 0) return 1;
  // P(D ≥ d) for D ~ Binomial(n, 1 − a0) is I_{1−a0}(d, n − d + 1).
  return Math.min(1, regularizedIncompleteBeta(1 - a0, d, n - d + 1, a0));
}

function agreementCheck(m: ResolvedQuality, p: Paired, ctx: CheckContext): PreparedCheck {
  const a1 = m.minAgreement - m.detect;
  const planned = oneProportionSampleSize(m.minAgreement, a1, ctx.planningAlpha, ctx.power, 1);
  const basis = `one-sample size for agreement ${fmtRate(a1)} against the limit ${fmtRate(m.minAgreement)}, one-sided ${fmtAlpha(ctx.planningAlpha)}, power ${fmtPct(ctx.power)}`;
  const samples = oneSampleFacts(p.n, p.n, m.minSamples, planned, ctx, basis);
  const evaluate = (alpha: number): RowDraft => {
    const rate = p.agree / p.n;
    const pValue = agreementPValue(p.agree, p.n, m.minAgreement);
    const significant = alpha > 0 && pValue < alpha;
    const conf = intervalConfidence(alpha, 1);
    const w = computable(conf) ? wilsonInterval(p.agree, p.n, conf) : null;
    const interval: Interval | null = conf === null ? null : { lower: w ? w.lower : null, upper: w ? w.upper : null, confidence: conf };
    const test: TestFacts = { name: 'binomial-exact', alternative: 'less', z: null, pValue, alpha, significant };
    const limit: LimitFacts = { limit: m.minAgreement, rule: `agreement ≥ ${fmtRate(m.minAgreement)} on paired requests`, breached: significant };
    const values = `agreement ${fmtRate(rate)} (${fmtCount(p.agree)} of ${fmtCount(p.n)} paired requests)${interval ? ` ${fmtInterval(interval.lower, interval.upper, fmtRate)} at ${fmtConfidence(interval.confidence)}` : ''}`;
    const testText = `exact binomial ${fmtP(pValue)} ${significant ? '<' : '≥'} ${fmtAlpha(alpha)}`;
    let outcome: RowDraft['outcome'];
    let reason: string;
    if (significant) {
      outcome = 'fail';
      reason = `canary disagrees with stable: ${values}, significantly below ${fmtRate(m.minAgreement)}; ${testText}`;
    } else if (isShort(samples)) {
      outcome = 'need-data';
      reason = `not enough data: ${sampleText(samples, 'pairs')}; need ${fmtCount(samples.need)} more. So far ${values}; ${testText}`;
    } else {
      outcome = 'pass';
      reason = `${values}; not significantly below ${fmtRate(m.minAgreement)} (${testText})`;
    }
    return {
      metric: m.name,
      kind: 'quality',
      check: 'agreement',
      title: `${m.name} agreement`,
      outcome,
      reason,
      unit: 'fraction',
      stable: null,
      canary: rate,
      effect: rate - m.minAgreement,
      interval,
      test,
      floor: null,
      limit,
      samples,
      detail: { agreement: { agree: p.agree, pairs: p.n } },
    };
  };
  return { metric: m.name, short: isShort(samples), missing: false, evaluate };
}

function psiCheck(m: ResolvedQuality, p: Paired, ctx: CheckContext): PreparedCheck {
  const bins = p.vectors ? m.psiBins : new Set([...p.stableLabels, ...p.canaryLabels]).size;
  const minPairs = m.maxPsi === null ? 0 : Math.ceil((8 * Math.max(1, bins - 1)) / m.maxPsi);
  const flat: CheckContext = { ...ctx, lookShare: 1 };
  const samples = oneSampleFacts(p.n, p.n, m.minSamples, minPairs, flat, `PSI's chance level 2(B − 1)/n at most a quarter of the limit, B = ${bins}`);
  const what = p.vectors ? 'top scores' : 'label mix';
  const evaluate = (): RowDraft => {
    const value = p.vectors ? psi(p.stableTop, p.canaryTop, { bins: m.psiBins }).psi : categoricalPsi(countCategories(p.stableLabels), countCategories(p.canaryLabels)).psi;
    const chance = (2 * Math.max(1, bins - 1)) / p.n;
    const chanceSd = (Math.sqrt(2 * Math.max(1, bins - 1)) * 2) / p.n;
    const text = `PSI of the ${what} ${fmtNum(value, 3)} (chance level about ${fmtNum(chance, 2)} at ${fmtCount(p.n)} pairs)`;
    if (m.maxPsi === null) {
      return row('info', `${text}; no limit configured`, null);
    }
    const breached = value > m.maxPsi;
    const limit: LimitFacts = { limit: m.maxPsi, rule: `PSI of the ${what} ≤ ${fmtNum(m.maxPsi)}`, breached };
    if (breached && (!isShort(samples) || value > m.maxPsi + chance + 3 * chanceSd)) {
      return row('fail', `${what} shifted: ${text} > ${fmtNum(m.maxPsi)}${isShort(samples) ? ' (beyond chance before the minimum sample)' : ''}`, limit);
    }
    if (isShort(samples)) return row('need-data', `not enough data: ${sampleText(samples, 'pairs')}; need ${fmtCount(samples.need)} more. So far ${text}`, limit);
    return row('pass', `${text} ≤ ${fmtNum(m.maxPsi)}`, limit);

    function row(outcome: RowDraft['outcome'], reason: string, limit: LimitFacts | null): RowDraft {
      return {
        metric: m.name,
        kind: 'quality',
        check: 'psi',
        title: `${m.name} PSI (${what})`,
        outcome,
        reason,
        unit: 'psi',
        stable: null,
        canary: value,
        effect: value,
        interval: null,
        test: null,
        floor: null,
        limit,
        samples,
        detail: {},
      };
    }
  };
  return { metric: m.name, short: m.maxPsi !== null && isShort(samples), missing: false, evaluate };
}

export function summariseDeltas(deltas: Float64Array): ScoreDeltaSummary {
  const abs = deltas.map(Math.abs);
  let sum = 0;
  let sumAbs = 0;
  for (let i = 0; i < deltas.length; i++) {
    sum += deltas[i]!;
    sumAbs += abs[i]!;
  }
  return {
    n: deltas.length,
    mean: sum / deltas.length,
    p05: quantile(deltas, 0.05),
    median: quantile(deltas, 0.5),
    p95: quantile(deltas, 0.95),
    meanAbs: sumAbs / deltas.length,
    p95Abs: quantile(abs, 0.95),
    maxAbs: abs.reduce((a, v) => Math.max(a, v), 0),
  };
}

function scoreDeltaCheck(m: ResolvedQuality, p: Paired, ctx: CheckContext): PreparedCheck {
  const flat: CheckContext = { ...ctx, lookShare: 1 };
  const samples = oneSampleFacts(p.n, p.n, m.minSamples, 0, flat, 'the configured minimum');
  const evaluate = (): RowDraft => {
    const s = summariseDeltas(p.deltas);
    const text = `score delta on stable's top class: mean ${fmtNum(s.mean)}, median ${fmtNum(s.median)}, p05..p95 ${fmtNum(s.p05)}..${fmtNum(s.p95)}, p95 |Δ| ${fmtNum(s.p95Abs)}, max |Δ| ${fmtNum(s.maxAbs)}`;
    let outcome: RowDraft['outcome'];
    let reason: string;
    let limit: LimitFacts | null = null;
    if (m.maxScoreDeltaP95 === null) {
      outcome = 'info';
      reason = `${text}; no limit configured`;
    } else {
      const breached = s.p95Abs > m.maxScoreDeltaP95;
      limit = { limit: m.maxScoreDeltaP95, rule: `p95 |score delta| ≤ ${fmtNum(m.maxScoreDeltaP95)}`, breached };
      if (isShort(samples)) {
        outcome = 'need-data';
        reason = `not enough data: ${sampleText(samples, 'pairs')}; need ${fmtCount(samples.need)} more. So far ${text}`;
      } else {
        outcome = breached ? 'fail' : 'pass';
        reason = breached ? `scores moved: ${text} > ${fmtNum(m.maxScoreDeltaP95)}` : `${text} ≤ ${fmtNum(m.maxScoreDeltaP95)}`;
      }
    }
    return {
      metric: m.name,
      kind: 'quality',
      check: 'score-delta',
      title: `${m.name} score delta`,
      outcome,
      reason,
      unit: 'score',
      stable: null,
      canary: s.p95Abs,
      effect: s.p95Abs,
      interval: null,
      test: null,
      floor: null,
      limit,
      samples,
      detail: { scoreDelta: s },
    };
  };
  return { metric: m.name, short: m.maxScoreDeltaP95 !== null && isShort(samples), missing: false, evaluate };
}

export function prepareQuality(m: ResolvedQuality, window: JudgeWindow, ctx: CheckContext): PreparedCheck[] {
  const data = window.paired?.[m.source];
  const p = data ? readPaired(m, data.stable, data.canary) : undefined;
  if (!p || p.n === 0) {
    return [
      missingCheck({
        metric: m.name,
        kind: 'quality',
        check: 'agreement',
        title: `${m.name} agreement`,
        unit: 'fraction',
        reason: `no paired outputs "${m.source}" in this window (missing: ${m.missing})`,
      }),
    ];
  }
  const checks = [agreementCheck(m, p, ctx), psiCheck(m, p, ctx)];
  if (p.vectors) checks.push(scoreDeltaCheck(m, p, ctx));
  return checks;
}
