// The canary judge's vocabulary: what it is configured with, what it is given per analysis
// window, and the plain-data judgement it returns (JSON-serialisable: no Infinity, no NaN; an
// unbounded interval end is null).
import type { LatencyHistogram, SerializedHistogram } from '@ferry/bench';
import type { Alternative } from '@ferry/stats';

/** Which way a metric gets worse. Only a worse canary aborts; `either` tests both ways. */
export type Direction = 'higher-is-worse' | 'lower-is-worse' | 'either';

/** What a metric with no data on a side does to the look. Never a pass. */
export type MissingPolicy = 'fail' | 'extend' | 'inconclusive';

/**
 * The look's decision. `continue`: every check passes with enough data (at the final look the
 * caller promotes). `extend`: bake this step longer and judge again. `abort`: a check failed.
 * `inconclusive`: the judge cannot decide (missing data with that policy, or out of extensions
 * before the minimum sample); the caller decides between abort and hold.
 */
export type Decision = 'continue' | 'extend' | 'abort' | 'inconclusive';

export type MetricKind = 'latency' | 'error-rate' | 'slo' | 'quality';

interface MetricBase {
  /** Unique name; also the default `source`. */
  readonly name: string;
  /** Key of the data in the window (`latency`, `counts` or `paired`); default `name`. */
  readonly source?: string;
  /** Default `extend`. */
  readonly missing?: MissingPolicy;
  /** An absolute minimum sample per version, on top of the planned one (defaults per kind). */
  readonly minSamples?: number;
}

export interface LatencyMetricConfig extends MetricBase {
  readonly kind: 'latency';
  /** Default `higher-is-worse`. */
  readonly direction?: Direction;
  /**
   * Effect floor: a significant shift is tolerated only when its interval shows it is within
   * max(relative × stable's p50, absoluteMs) (for a tail, of stable's percentile). Default 10%, 0.5 ms.
   */
  readonly floor?: { readonly relative?: number; readonly absoluteMs?: number };
  /** Relative (multiplicative) slow-down the minimum sample is planned to catch; default 2 × floor.relative. */
  readonly detect?: number;
  /**
   * Upper-tail percentiles tested besides the whole distribution: the share of canary requests
   * above stable's percentile bucket (default [95]; [] for none). Ignored for `lower-is-worse`.
   */
  readonly tails?: readonly number[];
}

export interface ErrorRateMetricConfig extends MetricBase {
  readonly kind: 'error-rate';
  /** Default `higher-is-worse`. */
  readonly direction?: Direction;
  /**
   * Effect floor on canary − stable rate: max(absolute, relative × stable's rate); default 0.005
   * (0.5 percentage points), relative 0.
   */
  readonly floor?: { readonly absolute?: number; readonly relative?: number };
  /** Absolute rate increase the minimum sample is planned to catch; default 2 × floor.absolute. */
  readonly detect?: number;
  /** Status codes that count as errors when the counts carry status codes only ("5xx", "429"); default ["5xx"]. */
  readonly errorCodes?: readonly string[];
}

/** An absolute objective on the canary: a latency percentile or an error rate. */
export type SloObjective =
  | { readonly percentile: number; readonly maxMs: number }
  | { readonly maxErrorRate: number };

export interface SloMetricConfig extends MetricBase {
  readonly kind: 'slo';
  readonly objective: SloObjective;
  /** Confidence of the interval that may settle an SLO below its minimum sample (default 0.95). */
  readonly confidence?: number;
  /** As for error-rate metrics (error-rate objectives only). */
  readonly errorCodes?: readonly string[];
}

export interface QualityMetricConfig extends MetricBase {
  readonly kind: 'quality';
  /** Lowest acceptable top-1/label agreement on paired requests (default 0.99). */
  readonly minAgreement?: number;
  /** Agreement drop below minAgreement the minimum sample is planned to catch; default 1 − minAgreement. */
  readonly detect?: number;
  /** Highest acceptable PSI of the top scores (default 0.2); null: report only. */
  readonly maxPsi?: number | null;
  /** Reference-quantile bins of the PSI (default 10). */
  readonly psiBins?: number;
  /** Highest acceptable p95 of |score delta| on stable's top class; absent: report only. */
  readonly maxScoreDeltaP95?: number;
}

export type MetricConfig = LatencyMetricConfig | ErrorRateMetricConfig | SloMetricConfig | QualityMetricConfig;

