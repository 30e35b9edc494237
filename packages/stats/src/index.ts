// @ferry/stats: pure statistics for Ferry's gates and judge; no I/O, no dependencies.
// Every function is checked against SciPy reference values (test/fixtures/stats_reference.py).
export type { Alternative } from './alternative.js';
export { assertFinite, sortedCopy, gcd, type Sample } from './sample.js';
export { erf, erfc, normalCdf, normalPdf, normalQuantile, normalSf } from './normal.js';
export { logGamma, gammaQ, chiSquareSf } from './gamma.js';
export { median, quantile, quantiles, quantileSorted } from './quantile.js';
export {
  psi,
  psiSorted,
  psiEdges,
  psiTerm,
  PSI_DEFAULT_BINS,
  PSI_DEFAULT_EPSILON,
  type PsiBin,
  type PsiOptions,
  type PsiResult,
} from './psi.js';
export {
  categoricalPsi,
  chiSquareHomogeneity,
  countCategories,
  jensenShannon,
  type CategoryCounts,
  type CategoryShare,
  type ChiSquareResult,
  type JensenShannonResult,
} from './categorical.js';
export { kolmogorovSf, smirnovSf } from './kolmogorov.js';
export { ks2Sample, ks2SampleSorted, KS_EXACT_MAX_N, type KsOptions, type KsResult } from './ks.js';
export { rankSums, type RankSums } from './ranks.js';
export { rankSumNullCdf, EXACT_MAX_PRODUCT } from './rank-sum-distribution.js';
export { mannWhitneyU, mannWhitneyUSorted, type MannWhitneyOptions, type MannWhitneyResult } from './mann-whitney.js';
export { PairwiseDifferences } from './pairwise-select.js';
export {
  hodgesLehmann,
  hodgesLehmannSorted,
  type HodgesLehmannOptions,
  type HodgesLehmannResult,
} from './hodges-lehmann.js';
export { twoProportionZTest, wilsonInterval, type TwoProportionResult } from './proportions.js';
export { fisherExact, type FisherResult } from './fisher.js';
export {
  mannWhitneyBinned,
  hodgesLehmannBinned,
  type BinnedMannWhitneyOptions,
  type BinnedMannWhitneyResult,
  type BinnedHodgesLehmannOptions,
  type BinnedHodgesLehmannResult,
} from './binned.js';
export {
  welchTTest,
  studentTCdf,
  studentTSf,
  studentTQuantile,
  regularizedIncompleteBeta,
  type WelchOptions,
  type WelchResult,
} from './welch.js';
