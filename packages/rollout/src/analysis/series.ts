// From Prometheus range-query series to the judge's data: each counter's increase over the window
// (computed here from the raw points, not with increase(), which extrapolates to the window's ends
// and so never returns whole request counts), then summed per status code, or per histogram
// bucket and turned into a latency histogram.
import { InputError } from '@ferry/core';
import { LatencyHistogram } from '@ferry/bench';
import type { CountData } from '../judge/types.js';

/** One series of a `/api/v1/query_range` matrix: [unix seconds, value as text] points, in time order. */
export interface RangeSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly values: readonly (readonly [number, string])[];
}

/**
 * A counter's increase over the points: the sum of rises between successive points, where a drop
 * means the counter restarted from zero (a process restart), so the new value is all increase.
 * A series whose first point comes after `fromMs` (the first evaluation of the range) did not exist
 * when the window began: it started at zero inside it, so its first value is increase too. That is
 * how `ferry serve` creates a status code's counter, on its first request with that code; without
 * this, the first errors of a canary would go uncounted. (It assumes Prometheus was already scraping
 * the target when the window began: a target first scraped mid-window would bring its history in.)
 */
export function counterIncrease(values: RangeSeries['values'], fromMs: number): number {
  let increase = 0;
  let previous: number | undefined;
  for (const [t, text] of values) {
    const v = Number(text);
    if (!Number.isFinite(v)) continue;
    if (previous === undefined) {
      // Prometheus reports evaluation times in seconds with millisecond precision.
      if (Math.round(t * 1000) > fromMs) increase += v;
    } else {
      increase += v >= previous ? v - previous : v;
    }
    previous = v;
  }
  return increase;
}

/** Parses an `le` label value: a float, or +Inf. */
function bucketBound(le: string): number {
  const t = le.trim();
  if (t === '+Inf' || t === 'Inf' || t === '+inf' || t === 'inf') return Number.POSITIVE_INFINITY;
  const v = t === '' ? Number.NaN : Number(t);
  return v;
}

/** Identity of a series without `le` and the metric name: one histogram instance. */
function instanceKey(metric: Readonly<Record<string, string>>, drop: readonly string[]): string {
  return JSON.stringify(
    Object.keys(metric)
      .filter((k) => !drop.includes(k))
      .sort()
      .map((k) => [k, metric[k]]),
  );
}

/**
 * Cumulative histogram bucket series (`le` labels) to a latency histogram in ms, from their
 * increases over the window. Each histogram instance (a replica, a route) is turned into per-bucket
 * counts on its own and then merged, so instances with different bucket layouts still add up. A
 * request in bucket (a, b] is recorded at b: the judge's rank tests need only the order, and ties
 * are what a bucketed source has. undefined when no request was observed.
 * `unitMs`: ms per unit of the bucket bounds (1000 for seconds). `where` names the query for errors.
 */
export function bucketsToHistogram(series: readonly RangeSeries[], fromMs: number, unitMs: number, where: string): LatencyHistogram | undefined {
  const instances = new Map<string, Map<number, number>>();
  for (const s of series) {
    const le = s.metric['le'];
    if (le === undefined) throw new InputError(`${where} returns a series without an "le" label (${JSON.stringify(s.metric)}): the latency query must select cumulative histogram buckets`, { subject: where });
    const bound = bucketBound(le);
    if (Number.isNaN(bound) || bound < 0) throw new InputError(`${where} returns a bucket with le="${le}", which is not a bound ≥ 0`, { subject: where });
    const key = instanceKey(s.metric, ['le', '__name__']);
    let buckets = instances.get(key);
    if (!buckets) instances.set(key, (buckets = new Map()));
    // Two series with one bound (le="1" and le="1.0" across a Prometheus upgrade) are one bucket.
    buckets.set(bound, (buckets.get(bound) ?? 0) + counterIncrease(s.values, fromMs));
  }
  const histogram = new LatencyHistogram();
  for (const buckets of instances.values()) {
    const bounds = [...buckets.keys()].sort((a, b) => a - b);
    const finite = bounds.filter(Number.isFinite);
    let below = 0;
    for (const bound of bounds) {
      const cumulative = Math.round(buckets.get(bound)!);
      // Cumulative counts cannot fall with the bound; one can only when a counter reset hid between
      // two evaluation steps in some buckets and not others. Such a bucket counts nothing.
      const count = Math.max(0, cumulative - below);
      below = Math.max(below, cumulative);
      if (count === 0) continue;
      if (finite.length === 0) {
        throw new InputError(`${where} returns a histogram with only the +Inf bucket: it says how many requests there were, not how long they took`, { subject: where });
      }
      // A request above the last finite bound B took longer than B by an unknown amount. Recording
      // it at B would tie it with the requests of the last bucket and understate a slow tail; at 2B
      // it ranks above every finite bucket (all the rank tests use) and the shift estimate reads
      // it as at least doubled, never as faster than it was. (`ferry serve`'s last bound, 60 s, is
      // above its request timeout, so its +Inf bucket is empty in practice.)
      const valueMs = (Number.isFinite(bound) ? bound : 2 * finite[finite.length - 1]!) * unitMs;
      histogram.record(valueMs, count);
    }
  }
  return histogram.count > 0 ? histogram : undefined;
}

/**
 * Request counter series to counts by status code, from their increases over the window; undefined
 * when the query returned no series. `codeLabel` names the label holding the status code.
 */
export function countsByCode(series: readonly RangeSeries[], fromMs: number, codeLabel: string, where: string): CountData | undefined {
  if (series.length === 0) return undefined;
  const byCode = new Map<string, number>();
  for (const s of series) {
    const code = s.metric[codeLabel];
    if (code === undefined || code === '') {
      throw new InputError(`${where} returns a series without a "${codeLabel}" label (${JSON.stringify(s.metric)}): errors cannot be told from successes`, { subject: where });
    }
    byCode.set(code, (byCode.get(code) ?? 0) + counterIncrease(s.values, fromMs));
  }
  const statusCodes: Record<string, number> = {};
  let requests = 0;
  for (const [code, n] of [...byCode].sort(([a], [b]) => a.localeCompare(b))) {
    // Request counters hold whole numbers; rounding only removes float noise from the sums.
    const count = Math.max(0, Math.round(n));
    statusCodes[code] = count;
    requests += count;
  }
  return { requests, statusCodes };
}