export interface JudgeConfig {
  /**
   * Family-wise false-abort budget: the chance that a canary no worse than stable is aborted by
   * any statistical check at any look is at most alpha (default 0.01).
   */
  readonly alpha?: number;
  /** Power the minimum sample is planned for at the final look (default 0.9). */
  readonly power?: number;
  /** Extensions allowed per look (default 2). */
  readonly maxExtensions?: number;
  readonly metrics: readonly MetricConfig[];
}

/** Which analysis this is in the plan. Windows are cumulative since the canary started. */
export interface JudgeLook {
  /** 1-based look (analysed step) k. */
  readonly index: number;
  /** Planned looks K. */
  readonly count: number;
  /** Extensions already used at this look (0 the first time it is judged). */
  readonly extension?: number;
  /**
   * Information fraction of this analysis and of the previous one, for plans that spend alpha by
   * data (cumulative n ÷ planned n). Default: the look grid (see spending.ts).
   */
  readonly fraction?: number;
  readonly previousFraction?: number;
}

/** Latency in ms: a histogram (live or serialized) or raw samples. */
export type LatencyData = LatencyHistogram | SerializedHistogram | readonly number[];

/** Requests and errors; with status codes only, requests and errors are counted from them. */
export interface CountData {
  readonly requests?: number;
  readonly errors?: number;
  /** Requests by status code ("200", "503"). */
  readonly statusCodes?: Readonly<Record<string, number>>;
}

/** One version's observations over the window, keyed by metric source. */
export interface VersionData {
  readonly latency?: Readonly<Record<string, LatencyData | undefined>>;
  readonly counts?: Readonly<Record<string, CountData | undefined>>;
}

/** A model output: a label (string or class id) or a score vector (length 1: a binary probability). */
export type PairedOutput = string | number | readonly number[];

/** Outputs of both versions on the same inputs, in the same order. */
export interface PairedOutputs {
  readonly stable: readonly PairedOutput[];
  readonly canary: readonly PairedOutput[];
}

export interface JudgeWindow {
  readonly stable: VersionData;
  readonly canary: VersionData;
  readonly paired?: Readonly<Record<string, PairedOutputs | undefined>>;
}

// ---------------------------------------------------------------------------------------------
// The judgement

export type CheckName = 'shift' | 'tail' | 'rate' | 'slo' | 'agreement' | 'psi' | 'score-delta';

/**
 * pass: no evidence against the canary with enough data. fail: the check aborts. need-data:
 * below its minimum sample and not failed. missing: no data on a side (the policy decides).
 * info: reported, decides nothing.
 */
export type CheckOutcome = 'pass' | 'fail' | 'need-data' | 'missing' | 'info';

export type TestName = 'mann-whitney' | 'exceedance' | 'two-proportion-z' | 'fisher-exact' | 'binomial-exact';

export interface Interval {
  /** null: unbounded. */
  readonly lower: number | null;
  readonly upper: number | null;
  readonly confidence: number;
}

export interface TestFacts {
  readonly name: TestName;
  /** Of canary against stable: `greater` asks whether the canary is higher. */
  readonly alternative: Alternative;
  /** z of the test (null for exact tests or when undefined). */
  readonly z: number | null;
  readonly pValue: number;
  /** This analysis's nominal alpha for the check. */
  readonly alpha: number;
  /** p < alpha. */
  readonly significant: boolean;
}

export interface FloorFacts {
  /** Size an effect must be shown to stay within, in the row's unit. */
  readonly threshold: number;
  /** How the threshold was set, in words. */
  readonly rule: string;
  /** Whether the estimated effect lies past the threshold on the worse side (a significant one then fails). */
  readonly beyond: boolean;
}

export interface LimitFacts {
  /** The absolute limit (SLO, agreement, PSI, score delta), in the row's unit. */
  readonly limit: number;
  readonly rule: string;
  readonly breached: boolean;
}

export interface SampleFacts {
  /** Per version (pairs for quality, on both sides). */
  readonly stable: number | null;
  readonly canary: number | null;
  /** 2·n₁·n₂/(n₁ + n₂): the equal-size sample with the same precision. */
  readonly effective: number | null;
  /** Needed at this look: max(minimum, look share × planned). */
  readonly required: number | null;
  /** Needed at the final look. */
  readonly planned: number | null;
  /** More requests per version (pairs) needed to reach `required`; 0 when enough. */
  readonly need: number;
  /** How `planned` was reached, in words. */
  readonly basis: string;
}

