// Hodges–Lehmann shift estimate of x relative to y (the median of all xᵢ − yⱼ) with its
// distribution-free confidence interval: order statistics of the same differences, at ranks read
// from the Mann–Whitney null distribution (Lehmann 1963; Hollander & Wolfe §4.3).
import { normalCdf, normalQuantile } from './normal.js';
import { PairwiseDifferences } from './pairwise-select.js';
import { rankSums } from './ranks.js';
import { EXACT_MAX_PRODUCT, rankSumNullCdf } from './rank-sum-distribution.js';
import { assertNonEmpty, sortedCopy, type Sample } from './sample.js';

export interface HodgesLehmannOptions {
  /** Two-sided confidence level of the interval, in (0, 1); default 0.95 (Kayenta uses 0.98). */
  readonly confidence?: number;
}

export interface HodgesLehmannResult {
  /** Median of the m·n differences xᵢ − yⱼ: positive when x is shifted up relative to y. */
  readonly estimate: number;
  /** Lower bound: the c-th smallest difference; −Infinity when the samples are too small for the level. */
  readonly lower: number;
  /** Upper bound: the (m·n + 1 − c)-th smallest difference; +Infinity when too small. */
  readonly upper: number;
  readonly confidence: number;
  /** Coverage actually reached by the integer rank c (exact: ≥ confidence; normal: approximately). */
  readonly achievedConfidence: number;
  /**
   * `exact`: ranks from the exact U distribution (no ties and m·n ≤ 2500).
   * `normal`: ranks from the normal approximation with tie-corrected variance and continuity correction.
   */
  readonly method: 'exact' | 'normal';
  /** The rank c of the lower bound among the m·n sorted differences (0 when the interval is unbounded). */
  readonly rank: number;
}

/** The Hodges–Lehmann shift of x relative to y, with confidence interval. */
export function hodgesLehmann(x: Sample, y: Sample, options: HodgesLehmannOptions = {}): HodgesLehmannResult {
  assertNonEmpty(x, 'first sample');
  assertNonEmpty(y, 'second sample');
  return hodgesLehmannSorted(sortedCopy(x, 'first sample'), sortedCopy(y, 'second sample'), options);
}

/** Hodges–Lehmann on samples already sorted ascending (no copy, no checks). */
export function hodgesLehmannSorted(x: Float64Array, y: Float64Array, options: HodgesLehmannOptions = {}): HodgesLehmannResult {
  const confidence = options.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  const m = x.length;
  const n = y.length;
  const total = m * n;
  const halfAlpha = (1 - confidence) / 2;
  const { tieTerm, hasTies } = rankSums(x, y);

  let rank: number;
  let achievedConfidence: number;
  let method: 'exact' | 'normal';
  if (!hasTies && total <= EXACT_MAX_PRODUCT) {
    // c is the largest integer with P(U ≤ c − 1) ≤ α/2; the relative slack absorbs rounding in
    // the cdf where it equals α/2 exactly (it is a ratio of integers).
    method = 'exact';
    const cdf = rankSumNullCdf(m, n);
    rank = 0;
    while (rank < cdf.length && (cdf[rank] as number) <= halfAlpha * (1 + 1e-9)) rank++;
    achievedConfidence = rank === 0 ? 1 : 1 - 2 * (cdf[rank - 1] as number);
  } else {
    method = 'normal';
    const nn = m + n;
    const sigma = Math.sqrt((total / 12) * (nn + 1 - tieTerm / (nn * (nn - 1))));
    const z = normalQuantile(1 - halfAlpha);
    // P(U ≤ c − 1) ≈ Φ((c − 1 + ½ − mn/2)/σ) ≤ α/2  ⇔  c ≤ mn/2 + ½ − z·σ
    rank = Math.max(0, Math.floor(total / 2 + 0.5 - z * sigma));
    achievedConfidence = rank === 0 ? 1 : sigma > 0 ? 1 - 2 * normalCdf((rank - 0.5 - total / 2) / sigma) : 1;
  }

  const diffs = new PairwiseDifferences(x, y);
  let estimate: number;
  if (total % 2 === 1) {
    estimate = diffs.select((total + 1) / 2);
  } else {
    // The (N/2 + 1)-th is either a tie of the N/2-th or the next larger difference.
    const k = total / 2;
    const middle = diffs.select(k);
    const upperMiddle = diffs.countAtOrBelow(middle) > k ? middle : diffs.nextAbove(middle);
    estimate = (middle + upperMiddle) / 2;
  }
  const lower = rank >= 1 ? diffs.select(rank) : -Infinity;
  const upper = rank >= 1 ? diffs.select(total + 1 - rank) : Infinity;
  return { estimate, lower, upper, confidence, achievedConfidence, method, rank };
}
