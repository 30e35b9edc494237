// Distribution of the one-sample Kolmogorov–Smirnov statistic D_n, which the two-sample test's
// asymptotic p-value uses (as SciPy's `kstwo.sf`). Branches follow Simard & L'Ecuyer (2011):
// Ruben–Gambino closed forms at the ends, Durbin's matrix (Marsaglia–Tsang–Wang 2003) for small
// n·d, the Pelz–Good (1976) series for large n, and Smirnov's one-sided sum in the upper tail.

const TWO_POW_128 = 2 ** 128;
const TWO_POW_MINUS_128 = 2 ** -128;
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const PI2 = Math.PI * Math.PI;
const PI4 = PI2 * PI2;
const PI6 = PI4 * PI2;

/** Multiplies mantissa·2^exponent by n!/nⁿ, rescaling so nothing underflows; returns the product. */
function timesFactorialOverPower(mantissa: number, exponent: number, n: number): number {
  let p = mantissa;
  let e = exponent;
  for (let i = 1; i <= n; i++) {
    p = (p * i) / n;
    if (Math.abs(p) < TWO_POW_MINUS_128) {
      p *= TWO_POW_128;
      e -= 128;
    }
  }
  // Apply 2^e in steps that stay inside the double range.
  while (e > 0) {
    const s = Math.min(e, 1000);
    p *= 2 ** s;
    e -= s;
  }
  while (e < 0) {
    const s = Math.max(e, -1000);
    p *= 2 ** s;
    e -= s;
  }
  return p;
}

/**
 * One-sided Smirnov survival P(D⁺_n ≥ x), exact by Smirnov's sum
 * x·Σ_{j=0}^{⌊n(1−x)⌋} C(n,j)·(x + j/n)^(j−1)·(1 − x − j/n)^(n−j), every term positive and taken in logs.
 */
export function smirnovSf(n: number, x: number): number {
  if (!(x > 0)) return 1;
  if (x >= 1) return 0;
  const nOneMinusX = n * (1 - x);
  const last = Math.floor(nOneMinusX);
  // log C(n, j) as a running sum, compensated (Neumaier): plain summation drifts by ~1e-9 over
  // the 10^5 steps of a large n, which would show in the p-value's ninth digit.
  let logChoose = 0;
  let carry = 0;
  let sum = 0;
  for (let j = 0; j <= last; j++) {
    if (j > 0) {
      const step = Math.log((n - j + 1) / j);
      const t = logChoose + step;
      carry += Math.abs(logChoose) >= Math.abs(step) ? logChoose - t + step : step - t + logChoose;
      logChoose = t;
    }
    const rest = (nOneMinusX - j) / n; // 1 − x − j/n
    let logTerm = logChoose + carry + (j - 1) * Math.log(x + j / n);
    if (n - j > 0) {
      if (rest <= 0) continue;
      logTerm += (n - j) * Math.log(rest);
    }
    if (logTerm > -745) sum += Math.exp(logTerm);
  }
  return Math.min(1, x * sum);
}

/** Durbin's matrix method for P(D_n < d), exact; O(k³ log n) with k = ⌈n·d⌉. */
function durbinCdf(n: number, d: number): number {
  const nd = n * d;
  const k = Math.ceil(nd);
  const h = k - nd;
  const size = 2 * k - 1;
  // H[i][j] = 1/(i − j + 1)! below the superdiagonal; the first column and last row are corrected for h.
  const H = new Float64Array(size * size);
  const invFact = new Float64Array(size + 1);
  invFact[0] = 1;
  for (let i = 1; i <= size; i++) invFact[i] = (invFact[i - 1] as number) / i;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      if (i - j + 1 >= 0) H[i * size + j] = invFact[i - j + 1] as number;
    }
  }
  for (let i = 0; i < size; i++) {
    H[i * size] = (1 - h ** (i + 1)) * (invFact[i + 1] as number);
    H[(size - 1) * size + (size - 1 - i)] = (1 - h ** (i + 1)) * (invFact[i + 1] as number);
  }
  H[(size - 1) * size] = (1 - 2 * h ** size + Math.max(0, 2 * h - 1) ** size) * (invFact[size] as number);

  const multiply = (a: Float64Array, b: Float64Array): Float64Array => {
    const c = new Float64Array(size * size);
    for (let i = 0; i < size; i++) {
      for (let l = 0; l < size; l++) {
        const ail = a[i * size + l] as number;
        if (ail === 0) continue;
        for (let j = 0; j < size; j++) c[i * size + j] = (c[i * size + j] as number) + ail * (b[l * size + j] as number);
      }
    }
    return c;
  };
  // H^n by squaring; both matrices carry a power-of-two exponent so entries stay in range.
  let power: Float64Array | undefined;
  let powerExp = 0;
  let base: Float64Array = H;
  let baseExp = 0;
  let e = n;
  const centre = (k - 1) * size + (k - 1);
  while (e > 0) {
    if (e % 2 === 1) {
      power = power === undefined ? base : multiply(power, base);
      powerExp += baseExp;
      if ((power[centre] as number) > TWO_POW_128) {
        for (let i = 0; i < power.length; i++) power[i] = (power[i] as number) * TWO_POW_MINUS_128;
        powerExp += 128;
      }
    }
    e = Math.floor(e / 2);
    if (e > 0) {
      base = multiply(base, base);
      baseExp *= 2;
      if ((base[centre] as number) > TWO_POW_128) {
        for (let i = 0; i < base.length; i++) base[i] = (base[i] as number) * TWO_POW_MINUS_128;
        baseExp += 128;
      }
    }
  }
  return timesFactorialOverPower((power as Float64Array)[centre] as number, powerExp, n);
}

