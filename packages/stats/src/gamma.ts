// Log-gamma and the regularized upper incomplete gamma function, for chi-square p-values.

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** log Γ(x) for x > 0: Stirling's series after shifting x above 15 (relative error ~1e-15). */
export function logGamma(x: number): number {
  if (!(x > 0)) return NaN;
  // Γ(x) = Γ(x + k)/(x(x+1)…(x+k−1)); one logarithm of the product rounds less than k of them.
  let product = 1;
  let z = x;
  while (z < 15) {
    product *= z;
    z += 1;
  }
  const shift = Math.log(product);
  const z2 = z * z;
  // Bernoulli terms B₂ₖ/(2k(2k−1)z^(2k−1)), k = 1…6
  const series = (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - (1 / 1188 - 691 / 360360 / z2) / z2) / z2) / z2) / z2) / z;
  return (z - 0.5) * Math.log(z) - z + HALF_LOG_2PI + series - shift;
}

/**
 * Q(a, x) = Γ(a, x)/Γ(a), the regularized upper incomplete gamma: the series for P = 1 − Q below
 * x = a + 1, Legendre's continued fraction (modified Lentz) above, where Q is small and needs
 * relative accuracy.
 */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || Number.isNaN(x)) return NaN;
  if (x <= 0) return 1;
  if (x === Infinity) return 0;
  const logPrefix = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10000; n++) {
      term *= x / (a + n);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return Math.max(0, 1 - Math.exp(logPrefix) * sum);
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(logPrefix) * h;
}

/** P(χ²_dof ≥ statistic). */
export function chiSquareSf(statistic: number, dof: number): number {
  if (dof <= 0) return 1;
  return gammaQ(dof / 2, statistic / 2);
}
