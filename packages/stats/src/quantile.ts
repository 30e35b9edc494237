// Sample quantiles, Hyndman & Fan type 7: the default of NumPy (`method='linear'`) and R, so the
// percentiles Ferry reports read the same as the ones users compute in a notebook.
import { assertNonEmpty, sortedCopy, type Sample } from './sample.js';

/**
 * Linear interpolation between a and b that is exact at both ends and monotone in t: it starts
 * from the nearer end, so a quantile never steps outside [a, b] through rounding.
 */
function lerp(a: number, b: number, t: number): number {
  const diff = b - a;
  return t < 0.5 ? a + diff * t : b - diff * (1 - t);
}

/**
 * The p-quantile (0 ≤ p ≤ 1) of an ascending sample: with h = (n − 1)·p, the value at
 * ⌊h⌋ plus (h − ⌊h⌋) of the way to the next one.
 */
export function quantileSorted(sorted: Sample, p: number): number {
  assertNonEmpty(sorted, 'quantile sample');
  if (!(p >= 0 && p <= 1)) throw new RangeError(`quantile probability must be in [0, 1], got ${p}`);
  const n = sorted.length;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  if (lo >= n - 1) return sorted[n - 1] as number;
  return lerp(sorted[lo] as number, sorted[lo + 1] as number, h - lo);
}

/** Type-7 quantiles of an unsorted sample at each probability in `ps` (sorts a copy once). */
export function quantiles(values: Sample, ps: readonly number[]): number[] {
  const sorted = sortedCopy(values, 'quantile sample');
  return ps.map((p) => quantileSorted(sorted, p));
}

/** The type-7 p-quantile of an unsorted sample. */
export function quantile(values: Sample, p: number): number {
  return quantiles(values, [p])[0] as number;
}

/** The median (type-7 0.5-quantile: the mean of the middle two for an even count). */
export function median(values: Sample): number {
  return quantile(values, 0.5);
}
