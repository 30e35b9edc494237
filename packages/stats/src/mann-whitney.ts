// Mann–Whitney U (Wilcoxon rank-sum) test. The asymptotic method matches SciPy's
// `mannwhitneyu(method='asymptotic')`: normal approximation with tie-corrected variance and an
// optional 0.5 continuity correction; the exact method is SciPy's 'exact' for untied samples.
import type { Alternative } from './alternative.js';
import { normalSf } from './normal.js';
import { rankSums } from './ranks.js';
import { EXACT_MAX_PRODUCT, rankSumNullCdf } from './rank-sum-distribution.js';
import { assertNonEmpty, sortedCopy, type Sample } from './sample.js';

export interface MannWhitneyOptions {
  readonly alternative?: Alternative;
  /** Subtract 0.5 from |U − mn/2| before dividing (default true, as SciPy). */
  readonly continuity?: boolean;
  /**
   * `asymptotic` (default): normal approximation. `exact`: the exact null distribution, only for
   * untied samples with m·n ≤ 2500 (RangeError otherwise). `auto`: SciPy's rule, exact when both
   * samples have at most 8 values and there are no ties.
   */
  readonly method?: 'asymptotic' | 'exact' | 'auto';
}

export interface MannWhitneyResult {
  /** U of the first sample: the number of pairs with x > y, ties counting ½ (SciPy's statistic). */
  readonly u: number;
  readonly pValue: number;
  /** The z score (continuity-corrected when asked); NaN for the exact method or when every value ties. */
  readonly z: number;
  readonly method: 'asymptotic' | 'exact';
  /**
   * Common-language effect size U/(m·n): the probability that a random x exceeds a random y
   * (ties ½); 0.5 means no effect. Kayenta's `cles`.
   */
  readonly commonLanguageEffect: number;
  readonly n1: number;
  readonly n2: number;
}

/** The Mann–Whitney U test of x against y. */
export function mannWhitneyU(x: Sample, y: Sample, options: MannWhitneyOptions = {}): MannWhitneyResult {
  assertNonEmpty(x, 'first sample');
  assertNonEmpty(y, 'second sample');
  return mannWhitneyUSorted(sortedCopy(x, 'first sample'), sortedCopy(y, 'second sample'), options);
}

/** The Mann–Whitney U test on samples already sorted ascending (no copy, no checks). */
export function mannWhitneyUSorted(x: Float64Array, y: Float64Array, options: MannWhitneyOptions = {}): MannWhitneyResult {
  const alternative = options.alternative ?? 'two-sided';
  const continuity = options.continuity ?? true;
  const n1 = x.length;
  const n2 = y.length;
  const { rankSumX, tieTerm, hasTies } = rankSums(x, y);
  const u1 = rankSumX - (n1 * (n1 + 1)) / 2;
  const u2 = n1 * n2 - u1;
  // U for the p-value and the factor on its survival function, as SciPy: the larger U, doubled.
  const [u, factor] = alternative === 'greater' ? [u1, 1] : alternative === 'less' ? [u2, 1] : [Math.max(u1, u2), 2];
  let method: 'asymptotic' | 'exact' = 'asymptotic';
  if (options.method === 'exact') {
    if (hasTies) throw new RangeError('the exact Mann–Whitney distribution assumes no ties; use the asymptotic method');
    method = 'exact';
  } else if (options.method === 'auto' && !hasTies && n1 <= 8 && n2 <= 8) {
    method = 'exact';
  }
  const common = { u: u1, method, commonLanguageEffect: u1 / (n1 * n2), n1, n2 };
  if (method === 'exact') {
    if (n1 * n2 > EXACT_MAX_PRODUCT) throw new RangeError(`exact Mann–Whitney limited to m·n ≤ ${EXACT_MAX_PRODUCT}`);
    const cdf = rankSumNullCdf(n1, n2);
    // P(U ≥ u) = P(U ≤ mn − u) by symmetry; reading the lower tail keeps small p-values exact.
    const k = n1 * n2 - u;
    const sf = k < 0 ? 0 : (cdf[Math.min(k, cdf.length - 1)] as number);
    return { ...common, z: NaN, pValue: Math.min(1, factor * sf) };
  }
  const n = n1 + n2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  // Every value tied: no evidence either way. SciPy returns NaN here; a p-value of 1 is the honest
  // reading and keeps NaN out of gates.
  if (!(sigma > 0)) return { ...common, z: NaN, pValue: 1 };
  const z = (u - (n1 * n2) / 2 - (continuity ? 0.5 : 0)) / sigma;
  return { ...common, z, pValue: Math.min(1, factor * normalSf(z)) };
}
