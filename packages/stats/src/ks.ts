// Two-sample Kolmogorov–Smirnov test, two-sided, matching SciPy's `ks_2samp(method='auto')`:
// exact p-value when both samples have at most 10 000 values, otherwise `kstwo.sf(D, round(mn/(m+n)))`.
import { kolmogorovSf } from './kolmogorov.js';
import { assertNonEmpty, gcd, sortedCopy, type Sample } from './sample.js';

/** SciPy's limit for the exact method under 'auto'. */
export const KS_EXACT_MAX_N = 10_000;

export interface KsResult {
  /** D = sup |F₁ − F₂| over the pooled values. */
  readonly statistic: number;
  readonly pValue: number;
  readonly method: 'exact' | 'asymptotic';
  /** +1 when the first sample's ECDF is above the second's at D (x tends smaller), −1 otherwise. */
  readonly sign: 1 | -1;
  readonly n1: number;
  readonly n2: number;
}

export interface KsOptions {
  /** `auto` (default) as SciPy; `exact` or `asymptotic` to force one. */
  readonly method?: 'auto' | 'exact' | 'asymptotic';
}

/** Two-sided two-sample KS test. */
export function ks2Sample(x: Sample, y: Sample, options: KsOptions = {}): KsResult {
  assertNonEmpty(x, 'first sample');
  assertNonEmpty(y, 'second sample');
  return ks2SampleSorted(sortedCopy(x, 'first sample'), sortedCopy(y, 'second sample'), options);
}

/**
 * max over pooled values of |c₁·n₂ − c₂·n₁|, where cᵢ counts sample i at or below the value:
 * D·n₁·n₂ as an exact integer, so the exact method needs no rounding of D.
 */
function scaledStatistic(x: Float64Array, y: Float64Array): { scaled: number; sign: 1 | -1 } {
  const n1 = x.length;
  const n2 = y.length;
  let i = 0;
  let j = 0;
  let maxPlus = 0;
  let maxMinus = 0;
  while (i < n1 && j < n2) {
    const v = Math.min(x[i] as number, y[j] as number);
    while (i < n1 && x[i] === v) i++;
    while (j < n2 && y[j] === v) j++;
    const diff = i * n2 - j * n1;
    if (diff > maxPlus) maxPlus = diff;
    if (-diff > maxMinus) maxMinus = -diff;
  }
  // Past the end of one sample the gap only closes, so the maximum is already found.
  // SciPy reports the side where the ECDF of x is lower only when it is strictly larger.
  return maxMinus > maxPlus ? { scaled: maxMinus, sign: -1 } : { scaled: maxPlus, sign: 1 };
}

/**
 * P(D ≥ h/lcm) for samples of equal size n, by the reflection formula
 * 2·Σ_{k≥1} (−1)^(k−1)·C(2n, n − kh)/C(2n, n), with the binomial ratios built as products.
 */
function exactEqualSizes(n: number, h: number): number {
  let sum = 0;
  let ratio = 1;
  let sign = 1;
  for (let k = 1; k * h <= n; k++) {
    for (let j = (k - 1) * h; j < k * h; j++) ratio *= (n - j) / (n + j + 1);
    sum += sign * ratio;
    sign = -sign;
    if (ratio === 0) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/**
 * P(D ≥ h/lcm) for sizes m ≥ n by the probability that a uniformly random lattice path from (0,0)
 * to (m, n) leaves the band |nᵍ·i − mᵍ·j| < h (mᵍ = m/g, nᵍ = n/g). Q(i,j), the chance that a
 * random path to (i,j) has already left, is 1 outside the band and the average
 * (i·Q(i−1,j) + j·Q(i,j−1))/(i + j) inside (the last step came from the left with chance i/(i+j)).
 * Only positive terms are combined, so tiny p-values keep full relative accuracy; the work is
 * O(m · band) = O(2·D·m·n).
 */
function exactUnequalSizes(m: number, n: number, g: number, h: number): number {
  const mg = m / g;
  const ng = n / g;
  const q = new Float64Array(n + 1).fill(1);
  // Column i = 0: inside while mg·j < h; a path along the edge cannot have left before it ends.
  for (let j = 0; j <= n && mg * j < h; j++) q[j] = 0;
  for (let i = 1; i <= m; i++) {
    const jMin = Math.max(0, Math.floor((ng * i - h) / mg) + 1);
    const jMax = Math.min(n, Math.ceil((ng * i + h) / mg) - 1);
    if (jMax < jMin) return 1;
    let left = jMin === 0 ? 0 : 1; // Q(i, jMin − 1): outside the band, or no such cell
    for (let j = jMin; j <= jMax; j++) {
      const up = q[j] as number; // Q(i − 1, j): 1 if (i − 1, j) was outside
      left = (i * up + j * left) / (i + j);
      q[j] = left;
    }
  }
  return q[n] as number;
}

/** Round half to even, as NumPy's `round`. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The two-sided two-sample KS test on samples already sorted ascending (no copy, no checks). */
export function ks2SampleSorted(x: Float64Array, y: Float64Array, options: KsOptions = {}): KsResult {
  const n1 = x.length;
  const n2 = y.length;
  const { scaled, sign } = scaledStatistic(x, y);
  const statistic = scaled / (n1 * n2);
  const requested = options.method ?? 'auto';
  const method = requested === 'auto' ? (Math.max(n1, n2) <= KS_EXACT_MAX_N ? 'exact' : 'asymptotic') : requested;
  const base = { statistic, sign, n1, n2 };
  if (method === 'exact') {
    const g = gcd(n1, n2);
    const h = scaled / g; // D·lcm(n1, n2), an integer
    if (h === 0) return { ...base, pValue: 1, method };
    const p = n1 === n2 ? exactEqualSizes(n1, h) : exactUnequalSizes(Math.max(n1, n2), Math.min(n1, n2), g, h);
    return { ...base, pValue: Math.min(1, Math.max(0, p)), method };
  }
  const big = Math.max(n1, n2);
  const small = Math.min(n1, n2);
  const en = (big * small) / (big + small);
  return { ...base, pValue: kolmogorovSf(Math.max(1, roundHalfEven(en)), statistic), method };
}
