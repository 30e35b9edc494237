// The canary judge: stable against canary over the same window, to continue / extend / abort /
// inconclusive with every number behind the decision.
export { judgeCanary } from './judge.js';
export { JUDGE_DEFAULTS, resolveConfig, testsOf, type ResolvedConfig, type ResolvedMetric } from './config.js';
export { obrienFlemingSpending, nominalAlpha, lookFraction, previousLookFraction } from './spending.js';
export {
  effectiveSize,
  logSpreadFromQuartiles,
  lognormalSuperiority,
  morePerVersion,
  noetherSampleSize,
  oneProportionSampleSize,
  twoProportionSampleSize,
  zFor,
} from './sample-size.js';
export { agreementPValue, summariseDeltas } from './quality.js';
export { exceedanceTest, type ExceedanceResult } from './exceedance.js';
export { matchesCode } from './error-rate.js';
export * from './types.js';
