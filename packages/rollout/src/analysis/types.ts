// Where the judge's data comes from. A source turns "stable and canary over this window" into a
// JudgeWindow: latency, request/error counts and, where it can, paired model outputs. A source
// that cannot be reached throws AnalysisUnavailableError; a series with no data is left out of
// the window, so the judge's missing-data policy applies. Neither ever reads as a pass.
import type { JudgeWindow } from '../judge/types.js';
import type { VersionRef } from '../target/types.js';

/** The keys sources fill in a JudgeWindow, and the default judge metrics read. */
export const LATENCY_KEY = 'latency';
export const COUNTS_KEY = 'requests';
export const PAIRED_KEY = 'outputs';

export interface AnalysisVersions {
  readonly stable: VersionRef;
  readonly canary: VersionRef;
}

/** Epoch milliseconds, start inclusive. */
export interface TimeWindow {
  readonly startMs: number;
  readonly endMs: number;
}

export interface AnalysisSource {
  /** `prometheus`, `synthetic`. */
  readonly kind: string;
  /** For the report: "Prometheus at http://…", "paired synthetic load, 20 req/s per version". */
  readonly description: string;
  /**
   * Begins whatever the source drives itself (synthetic load sends from here on), so data
   * accrues while the step bakes. Sources that only read (Prometheus) do nothing.
   */
  start(versions: AnalysisVersions, signal: AbortSignal): Promise<void>;
  /** Both versions' data over `window`. */
  collect(versions: AnalysisVersions, window: TimeWindow, signal: AbortSignal): Promise<JudgeWindow>;
  /** Stops anything the source started; safe to call twice. */
  close(): Promise<void>;
}

/** The metrics backend (or the versions, for synthetic load) cannot be reached: never a pass. */
export class AnalysisUnavailableError extends Error {
  override readonly name = 'AnalysisUnavailableError';
}
