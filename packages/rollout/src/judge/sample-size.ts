// Minimum samples, planned up front so that "continue" never rests on too little data: the number
// of requests per version at which a regression of the planned size would be caught (p below the
// final look's nominal alpha) with the configured power. Equal allocation per version; unequal
// samples are compared through the effective size 2·n₁·n₂/(n₁ + n₂), which gives a test the same
// precision as that many requests on each side.
import { normalCdf, normalQuantile } from '@ferry/stats';

/** z of a test at level alpha: one-sided, or two-sided (alpha split between the tails). */
export function zFor(alpha: number, sided: 1 | 2): number {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  return normalQuantile(1 - alpha / sided);
}

function zPower(power: number): number {
  if (!(power > 0 && power < 1)) throw new RangeError(`power must be in (0, 1), got ${power}`);
  return normalQuantile(power);
}

/**
 * P(Y > X) when X is lognormal with log-scale spread sigma and Y the same distribution slowed by
 * the factor 1 + relativeShift: ln Y − ln X ~ N(ln(1 + r), 2σ²), so Φ(ln(1 + r)/(σ√2)).
 */
export function lognormalSuperiority(relativeShift: number, sigmaLog: number): number {
  if (!(relativeShift > -1)) throw new RangeError(`relative shift must be > −1, got ${relativeShift}`);
  if (!(sigmaLog > 0)) throw new RangeError(`sigma must be > 0, got ${sigmaLog}`);
  return normalCdf(Math.log1p(relativeShift) / (sigmaLog * Math.SQRT2));
}

/**
 * Noether's (1987) sample size for the Mann–Whitney test, per version with equal allocation:
 * N = (z_α + z_β)² / (12·c·(1 − c)·(p − ½)²) in total with c = ½, so n = (z_α + z_β)² / (6·(p − ½)²)
 * each, where p = P(Y > X) under the alternative.
 */
export function noetherSampleSize(superiority: number, alpha: number, power: number, sided: 1 | 2 = 1): number {
  if (!(superiority >= 0 && superiority <= 1) || superiority === 0.5) {
    throw new RangeError(`superiority must be in [0, 1] and not ½, got ${superiority}`);
  }
  const z = zFor(alpha, sided) + zPower(power);
  return Math.ceil((z * z) / (6 * (superiority - 0.5) ** 2));
}

/**
 * Per-version sample size of the pooled two-proportion z-test of p1 against p0 (Fleiss, no
 * continuity correction): n = (z_α·√(2·p̄·q̄) + z_β·√(p₀q₀ + p₁q₁))² / (p₁ − p₀)², p̄ = (p₀ + p₁)/2.
 */
export function twoProportionSampleSize(p0: number, p1: number, alpha: number, power: number, sided: 1 | 2 = 1): number {
  for (const p of [p0, p1]) if (!(p >= 0 && p <= 1)) throw new RangeError(`proportions must be in [0, 1], got ${p}`);
  if (p0 === p1) throw new RangeError('the two proportions must differ');
  const bar = (p0 + p1) / 2;
  const a = zFor(alpha, sided) * Math.sqrt(2 * bar * (1 - bar));
  const b = zPower(power) * Math.sqrt(p0 * (1 - p0) + p1 * (1 - p1));
  return Math.ceil(((a + b) * (a + b)) / ((p1 - p0) * (p1 - p0)));
}

/**
 * Sample size of the one-sample test of a proportion p0 against a true p1:
 * n = ((z_α·√(p₀q₀) + z_β·√(p₁q₁)) / (p₀ − p₁))².
 */
export function oneProportionSampleSize(p0: number, p1: number, alpha: number, power: number, sided: 1 | 2 = 1): number {
  for (const p of [p0, p1]) if (!(p >= 0 && p <= 1)) throw new RangeError(`proportions must be in [0, 1], got ${p}`);
  if (p0 === p1) throw new RangeError('the two proportions must differ');
  const s = (zFor(alpha, sided) * Math.sqrt(p0 * (1 - p0)) + zPower(power) * Math.sqrt(p1 * (1 - p1))) / (p0 - p1);
  return Math.ceil(s * s);
}

/** 2·n₁·n₂/(n₁ + n₂): the equal per-version size with the same precision (0 when a side is empty). */
export function effectiveSize(n1: number, n2: number): number {
  return n1 + n2 > 0 ? (2 * n1 * n2) / (n1 + n2) : 0;
}

/**
 * The fewest further requests x per version (both sides grow by x) with
 * effectiveSize(n1 + x, n2 + x) ≥ required; 0 when already there.
 */
export function morePerVersion(n1: number, n2: number, required: number): number {
  if (effectiveSize(n1, n2) >= required) return 0;
  // 2(a + x)(b + x) = R(a + b + 2x)  ⇔  x² + (a + b − R)x + ab − R(a + b)/2 = 0
  const s = n1 + n2 - required;
  const c = n1 * n2 - (required * (n1 + n2)) / 2;
  let x = Math.max(0, Math.ceil((-s + Math.sqrt(Math.max(0, s * s - 4 * c))) / 2));
  // Rounding guard: the root is exact up to a few ulps.
  while (effectiveSize(n1 + x, n2 + x) < required) x++;
  while (x > 0 && effectiveSize(n1 + x - 1, n2 + x - 1) >= required) x--;
  return x;
}

/**
 * Log-scale spread of a positive, lognormal-ish sample from its quartiles: (ln q₇₅ − ln q₂₅)/1.349,
 * robust to the tail. Clamped to [0.01, 3]; 0.01 when the quartiles cannot be used (zero or equal).
 */
export function logSpreadFromQuartiles(q25: number, q75: number): number {
  if (!(q25 > 0 && q75 > q25)) return 0.01;
  const iqrZ = 2 * normalQuantile(0.75);
  return Math.min(3, Math.max(0.01, (Math.log(q75) - Math.log(q25)) / iqrZ));
}
