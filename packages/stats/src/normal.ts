// The standard normal distribution: CDF, survival function and quantile, accurate to a few ulps
// far into the tails, because p-values of 1e-50 must still order correctly in reports.

const SQRT1_2 = Math.SQRT1_2;
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** exp(-x²) without the rounding error of forming x² first (matters for x beyond ~5). */
function expMinusSquare(x: number): number {
  // Split x = hi + lo with hi short enough that hi² is exact; then x² = hi² + lo·(x + hi).
  const hi = Math.trunc(x * 4096) / 4096;
  const lo = x - hi;
  return Math.exp(-hi * hi) * Math.exp(-lo * (x + hi));
}

/**
 * erf(x) by the everywhere-positive series 2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(1·3·…·(2n+1)):
 * no cancellation, so relative accuracy holds for small x too.
 */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 500; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * expMinusSquare(x) * sum;
}

/** erfc(x) for x ≥ 0.5 by Laplace's continued fraction, evaluated with the modified Lentz method. */
function erfcContinuedFraction(x: number): number {
  // erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 5000; k++) {
    const a = k / 2;
    d = x + a * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = x + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (INV_SQRT_PI * expMinusSquare(x)) / f;
}

/** The error function. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return -erf(-x);
  if (x < 0.5) return erfSeries(x);
  return 1 - erfc(x);
}

/** The complementary error function 1 − erf(x), with full relative accuracy for large x. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 0.5) return 1 - erfSeries(x);
  if (x > 27.3) return 0; // below the smallest double
  return erfcContinuedFraction(x);
}

/** Density of the standard normal distribution. */
export function normalPdf(z: number): number {
  // exp(−z²/2) with the same split as expMinusSquare, avoiding the rounding of z/√2.
  const a = Math.abs(z);
  const hi = Math.trunc(a * 4096) / 4096;
  const lo = a - hi;
  return INV_SQRT_2PI * Math.exp((-hi * hi) / 2) * Math.exp((-lo * (a + hi)) / 2);
}

/** P(Z ≤ z) for a standard normal Z. */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  return 0.5 * erfc(-z * SQRT1_2);
}

/** P(Z > z) for a standard normal Z, accurate in the upper tail (a p-value). */
export function normalSf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  return 0.5 * erfc(z * SQRT1_2);
}

/**
 * The z with P(Z ≤ z) = p. A rational first guess (Abramowitz & Stegun 26.2.23, error < 4.5e-4)
 * is polished by Halley steps on the accurate CDF, so the result is as good as normalCdf.
 */
export function normalQuantile(p: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  // 1 − p is exact for p ≥ 0.5, so the upper half reflects onto the lower one without loss.
  if (p > 0.5) return -normalQuantile(1 - p);
  const t = Math.sqrt(-2 * Math.log(p));
  let x = -(t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t));
  // Near the centre, Φ(x) − p cancels; there p − 1/2 is exact and ½·erf(x/√2) carries no cancellation.
  const central = p > 0.25;
  const half = p - 0.5;
  for (let i = 0; i < 8; i++) {
    const f = central ? 0.5 * erf(x * SQRT1_2) - half : normalCdf(x) - p;
    const pdf = normalPdf(x);
    if (pdf === 0) break;
    const r = f / pdf;
    const step = r / (1 + (x * r) / 2); // Halley: uses φ'(x) = −x·φ(x)
    x -= step;
    if (Math.abs(step) <= 1e-16 * Math.abs(x)) break;
  }
  return x;
}
