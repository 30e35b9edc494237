// Summary rows: one comparison each, Ferry beside its anchor, the ratio, the goal and whether it was met.
// The ratio is always the Ferry cell divided by the anchor cell; the goal says which way is good.
import { formatBytes, formatMs, formatRatio, formatSigned, formatThroughput } from './format.ts';
import type { ContenderResult } from './timing.ts';

/** PASS/MISS judge a goal; INFO has none; ERROR means the measurement itself failed (no number to judge). */
export type Status = 'PASS' | 'MISS' | 'INFO' | 'ERROR';

export interface Row {
  readonly suite: string;
  readonly measurement: string;
  readonly ferry: string;
  readonly anchor: string;
  readonly ratio: string;
  readonly goal: string;
  readonly status: Status;
  /** Why a row is ERROR. */
  readonly error?: string | undefined;
  /** The numbers behind the cells, for latest.json. */
  readonly values?: Record<string, number | undefined> | undefined;
}

function failed(suite: string, measurement: string, goal: string, ...results: readonly ContenderResult[]): Row | undefined {
  const bad = results.filter((r) => r.error !== undefined || r.time === undefined);
  if (bad.length === 0) return undefined;
  return {
    suite,
    measurement,
    ferry: '—',
    anchor: '—',
    ratio: '—',
    goal,
    status: 'ERROR',
    error: bad.map((r) => `${r.label}: ${r.error ?? 'no runs'}`).join('; '),
  };
}

export function errorRow(suite: string, measurement: string, error: string): Row {
  return { suite, measurement, ferry: '—', anchor: '—', ratio: '—', goal: '—', status: 'ERROR', error };
}

/** Throughput over the same bytes: ratio = Ferry's bytes/s ÷ the anchor's, from the medians. */
export function throughputRow(a: {
  suite: string;
  measurement: string;
  bytes: number;
  ferry: ContenderResult;
  anchor: ContenderResult;
  minRatio: number;
}): Row {
  const goal = `≥ ${formatRatio(a.minRatio)}`;
  const bad = failed(a.suite, a.measurement, goal, a.ferry, a.anchor);
  if (bad) return bad;
  const f = a.ferry.time!.medianMs;
  const n = a.anchor.time!.medianMs;
  const ratio = n / f;
  return {
    suite: a.suite,
    measurement: a.measurement,
    ferry: formatThroughput(a.bytes, f),
    anchor: `${a.anchor.label} ${formatThroughput(a.bytes, n)}`,
    // A ratio just under the goal must not print as the goal itself.
    ratio: ratio < a.minRatio && formatRatio(ratio) === formatRatio(a.minRatio) ? `${ratio.toFixed(3)}×` : formatRatio(ratio),
    goal,
    status: ratio >= a.minRatio ? 'PASS' : 'MISS',
    values: { bytes: a.bytes, ferryMedianMs: f, ferryMinMs: a.ferry.time!.minMs, anchorMedianMs: n, anchorMinMs: a.anchor.time!.minMs, ratio, goalMinRatio: a.minRatio },
  };
}

/** Wall time of something that should cost little more than its anchor: the goal bounds the difference of the medians. */
export function overheadRow(a: {
  suite: string;
  measurement: string;
  ferry: ContenderResult;
  anchor: ContenderResult;
  maxExtraMs: number;
}): Row {
  const goal = `≤ +${formatMs(a.maxExtraMs)}`;
  const bad = failed(a.suite, a.measurement, goal, a.ferry, a.anchor);
  if (bad) return bad;
  const f = a.ferry.time!.medianMs;
  const n = a.anchor.time!.medianMs;
  return {
    suite: a.suite,
    measurement: a.measurement,
    ferry: formatMs(f),
    anchor: `${a.anchor.label} ${formatMs(n)}`,
    ratio: `${formatRatio(f / n)} (${formatSigned(f - n, formatMs)})`,
    goal,
    status: f - n <= a.maxExtraMs ? 'PASS' : 'MISS',
    values: { ferryMedianMs: f, ferryMinMs: a.ferry.time!.minMs, anchorMedianMs: n, anchorMinMs: a.anchor.time!.minMs, extraMs: f - n, goalMaxExtraMs: a.maxExtraMs },
  };
}

/** Peak RSS of a run beside a baseline run: the goal bounds the growth. */
export function memoryGrowthRow(a: {
  suite: string;
  measurement: string;
  ferry: ContenderResult;
  baseline: ContenderResult;
  baselineLabel: string;
  maxGrowthBytes: number;
}): Row {
  const goal = `≤ +${formatBytes(a.maxGrowthBytes)}`;
  const f = a.ferry.peakRssBytes;
  const b = a.baseline.peakRssBytes;
  if (f === undefined || b === undefined) {
    return failed(a.suite, a.measurement, goal, a.ferry, a.baseline) ?? errorRow(a.suite, a.measurement, 'peak RSS could not be read');
  }
  return {
    suite: a.suite,
    measurement: a.measurement,
    ferry: formatBytes(f),
    anchor: `${a.baselineLabel} ${formatBytes(b)}`,
    ratio: `${formatRatio(f / b)} (${formatSigned(f - b, formatBytes)})`,
    goal,
    status: f - b <= a.maxGrowthBytes ? 'PASS' : 'MISS',
    values: { ferryPeakRssBytes: f, baselinePeakRssBytes: b, growthBytes: f - b, goalMaxGrowthBytes: a.maxGrowthBytes },
  };
}

