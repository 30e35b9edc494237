// Fisher's exact test on a 2×2 table, with SciPy's `fisher_exact` conventions: the two-sided
// p-value sums every table at most as likely as the observed one; the odds ratio is the sample one.
import type { Alternative } from './alternative.js';

export interface FisherResult {
  /** (a·d)/(b·c); Infinity when b·c = 0 < a·d, NaN when a row or column is empty. */
  readonly oddsRatio: number;
  readonly pValue: number;
}

/**
 * Fisher's exact test on [[a, b], [c, d]]. `greater`: the odds ratio exceeds 1 (a is large).
 * Tables are weighed in logs relative to the mode by the ratio recurrence of the hypergeometric
 * pmf, O(support) and safe for counts in the millions. "At most as likely" allows a relative slack
 * of 1e-7, as R does: SciPy's 1e-14 is below the rounding of any pmf computed for large tables,
 * and would split mathematically equal (symmetric) tables.
 */
export function fisherExact(
  table: readonly [readonly [number, number], readonly [number, number]],
  options: { readonly alternative?: Alternative } = {},
): FisherResult {
  const [[a, b], [c, d]] = table;
  for (const v of [a, b, c, d]) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`table entries must be non-negative integers, got ${v}`);
  }
  const alternative = options.alternative ?? 'two-sided';
  const row1 = a + b;
  const row2 = c + d;
  const col1 = a + c;
  const total = row1 + row2;
  if (row1 === 0 || row2 === 0 || col1 === 0 || b + d === 0) return { oddsRatio: NaN, pValue: 1 };
  const oddsRatio = b > 0 && c > 0 ? (a * d) / (b * c) : Infinity;

  // X = the top-left cell, hypergeometric with support lo..hi.
  const lo = Math.max(0, col1 - row2);
  const hi = Math.min(col1, row1);
  const size = hi - lo + 1;
  const logW = new Float64Array(size);
  const mode = Math.min(hi, Math.max(lo, Math.floor(((col1 + 1) * (row1 + 1)) / (total + 2))));
  // P(x)/P(x−1) = (row1 − x + 1)(col1 − x + 1) / (x·(row2 − col1 + x))
  for (let x = mode + 1; x <= hi; x++) {
    logW[x - lo] = (logW[x - 1 - lo] as number) + Math.log(((row1 - x + 1) * (col1 - x + 1)) / (x * (row2 - col1 + x)));
  }
  for (let x = mode - 1; x >= lo; x--) {
    logW[x - lo] = (logW[x + 1 - lo] as number) - Math.log(((row1 - x) * (col1 - x)) / ((x + 1) * (row2 - col1 + x + 1)));
  }
  let totalWeight = 0;
  for (let i = 0; i < size; i++) totalWeight += Math.exp(logW[i] as number);

  let tail = 0;
  const observed = logW[a - lo] as number;
  for (let i = 0; i < size; i++) {
    const x = lo + i;
    const w = logW[i] as number;
    const include = alternative === 'less' ? x <= a : alternative === 'greater' ? x >= a : w <= observed + 1e-7;
    if (include) tail += Math.exp(w);
  }
  return { oddsRatio, pValue: Math.min(1, tail / totalWeight) };
}