/**
 * Pelz–Good asymptotic series for P(D_n ≤ x): K0 + K1/√n + K2/n + K3/n^(3/2) with z = x√n;
 * returns [cdf, sf] with the survival assembled term by term, as in SciPy, so the two agree.
 */
function pelzGood(n: number, x: number): { cdf: number; sf: number } {
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z3 = z2 * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const z7 = z6 * z;
  const z8 = z4 * z4;
  const z10 = z8 * z2;
  if (-PI2 / 8 / z2 < -708) return { cdf: 0, sf: 1 };
  const kMax = Math.ceil((16 * z) / Math.PI);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let t2 = 0;
  let t3 = 0;
  // Smallest terms first, so the sums lose nothing to the largest one.
  for (let k = kMax; k >= 1; k--) {
    const m = 2 * k - 1;
    const m2 = m * m;
    const m4 = m2 * m2;
    const m6 = m4 * m2;
    const w = Math.exp((-PI2 * m2) / (8 * z2));
    s0 += w;
    s1 += ((PI2 * m2) / 4 - z2) * w;
    s2 += (6 * z6 + 2 * z4 + ((2 * z4 - 5 * z2) * PI2 * m2) / 4 + (PI4 * (1 - 2 * z2) * m4) / 16) * w;
    s3 +=
      (-30 * z6 - 90 * z8 + (PI2 * (135 * z4 - 96 * z6) * m2) / 4 + (PI4 * (-60 * z2 + 212 * z4) * m4) / 16 + (PI6 * (5 - 30 * z2) * m6) / 64) *
      w;
    const k2 = k * k;
    const v = Math.exp((-PI2 * k2) / (2 * z2));
    t2 += k2 * v;
    t3 += (3 * z2 - PI2 * k2) * k2 * v;
  }
  const k0 = (SQRT_2PI / z) * s0;
  const k1 = (SQRT_2PI / (6 * z4)) * s1;
  const k2 = (SQRT_2PI / (72 * z7)) * s2 - ((PI2 * SQRT_2PI) / (36 * z3)) * t2;
  const k3 = (SQRT_2PI / (6480 * z10)) * s3 + ((PI2 * SQRT_2PI) / (216 * z6)) * t3;
  const rn = Math.sqrt(n);
  const c1 = k1 / rn;
  const c2 = k2 / n;
  const c3 = k3 / (n * rn);
  return { cdf: k0 + c1 + c2 + c3, sf: 1 - k0 - c1 - c2 - c3 };
}

const clip = (p: number): number => Math.min(1, Math.max(0, p));

/**
 * P(D_n ≥ d) for the two-sided one-sample statistic with n observations (SciPy's `kstwo.sf(d, n)`).
 * Exact where cheap; elsewhere the same approximations SciPy chooses, in the same regions.
 */
export function kolmogorovSf(n: number, d: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (Number.isNaN(d)) return NaN;
  if (d >= 1) return 0;
  if (d <= 0) return 1;
  const t = n * d;
  if (t <= 1) {
    // Ruben–Gambino: P(D_n ≤ d) = n!/nⁿ·(2t − 1)ⁿ for 1/(2n) ≤ d ≤ 1/n.
    if (t <= 0.5) return 1;
    return clip(1 - timesFactorialOverPower(1, 0, n) * (2 * t - 1) ** n);
  }
  if (t >= n - 1) return clip(2 * (1 - d) ** n);
  if (d >= 0.5) return clip(2 * smirnovSf(n, d));
  const nd2 = t * d;
  if (n <= 140) {
    // SciPy uses Pomeranz's recursion for 0.754693 < n·d² ≤ 4; Durbin's matrix is exact there too.
    if (nd2 <= 4) return clip(1 - durbinCdf(n, d));
    return clip(2 * smirnovSf(n, d));
  }
  if (nd2 >= 370) return 0;
  if (nd2 >= 2.2) return clip(2 * smirnovSf(n, d));
  if (n <= 100000 && n * d ** 1.5 <= 1.4) return clip(1 - durbinCdf(n, d));
  return clip(pelzGood(n, d).sf);
}