/** An absolute size against a budget (no anchor). */
export function sizeRow(a: { suite: string; measurement: string; bytes: number; maxBytes: number }): Row {
  return {
    suite: a.suite,
    measurement: a.measurement,
    ferry: formatBytes(a.bytes),
    anchor: '—',
    ratio: '—',
    goal: `≤ ${formatBytes(a.maxBytes)}`,
    status: a.bytes <= a.maxBytes ? 'PASS' : 'MISS',
    values: { bytes: a.bytes, goalMaxBytes: a.maxBytes },
  };
}

/** Time against an absolute budget (`< 100 ms`), beside an anchor for scale: the budget alone decides. */
export function timeBudgetRow(a: { suite: string; measurement: string; ferry: ContenderResult; anchor: ContenderResult; maxMs: number }): Row {
  const goal = `< ${formatMs(a.maxMs)}`;
  const bad = failed(a.suite, a.measurement, goal, a.ferry, a.anchor);
  if (bad) return bad;
  const f = a.ferry.time!.medianMs;
  const n = a.anchor.time!.medianMs;
  return {
    suite: a.suite,
    measurement: a.measurement,
    ferry: formatMs(f),
    anchor: `${a.anchor.label} ${formatMs(n)}`,
    ratio: `${formatRatio(f / n)} (${formatSigned(f - n, formatMs)})`,
    goal,
    status: f < a.maxMs ? 'PASS' : 'MISS',
    values: { ferryMedianMs: f, ferryMinMs: a.ferry.time!.minMs, anchorMedianMs: n, anchorMinMs: a.anchor.time!.minMs, goalMaxMs: a.maxMs },
  };
}

/** Peak RSS against an absolute budget (`< 100 MiB`), beside an anchor's for scale: the budget alone decides. */
export function memoryBudgetRow(a: { suite: string; measurement: string; ferry: ContenderResult; anchor: ContenderResult; maxBytes: number }): Row {
  const goal = `< ${formatBytes(a.maxBytes)}`;
  const f = a.ferry.peakRssBytes;
  const n = a.anchor.peakRssBytes;
  if (f === undefined || n === undefined) {
    return failed(a.suite, a.measurement, goal, a.ferry, a.anchor) ?? errorRow(a.suite, a.measurement, 'peak RSS could not be read');
  }
  return {
    suite: a.suite,
    measurement: a.measurement,
    ferry: formatBytes(f),
    anchor: `${a.anchor.label} ${formatBytes(n)}`,
    ratio: `${formatRatio(f / n)} (${formatSigned(f - n, formatBytes)})`,
    goal,
    status: f < a.maxBytes ? 'PASS' : 'MISS',
    values: { ferryPeakRssBytes: f, anchorPeakRssBytes: n, goalMaxBytes: a.maxBytes },
  };
}

/**
 * Time as a multiple of the anchor's (`≤ 1.30×`): for work that must cost about what the anchor's
 * does, whatever the file size. `goal` undefined makes an INFO row (shown for context, not judged).
 */
export function timeRatioRow(a: { suite: string; measurement: string; ferry: ContenderResult; anchor: ContenderResult; maxRatio?: number | undefined }): Row {
  const goal = a.maxRatio === undefined ? '—' : `≤ ${formatRatio(a.maxRatio)}`;
  const bad = failed(a.suite, a.measurement, goal, a.ferry, a.anchor);
  if (bad) return bad;
  const f = a.ferry.time!.medianMs;
  const n = a.anchor.time!.medianMs;
  const ratio = f / n;
  return {
    suite: a.suite,
    measurement: a.measurement,
    ferry: formatMs(f),
    anchor: `${a.anchor.label} ${formatMs(n)}`,
    // A ratio just over the goal must not print as the goal itself.
    ratio: a.maxRatio !== undefined && ratio > a.maxRatio && formatRatio(ratio) === formatRatio(a.maxRatio) ? `${ratio.toFixed(3)}×` : formatRatio(ratio),
    goal,
    status: a.maxRatio === undefined ? 'INFO' : ratio <= a.maxRatio ? 'PASS' : 'MISS',
    values: { ferryMedianMs: f, ferryMinMs: a.ferry.time!.minMs, anchorMedianMs: n, anchorMinMs: a.anchor.time!.minMs, ratio, goalMaxRatio: a.maxRatio },
  };
}

/** A figure for context only (no anchor, no goal), for example a door's whole run beside a goal row about one part of it. */
export function infoRow(a: { suite: string; measurement: string; ferry: ContenderResult; format: (r: ContenderResult) => string }): Row {
  const bad = failed(a.suite, a.measurement, '—', a.ferry);
  if (bad) return bad;
  return {
    suite: a.suite,
    measurement: a.measurement,
    ferry: a.format(a.ferry),
    anchor: '—',
    ratio: '—',
    goal: '—',
    status: 'INFO',
    values: { ferryMedianMs: a.ferry.time!.medianMs, ferryMinMs: a.ferry.time!.minMs, ferryPeakRssBytes: a.ferry.peakRssBytes },
  };
}
