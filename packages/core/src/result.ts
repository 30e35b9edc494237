// The structured result every step returns; platforms render it, the engine never formats for one.
import type { StepName } from './steps/common.js';

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';
export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'info'];

/** Something a reviewer should see next to the file it concerns. */
export interface Finding {
  readonly severity: Severity;
  /** Stable rule identifier, for example `pickle/dangerous-global`. */
  readonly rule: string;
  readonly message: string;
  /** Path relative to the working directory. */
  readonly file?: string;
  readonly line?: number;
}

export type ReportBlock =
  | { readonly kind: 'paragraph'; readonly text: string }
  | { readonly kind: 'table'; readonly columns: readonly string[]; readonly rows: readonly (readonly string[])[] }
  | { readonly kind: 'list'; readonly items: readonly string[] }
  | { readonly kind: 'code'; readonly language: string; readonly text: string }
  | { readonly kind: 'keyvalue'; readonly entries: readonly (readonly [string, string])[] }
  /** A chart; `mermaid` is rendered on GitHub and GitLab, the HTML report draws `data` itself. */
  | { readonly kind: 'chart'; readonly title: string; readonly mermaid: string };

export interface ReportSection {
  readonly heading: string;
  readonly blocks: readonly ReportBlock[];
}

/** A gate or check with the numbers it used, so the report explains every decision. */
export interface GateResult {
  readonly name: string;
  readonly passed: boolean;
  readonly value: string;
  readonly threshold: string;
  readonly detail?: string;
}

/** Latency and request figures of a load run, in the shape the k6 summary (GitLab load_performance) needs. */
export interface LoadPerformance {
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
  readonly avgMs: number;
  readonly minMs: number;
  /** Requests sent per second. */
  readonly rps: number;
  readonly requests: number;
  readonly failures: number;
}

export interface StepResult<O extends Record<string, string> = Record<string, string>> {
  readonly step: StepName;
  readonly verdict: Verdict;
  /** One line saying why, shown first everywhere. */
  readonly headline: string;
  readonly outputs: O;
  readonly report: readonly ReportSection[];
  readonly findings: readonly Finding[];
  readonly gates: readonly GateResult[];
  /** Numeric results for metrics reports (OpenMetrics, k6 summary); names are snake_case. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Set by steps that send load: written as GitLab's load_performance report. */
  readonly loadPerformance?: LoadPerformance;
  /** Plain data behind the report (a canary's judgement at every look), for reports drawn from JSON. */
  readonly details?: Readonly<Record<string, unknown>>;
  readonly durationMs: number;
}

export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  for (const f of findings) counts[f.severity] += 1;
  return counts;
}
