// Comparing two rates from counts (errors out of requests): the pooled two-proportion z-test, and
// Newcombe's hybrid score interval for the difference, which stays sensible for rare events where
// the Wald interval collapses to zero width.
import type { Alternative } from './alternative.js';
import { normalQuantile, normalSf } from './normal.js';

function checkCounts(successes: number, trials: number, what: string): void {
  if (!Number.isInteger(trials) || trials < 1) throw new RangeError(`${what}: trials must be a positive integer, got ${trials}`);
  if (!Number.isInteger(successes) || successes < 0 || successes > trials) {
    throw new RangeError(`${what}: successes must be an integer in 0..${trials}, got ${successes}`);
  }
}

/** Wilson score interval for one proportion. */
export function wilsonInterval(successes: number, trials: number, confidence = 0.95): { lower: number; upper: number } {
  checkCounts(successes, trials, 'wilsonInterval');
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p = successes / trials;
  const z2n = (z * z) / trials;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2n / (4 * trials))) / (1 + z2n);
  return { lower: Math.max(0, centre - half), upper: Math.min(1, centre + half) };
}

export interface TwoProportionResult {
  readonly p1: number;
  readonly p2: number;
  /** p1 − p2. */
  readonly difference: number;
  /** (p1 − p2)/SE with the pooled standard error; 0 when both rates are 0 or both are 1. */
  readonly z: number;
  readonly pValue: number;
  /** Newcombe (1998, method 10) interval for p1 − p2 at `confidence`. */
  readonly lower: number;
  readonly upper: number;
  readonly confidence: number;
}

/**
 * Two-proportion z-test of successes1/trials1 against successes2/trials2 (pooled variance; the
 * two-sided p-value equals `chi2_contingency(correction=False)`). `greater`: p1 > p2.
 */
export function twoProportionZTest(
  successes1: number,
  trials1: number,
  successes2: number,
  trials2: number,
  options: { readonly alternative?: Alternative; readonly confidence?: number } = {},
): TwoProportionResult {
  checkCounts(successes1, trials1, 'first sample');
  checkCounts(successes2, trials2, 'second sample');
  const alternative = options.alternative ?? 'two-sided';
  const confidence = options.confidence ?? 0.95;
  const p1 = successes1 / trials1;
  const p2 = successes2 / trials2;
  const pooled = (successes1 + successes2) / (trials1 + trials2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / trials1 + 1 / trials2));
  const difference = p1 - p2;
  // Both rates 0 (or both 1): the samples cannot differ in the test's terms.
  const z = se > 0 ? difference / se : 0;
  const pValue =
    se === 0
      ? 1
      : alternative === 'two-sided'
        ? Math.min(1, 2 * normalSf(Math.abs(z)))
        : alternative === 'greater'
          ? normalSf(z)
          : normalSf(-z);
  const w1 = wilsonInterval(successes1, trials1, confidence);
  const w2 = wilsonInterval(successes2, trials2, confidence);
  const lower = difference - Math.sqrt((p1 - w1.lower) ** 2 + (w2.upper - p2) ** 2);
  const upper = difference + Math.sqrt((w1.upper - p1) ** 2 + (p2 - w2.lower) ** 2);
  return { p1, p2, difference, z, pValue, lower, upper, confidence };
}
