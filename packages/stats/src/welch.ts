// Welch's unequal-variance t-test, as SciPy's `ttest_ind(equal_var=False)`, with the Student t
// distribution it needs: the CDF through the regularized incomplete beta function (continued
// fraction, modified Lentz), accurate in the tails, and its quantile for the confidence interval.
import type { Alternative } from './alternative.js';
import { logGamma } from './gamma.js';
import { normalSf } from './normal.js';
import { assertFinite, type Sample } from './sample.js';

/**
 * The regularized incomplete beta I_x(a, b), given x and its complement y = 1 − x (pass y when it
 * is known more precisely than 1 − x). The continued fraction converges fast below the mean
 * (a + 1)/(a + b + 2); above it the symmetry I_x(a, b) = 1 − I_y(b, a) is used.
 */
export function regularizedIncompleteBeta(x: number, a: number, b: number, y: number = 1 - x): number {
  if (Number.isNaN(x) || !(a > 0) || !(b > 0)) return NaN;
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  if (x > (a + 1) / (a + b + 2)) return 1 - betaContinuedFraction(y, x, b, a);
  return betaContinuedFraction(x, y, a, b);
}

/** I_x(a, b) by its continued fraction (use below the mean, where it converges quickly). */
function betaContinuedFraction(x: number, y: number, a: number, b: number): number {
  const logFront = a * Math.log(x) + b * Math.log(y) - (logGamma(a) + logGamma(b) - logGamma(a + b));
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < 100_000; m++) {
    const m2 = 2 * m;
    // Even step: d_{2m} = m(b − m)x / ((a + 2m − 1)(a + 2m))
    let num = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    // Odd step: d_{2m+1} = −(a + m)(a + b + m)x / ((a + 2m)(a + 2m + 1))
    num = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (Math.exp(logFront) * h) / a;
}

/** P(T > t) for Student's t with `df` > 0 degrees of freedom (relative accuracy in the upper tail). */
export function studentTSf(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return NaN;
  if (t === Infinity) return 0;
  if (t === -Infinity) return 1;
  if (df === Infinity) return normalSf(t);
  // P(|T| > |t|) = I_{df/(df+t²)}(df/2, ½); the complement df/(df+t²) → t²/(df+t²) stays exact.
  const t2 = t * t;
  const tail = 0.5 * regularizedIncompleteBeta(df / (df + t2), df / 2, 0.5, t2 / (df + t2));
  return t > 0 ? tail : 1 - tail;
}

/** P(T ≤ t) for Student's t with `df` > 0 degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  return studentTSf(-t, df);
}

/** The p-quantile of Student's t with `df` degrees of freedom (p in (0, 1)), by bisection on the CDF. */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) throw new RangeError(`studentTQuantile needs 0 < p < 1 and df > 0, got ${p}, ${df}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  // Upper half: solve sf(t) = 1 − p, exact for p ≥ ½; bracket first, then bisect to full precision.
  const q = 1 - p;
  let lo = 0;
  let hi = 1;
  while (studentTSf(hi, df) > q) {
    lo = hi;
    hi *= 2;
  }
  for (let i = 0; i < 2000; i++) {
    const mid = (lo + hi) / 2;
    if (mid <= lo || mid >= hi) break;
    if (studentTSf(mid, df) > q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface WelchOptions {
  /** `greater`: the mean of x exceeds the mean of y. Default two-sided. */
  readonly alternative?: Alternative;
  /** Level of the two-sided interval for the difference of means (default 0.95). */
  readonly confidence?: number;
}

export interface WelchResult {
  /** (mean x − mean y)/SE; ±Infinity when both variances are 0 and the means differ, NaN when they agree. */
  readonly t: number;
  /** Welch–Satterthwaite degrees of freedom; NaN when both variances are 0. */
  readonly df: number;
  readonly pValue: number;
  readonly meanX: number;
  readonly meanY: number;
  /** mean x − mean y. */
  readonly difference: number;
  /** Sample variances (n − 1 denominators). */
  readonly varianceX: number;
  readonly varianceY: number;
  /** √(s²x/m + s²y/n). */
  readonly standardError: number;
  /** Two-sided interval for the difference at `confidence` (the difference itself when SE is 0). */
  readonly lower: number;
  readonly upper: number;
  readonly confidence: number;
  readonly n1: number;
  readonly n2: number;
}

function meanVariance(values: Sample): { mean: number; variance: number } {
  const n = values.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i] as number;
  mean /= n;
  // Two passes, with the corrected two-pass term Σd − (Σd)²/n absorbing the rounding of the mean.
  let ss = 0;
  let comp = 0;
  for (let i = 0; i < n; i++) {
    const d = (values[i] as number) - mean;
    ss += d * d;
    comp += d;
  }
  return { mean, variance: (ss - (comp * comp) / n) / (n - 1) };
}

/** Welch's t-test of x against y (each with at least 2 values). */
export function welchTTest(x: Sample, y: Sample, options: WelchOptions = {}): WelchResult {
  if (x.length < 2) throw new RangeError(`first sample needs at least 2 values, got ${x.length}`);
  if (y.length < 2) throw new RangeError(`second sample needs at least 2 values, got ${y.length}`);
  assertFinite(x, 'first sample');
  assertFinite(y, 'second sample');
  const alternative = options.alternative ?? 'two-sided';
  const confidence = options.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  const n1 = x.length;
  const n2 = y.length;
  const sx = meanVariance(x);
  const sy = meanVariance(y);
  const vx = sx.variance / n1;
  const vy = sy.variance / n2;
  const standardError = Math.sqrt(vx + vy);
  const difference = sx.mean - sy.mean;
  const common = { meanX: sx.mean, meanY: sy.mean, difference, varianceX: sx.variance, varianceY: sy.variance, standardError, confidence, n1, n2 };
  if (!(standardError > 0)) {
    // No spread on either side: equal means are no evidence; different ones are certain.
    if (difference === 0) return { ...common, t: NaN, df: NaN, pValue: 1, lower: 0, upper: 0 };
    const t = difference > 0 ? Infinity : -Infinity;
    const pValue = alternative === 'two-sided' ? 0 : (alternative === 'greater') === difference > 0 ? 0 : 1;
    return { ...common, t, df: NaN, pValue, lower: difference, upper: difference };
  }
  const df = (vx + vy) ** 2 / ((vx * vx) / (n1 - 1) + (vy * vy) / (n2 - 1));
  const t = difference / standardError;
  const pValue =
    alternative === 'two-sided' ? Math.min(1, 2 * studentTSf(Math.abs(t), df)) : alternative === 'greater' ? studentTSf(t, df) : studentTCdf(t, df);
  const half = studentTQuantile(1 - (1 - confidence) / 2, df) * standardError;
  return { ...common, t, df, pValue, lower: difference - half, upper: difference + half };
}
