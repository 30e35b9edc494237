// The exact null distribution of the Mann–Whitney U statistic for untied samples, for small
// samples where the normal approximation is poor (exact p-values, Hodges–Lehmann intervals).

/** Largest m·n for which the exact distribution is computed (about 2·10^6 operations). */
export const EXACT_MAX_PRODUCT = 2500;

/**
 * P(U ≤ u) for u = 0 … m·n, where U counts pairs (xᵢ > yⱼ) among m x's and n y's in random order.
 * Uses the recurrence on the largest element, in probabilities (every term is positive, nothing
 * overflows): p[m,n](u) = m/(m+n)·p[m−1,n](u−n) + n/(m+n)·p[m,n−1](u).
 */
export function rankSumNullCdf(m: number, n: number): Float64Array {
  if (!Number.isInteger(m) || !Number.isInteger(n) || m < 0 || n < 0) throw new RangeError('sample sizes must be non-negative integers');
  if (m * n > EXACT_MAX_PRODUCT) throw new RangeError(`exact distribution limited to m·n ≤ ${EXACT_MAX_PRODUCT}, got ${m}·${n}`);
  // row[j] holds the pmf for (i, j); i runs over the first sample.
  let row: Float64Array[] = Array.from({ length: n + 1 }, () => Float64Array.of(1));
  for (let i = 1; i <= m; i++) {
    const next: Float64Array[] = [Float64Array.of(1)];
    for (let j = 1; j <= n; j++) {
      const pmf = new Float64Array(i * j + 1);
      const left = next[j - 1] as Float64Array; // (i, j−1): the largest element is a y
      const up = row[j] as Float64Array; // (i−1, j): the largest element is an x, beating all j y's
      const wLeft = j / (i + j);
      const wUp = i / (i + j);
      for (let u = 0; u < left.length; u++) pmf[u] = wLeft * (left[u] as number);
      for (let u = 0; u < up.length; u++) pmf[u + j] = (pmf[u + j] as number) + wUp * (up[u] as number);
      next.push(pmf);
    }
    row = next;
  }
  const pmf = row[n] as Float64Array;
  const cdf = new Float64Array(pmf.length);
  let acc = 0;
  for (let u = 0; u < pmf.length; u++) {
    acc += pmf[u] as number;
    cdf[u] = Math.min(acc, 1);
  }
  return cdf;
}
