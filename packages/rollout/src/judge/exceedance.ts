// The exceedance test of a tail: how many of the canary's n requests lie above a threshold taken
// from stable's own sample (its percentile bucket). The threshold is estimated, so stable's count
// above it is fixed by construction and the canary's varies twice (with the threshold and with its
// own sample); a two-proportion test treats both as binomial and rejects too often (≈ 1.4× its
// nominal alpha at 0.003, 1.5× at 0.001, on 2000 requests per version). Exactly: with r of m
// stable values at or below the threshold, F(threshold) ~ Beta(r, m − r + 1) for continuous data,
// so the canary's count above is beta-binomial, C ~ BetaBinomial(n, m − r + 1, r) (Gumbel and von
// Schelling's exceedances). Ties at the threshold (histogram buckets) only make it conservative.
import { logGamma } from '@ferry/stats';

export interface ExceedanceResult {
  /** P(C ≥ c) under the null: the canary's tail is no heavier. */
  readonly pValue: number;
  /** (c − E[C]) / SD[C] under the null. */
  readonly z: number;
  readonly expected: number;
}

function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

/**
 * One-sided exceedance test: `canaryAbove` of `canaryN` canary values above the threshold, which
 * `stableAbove` of `stableN` stable values exceed (the threshold being stable's own order statistic).
 */
export function exceedanceTest(canaryAbove: number, canaryN: number, stableAbove: number, stableN: number): ExceedanceResult {
  for (const [v, what] of [
    [canaryAbove, 'canaryAbove'],
    [canaryN, 'canaryN'],
    [stableAbove, 'stableAbove'],
    [stableN, 'stableN'],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`${what} must be a non-negative integer, got ${v}`);
  }
  if (canaryN < 1 || stableN < 1 || canaryAbove > canaryN || stableAbove >= stableN) {
    throw new RangeError(`exceedance counts out of range: ${canaryAbove}/${canaryN} canary, ${stableAbove}/${stableN} stable (the threshold must have stable values at or below it)`);
  }
  const n = canaryN;
  const a = stableAbove + 1;
  const b = stableN - stableAbove;
  const expected = (n * a) / (a + b);
  const sd = Math.sqrt((n * a * b * (a + b + n)) / ((a + b) * (a + b) * (a + b + 1)));
  const z = sd > 0 ? (canaryAbove - expected) / sd : 0;
  const c = canaryAbove;
  if (c === 0) return { pValue: 1, z, expected };
  // pmf(k) = C(n, k)·B(k + a, n − k + b)/B(a, b); pmf(k + 1)/pmf(k) = (n − k)(k + a) / ((k + 1)(n − k − 1 + b)).
  const logPmf = (k: number): number => logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1) + logBeta(k + a, n - k + b) - logBeta(a, b);
  if (c > expected) {
    // Upper tail from c: terms fall from the first one on.
    const first = logPmf(c);
    let term = 1;
    let sum = 1;
    for (let k = c; k < n; k++) {
      term *= ((n - k) * (k + a)) / ((k + 1) * (n - k - 1 + b));
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return { pValue: Math.min(1, Math.exp(first + Math.log(sum))), z, expected };
  }
  // Lower tail below c, down from c − 1, and its complement.
  const first = logPmf(c - 1);
  let term = 1;
  let sum = 1;
  for (let k = c - 1; k > 0; k--) {
    // pmf(k − 1)/pmf(k) is the reciprocal of the ratio at k − 1.
    term *= (k * (n - k + b)) / ((n - k + 1) * (k - 1 + a));
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return { pValue: Math.min(1, Math.max(0, 1 - Math.exp(first + Math.log(sum)))), z, expected };
}
