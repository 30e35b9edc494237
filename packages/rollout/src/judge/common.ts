// What every check shares: the context of an analysis, the prepared-check protocol (sample sizes
// first, tests second, so that the spending choice never depends on a test), and row helpers.
import { InputError } from '@ferry/core';
import type { Alternative } from '@ferry/stats';
import { fmtCount } from './format.js';
import { effectiveSize, morePerVersion } from './sample-size.js';
import type { CheckName, CheckRow, Direction, MetricKind, SampleFacts } from './types.js';

export interface CheckContext {
  /** Power the minimum samples are planned for. */
  readonly power: number;
  /** Nominal alpha per test at the plan's final analysis. */
  readonly planningAlpha: number;
  /** Share of the planned sample due by this look: k/K. */
  readonly lookShare: number;
}

/** A row before the judge maps its outcome to a verdict. */
export type RowDraft = Omit<CheckRow, 'verdict'>;

/**
 * A check with its data read and its sample sizes known, before any test has run. `short`: below
 * its minimum sample at this look; `missing`: no data on a side.
 */
export interface PreparedCheck {
  readonly metric: string;
  readonly short: boolean;
  readonly missing: boolean;
  /** Runs the check with this analysis's nominal alpha per test. */
  evaluate(alpha: number): RowDraft;
}

export function inputError(metric: string, message: string): InputError {
  return new InputError(`canary judge: metric "${metric}": ${message}`, { subject: metric });
}

/** One-sided for a single worse direction, two-sided for `either`. */
export function sidedOf(direction: Direction): 1 | 2 {
  return direction === 'either' ? 2 : 1;
}

/** The alternative of a test of canary against stable (the canary named first). */
export function canaryAlternative(direction: Direction): Alternative {
  return direction === 'higher-is-worse' ? 'greater' : direction === 'lower-is-worse' ? 'less' : 'two-sided';
}

/**
 * Confidence of the reported interval, so that its worse end is the bound matching the test:
 * 1 − 2α for a one-sided test, 1 − α for a two-sided one; null when alpha is 0.
 */
export function intervalConfidence(alpha: number, sided: 1 | 2): number | null {
  if (!(alpha > 0)) return null;
  return 1 - (sided === 1 ? 2 * alpha : alpha);
}

/**
 * Whether an interval at this confidence can be computed: below 1 in floating point. Early looks
 * can spend an alpha below 1e-16; their interval is reported unbounded (null ends), which keeps
 * the floor from excusing anything.
 */
/**
 * Whether a significant change matters: its estimate lies past the floor on the worse side. The
 * floor is held against the estimate, as Kayenta gates on its effect size, not against the
 * interval: at the α an early look spends (1e-5 and below) the interval spans nearly every value,
 * and on histogram buckets it is a bucket wide, so "the interval within the floor" could almost
 * never hold and every significant wobble, however small, would abort.
 */
export function estimateBeyond(estimate: number, threshold: number, worse: 'higher' | 'lower'): boolean {
  return worse === 'higher' ? estimate > threshold : estimate < -threshold;
}

export function computable(confidence: number | null): confidence is number {
  return confidence !== null && confidence < 1;
}

/** Sample facts of a two-sample check. */
export function twoSampleFacts(stable: number, canary: number, minSamples: number, planned: number, ctx: CheckContext, basis: string): SampleFacts {
  const required = Math.max(minSamples, Math.ceil(ctx.lookShare * planned));
  return {
    stable,
    canary,
    effective: effectiveSize(stable, canary),
    required,
    planned: Math.max(minSamples, planned),
    need: morePerVersion(stable, canary, required),
    basis,
  };
}

/** Sample facts of a one-sample check (the canary's own sample, or paired requests). */
export function oneSampleFacts(stable: number | null, n: number, minSamples: number, planned: number, ctx: CheckContext, basis: string): SampleFacts {
  const required = Math.max(minSamples, Math.ceil(ctx.lookShare * planned));
  return { stable, canary: n, effective: n, required, planned: Math.max(minSamples, planned), need: Math.max(0, required - n), basis };
}

export function isShort(s: SampleFacts): boolean {
  return s.need > 0;
}

/** "120 / 95 requests (stable / canary, effective 107), 371 needed at this look (…)". */
export function sampleText(s: SampleFacts, what = 'requests', canaryOnly = false): string {
  const sides =
    canaryOnly || s.stable === null || s.stable === s.canary
      ? `${fmtCount(s.canary ?? 0)} ${canaryOnly ? 'canary ' : ''}${what}`
      : `${fmtCount(s.stable)} / ${fmtCount(s.canary ?? 0)} ${what} (stable / canary, effective ${fmtCount(s.effective ?? 0)})`;
  const plan = s.required === s.planned ? `(${s.basis})` : `(${fmtCount(s.planned ?? 0)} by the final look: ${s.basis})`;
  return `${sides}, ${fmtCount(s.required ?? 0)} needed at this look ${plan}`;
}

export interface MissingRowInput {
  readonly metric: string;
  readonly kind: MetricKind;
  readonly check: CheckName;
  readonly title: string;
  readonly unit: CheckRow['unit'];
  readonly reason: string;
  readonly stable?: number | null;
  readonly canary?: number | null;
}

/** A prepared check for a metric without data on a side. */
export function missingCheck(m: MissingRowInput): PreparedCheck {
  const draft: RowDraft = {
    metric: m.metric,
    kind: m.kind,
    check: m.check,
    title: m.title,
    outcome: 'missing',
    reason: m.reason,
    unit: m.unit,
    stable: null,
    canary: null,
    effect: null,
    interval: null,
    test: null,
    floor: null,
    limit: null,
    samples: { stable: m.stable ?? null, canary: m.canary ?? null, effective: null, required: null, planned: null, need: 0, basis: 'no data' },
    detail: {},
  };
  return { metric: m.metric, short: false, missing: true, evaluate: () => draft };
}

/** Checks a non-negative integer count. */
export function checkCount(metric: string, what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw inputError(metric, `${what} must be a non-negative integer, got ${JSON.stringify(v) ?? String(v)}`);
  }
  return v;
}
