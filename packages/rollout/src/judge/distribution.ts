// Latency observations as one thing to ask questions of, whether they came as a histogram (live
// or serialized) or as raw samples: counts, nearest-rank percentiles (as LatencyHistogram does),
// distribution-free percentile intervals.
import { LatencyHistogram, type SerializedHistogram, type SharedBins } from '@ferry/bench';
import { normalQuantile } from '@ferry/stats';
import { inputError } from './common.js';
import type { LatencyData } from './types.js';

export type Dist =
  | { readonly kind: 'histogram'; readonly histogram: LatencyHistogram; readonly count: number; readonly dropped: 0 }
  | { readonly kind: 'samples'; readonly sorted: Float64Array; readonly count: number; readonly dropped: number }
  /** One side of a histogram pair over their shared buckets: ranks by binary search, as LatencyHistogram.percentile reads them. */
  | { readonly kind: 'bins'; readonly highMs: readonly number[]; readonly cumulative: Float64Array; readonly maxMs: number; readonly count: number; readonly dropped: number };

/**
 * Both sides of a histogram pair as `bins` distributions over the shared buckets (bucket tops,
 * cumulative counts); `dropped` carries the raw samples left out before recording.
 */
export function binnedSides(
  bins: SharedBins,
  stable: LatencyHistogram,
  canary: LatencyHistogram,
  dropped: { readonly stable: number; readonly canary: number } = { stable: 0, canary: 0 },
): { stable: Dist; canary: Dist } {
  const side = (counts: readonly number[], h: LatencyHistogram, droppedSamples: number): Dist => {
    const cumulative = new Float64Array(counts.length);
    let acc = 0;
    for (let k = 0; k < counts.length; k++) cumulative[k] = acc += counts[k]!;
    return { kind: 'bins', highMs: bins.highMs, cumulative, maxMs: h.max()!, count: h.count, dropped: droppedSamples };
  };
  return { stable: side(bins.baseline, stable, dropped.stable), canary: side(bins.current, canary, dropped.canary) };
}

function isSerialized(v: unknown): v is SerializedHistogram {
  return typeof v === 'object' && v !== null && (v as { v?: unknown }).v === 1 && typeof (v as { counts?: unknown }).counts === 'string';
}

/**
 * Reads one side's latency; undefined when there is none (absent, or no finite value). Raw
 * samples drop values that are not finite numbers (counted in `dropped`); negative ones are an
 * InputError, as is a corrupt serialized histogram.
 */
export function readLatency(metric: string, side: string, data: LatencyData | undefined): Dist | undefined {
  if (data === undefined || data === null) return undefined;
  if (data instanceof LatencyHistogram) return data.count > 0 ? { kind: 'histogram', histogram: data, count: data.count, dropped: 0 } : undefined;
  if (Array.isArray(data)) {
    const kept: number[] = [];
    let dropped = 0;
    for (let i = 0; i < data.length; i++) {
      const v = data[i] as unknown;
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        dropped++;
        continue;
      }
      if (v < 0) throw inputError(metric, `${side} latency sample ${i} is negative (${v} ms)`);
      kept.push(v);
    }
    if (kept.length === 0) return undefined;
    const sorted = Float64Array.from(kept).sort();
    return { kind: 'samples', sorted, count: sorted.length, dropped };
  }
  if (isSerialized(data)) {
    let h: LatencyHistogram;
    try {
      h = LatencyHistogram.fromJSON(data);
    } catch (err) {
      throw inputError(metric, `${side} latency is not a valid serialized histogram (${(err as Error).message})`);
    }
    return h.count > 0 ? { kind: 'histogram', histogram: h, count: h.count, dropped: 0 } : undefined;
  }
  throw inputError(metric, `${side} latency must be a LatencyHistogram, a serialized histogram or an array of ms`);
}

/** Raw samples recorded into a histogram with the given layout. */
export function toHistogram(d: Dist, like: LatencyHistogram): LatencyHistogram {
  if (d.kind === 'histogram') return d.histogram;
  if (d.kind === 'bins') throw new RangeError('binned sides are already paired');
  const h = new LatencyHistogram(like.config);
  for (const v of d.sorted) h.record(v);
  return h;
}

/** The value of the r-th smallest observation (1-based), as the histogram reports it. */
export function valueAtRank(d: Dist, rank: number): number {
  const r = Math.min(d.count, Math.max(1, Math.round(rank)));
  if (d.kind === 'samples') return d.sorted[r - 1]!;
  if (d.kind === 'bins') {
    let lo = 0;
    let hi = d.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (d.cumulative[mid]! >= r) hi = mid;
      else lo = mid + 1;
    }
    return Math.min(d.highMs[lo]!, d.maxMs);
  }
  return d.histogram.percentile((100 * r) / d.count)!;
}

/** Nearest-rank percentile (0–100): the ⌈p/100·n⌉-th smallest value. */
export function percentileOf(d: Dist, p: number): number {
  if (d.kind === 'histogram') return d.histogram.percentile(p)!;
  return valueAtRank(d, Math.max(1, Math.ceil((p / 100) * d.count - 1e-9)));
}

export function percentileTriple(d: Dist): { p50: number; p95: number; p99: number } {
  return { p50: percentileOf(d, 50), p95: percentileOf(d, 95), p99: percentileOf(d, 99) };
}

/**
 * Distribution-free interval of the p-th percentile at two-sided confidence c: the order
 * statistics at ranks ⌊nq − z·√(nq(1 − q))⌋ and ⌈nq + z·√(nq(1 − q))⌉ + 1 (normal approximation
 * of the binomial count below the percentile); null ends when a rank falls outside 1..n.
 */
export function percentileInterval(d: Dist, p: number, confidence: number): { lower: number | null; upper: number | null } {
  const q = p / 100;
  const n = d.count;
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const s = z * Math.sqrt(n * q * (1 - q));
  const lo = Math.floor(n * q - s);
  const hi = Math.ceil(n * q + s) + 1;
  return { lower: lo >= 1 ? valueAtRank(d, lo) : null, upper: hi <= n ? valueAtRank(d, hi) : null };
}

/** Observations strictly above a value (raw samples only: histograms count by bucket). */
export function countAboveSamples(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return sorted.length - lo;
}