export interface StatusCodeShare {
  readonly code: string;
  readonly stable: number;
  readonly canary: number;
  readonly stableShare: number;
  readonly canaryShare: number;
}

export interface ScoreDeltaSummary {
  readonly n: number;
  readonly mean: number;
  readonly p05: number;
  readonly median: number;
  readonly p95: number;
  readonly meanAbs: number;
  readonly p95Abs: number;
  readonly maxAbs: number;
}

/** Figures a row carries beyond the common columns. */
export interface RowDetail {
  readonly percentilesMs?: {
    readonly stable: { readonly p50: number; readonly p95: number; readonly p99: number } | null;
    readonly canary: { readonly p50: number; readonly p95: number; readonly p99: number } | null;
  };
  /** Tail rows: requests above stable's percentile bucket. */
  readonly above?: { readonly thresholdMs: number; readonly stable: number; readonly canary: number };
  /** Latency rows: the log-scale spread of stable used to plan the sample. */
  readonly sigmaLog?: number;
  readonly counts?: { readonly stable: { readonly errors: number; readonly requests: number } | null; readonly canary: { readonly errors: number; readonly requests: number } };
  /** Status codes whose share grew most on the canary (error-rate rows with status codes). */
  readonly statusCodes?: readonly StatusCodeShare[];
  readonly agreement?: { readonly agree: number; readonly pairs: number };
  readonly scoreDelta?: ScoreDeltaSummary;
  /** Raw samples dropped because they were not finite numbers. */
  readonly droppedSamples?: { readonly stable: number; readonly canary: number };
}

export interface CheckRow {
  /** The metric's configured name. */
  readonly metric: string;
  readonly kind: MetricKind;
  readonly check: CheckName;
  /** "latency shift", "latency p95 tail", "error rate", "SLO p95 ≤ 300 ms", "agreement". */
  readonly title: string;
  readonly outcome: CheckOutcome;
  /** What this row asks of the look. */
  readonly verdict: Decision;
  /** One sentence with the numbers behind the outcome. */
  readonly reason: string;
  readonly unit: 'ms' | 'fraction' | 'psi' | 'score';
  /** The figure a reader compares (p50, the percentile, the rate, the agreement, the PSI). */
  readonly stable: number | null;
  readonly canary: number | null;
  /** The effect: HL shift (ms), percentile difference (ms), rate difference, agreement, PSI, p95 |Δ|. */
  readonly effect: number | null;
  /** Interval of the effect; two-sided at 1 − 2α for one-sided tests (its worse end is a one-sided 1 − α bound). */
  readonly interval: Interval | null;
  readonly test: TestFacts | null;
  readonly floor: FloorFacts | null;
  readonly limit: LimitFacts | null;
  readonly samples: SampleFacts;
  readonly detail: RowDetail;
}

export interface SpendingFacts {
  readonly method: 'lan-demets-obrien-fleming';
  /** The family-wise budget. */
  readonly alpha: number;
  /** Statistical checks sharing it equally (Bonferroni); fixed by the configuration. */
  readonly tests: number;
  readonly alphaPerTest: number;
  /** Information fraction of this analysis and the previous one. */
  readonly fraction: number;
  readonly previousFraction: number;
  /** Per test: α(previousFraction), α(fraction) and their difference, this analysis's nominal alpha. */
  readonly spentBefore: number;
  readonly spentAfter: number;
  readonly nominal: number;
  /** Nominal alpha per test at the plan's final analysis, which the minimum samples are planned for. */
  readonly planningAlpha: number;
}

export interface Need {
  /** More requests (pairs) per version the largest shortfall needs. */
  readonly perVersion: number;
  readonly metric: string;
  readonly title: string;
}

export const JUDGEMENT_SCHEMA = 'ferry-canary-judgement/1';

export interface Judgement {
  readonly schema: typeof JUDGEMENT_SCHEMA;
  readonly decision: Decision;
  /** The plan's last analysis: `continue` here means promote. */
  readonly final: boolean;
  /** One line for a human, with the numbers that decided. */
  readonly headline: string;
  readonly look: {
    readonly index: number;
    readonly count: number;
    readonly extension: number;
    readonly maxExtensions: number;
    /** No further analysis can happen at this look (enough data, or out of extensions). */
    readonly lastAtLook: boolean;
  };
  readonly spending: SpendingFacts;
  /** The largest shortfall (null when every check has its minimum sample). */
  readonly need: Need | null;
  readonly rows: readonly CheckRow[];
  readonly counts: Readonly<Record<CheckOutcome, number>>;
}
