// Alpha spending across the looks of a canary plan. A canary is judged at every step on the data
// so far; testing each look at the full alpha would abort a healthy canary far more often than
// alpha over the plan. The Lan–DeMets spending function of O'Brien–Fleming type,
//
//   α(t) = 2 − 2Φ(z₁₋α/₂ / √t),   α(0) = 0, α(1) = α,
//
// spends almost nothing early (t = 1/4 of a plan at α = 0.05: 0.00009) and most of alpha at the
// end, so early looks stop only on overwhelming evidence and the final look keeps nearly the power
// of a single test. Each analysis gets the nominal alpha α(t) − α(t_prev) and rejects when p is
// below it. By the union bound the chance of any false abort is at most Σ α(tⱼ) − α(tⱼ₋₁) ≤ α,
// whatever the correlation between looks: a conservative split (exact group-sequential
// boundaries would use the correlation and spend slightly more per look), chosen because it stays
// valid when looks are irregular, windows overlap or a look is extended.
//
// The information fraction t: by default the look grid. Look k of K ends at t = k/K. An analysis
// that may still be extended (some check is below its minimum sample and extensions remain) sits
// on a grid inside the look, t = (k − 1 + (e + 1)/(E + 1))/K for extension e of at most E, so an
// extension re-test has alpha of its own; the look's last analysis (enough data, or no extension
// left) takes t = k/K. Whether an analysis may extend depends on sample sizes only, never on a
// test's result, so the choice of t does not peek. Plans that measure information by data pass
// t = cumulative n / planned n themselves (JudgeLook.fraction and previousFraction).
import { normalQuantile, normalSf } from '@ferry/stats';

/** α(t) of the O'Brien–Fleming-type spending function for a total alpha. */
export function obrienFlemingSpending(alpha: number, t: number): number {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (!(t >= 0)) throw new RangeError(`information fraction must be ≥ 0, got ${t}`);
  if (t === 0) return 0;
  if (t >= 1) return alpha;
  return 2 * normalSf(normalQuantile(1 - alpha / 2) / Math.sqrt(t));
}

/** Nominal alpha of an analysis at t after one at tPrev: α(t) − α(tPrev), never negative. */
export function nominalAlpha(alpha: number, t: number, tPrev: number): number {
  return Math.max(0, obrienFlemingSpending(alpha, t) - obrienFlemingSpending(alpha, tPrev));
}

function checkLook(look: number, count: number, extension: number, maxExtensions: number): void {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`look count must be an integer ≥ 1, got ${count}`);
  if (!Number.isInteger(look) || look < 1 || look > count) throw new RangeError(`look must be an integer in 1..${count}, got ${look}`);
  if (!Number.isInteger(maxExtensions) || maxExtensions < 0) throw new RangeError(`maxExtensions must be an integer ≥ 0, got ${maxExtensions}`);
  if (!Number.isInteger(extension) || extension < 0 || extension > maxExtensions) {
    throw new RangeError(`extension must be an integer in 0..${maxExtensions}, got ${extension}`);
  }
}

/**
 * Information fraction of an analysis on the look grid: look k of K, after `extension`
 * extensions at this look (at most maxExtensions); `lastAtLook` when it cannot extend.
 */
export function lookFraction(look: number, count: number, extension: number, maxExtensions: number, lastAtLook: boolean): number {
  checkLook(look, count, extension, maxExtensions);
  if (lastAtLook || extension >= maxExtensions) return look / count;
  return (look - 1 + (extension + 1) / (maxExtensions + 1)) / count;
}

/**
 * Information fraction of the analysis before this one on the look grid: the previous look's end
 * for a look's first analysis, else the grid point of the analysis that extended. A previous look
 * that ended earlier on its grid only makes this choice conservative (less alpha spent now).
 */
export function previousLookFraction(look: number, count: number, extension: number, maxExtensions: number): number {
  checkLook(look, count, extension, maxExtensions);
  if (extension === 0) return (look - 1) / count;
  return lookFraction(look, count, extension - 1, maxExtensions, false);
}
