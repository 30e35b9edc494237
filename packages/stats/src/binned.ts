// Rank tests for data given as counts over shared ordered bins (latency histograms), without
// expanding the counts to raw values: every bin is one group of tied values. The Mann–Whitney U
// test matches SciPy's `mannwhitneyu(method='asymptotic')` on the expanded samples; the
// Hodges–Lehmann shift is the median of the pairwise differences yⱼ − xᵢ over the bins'
// representative values, weighted by the count products, with the distribution-free interval
// whose ranks come from the normal approximation of U (as hodges-lehmann.ts does for tied samples).
//
// Orientation: x is the reference (a baseline), y the sample compared with it (the current run).
// `u`, `commonLanguageEffect` and `alternative` follow SciPy and mannWhitneyU (x against y);
// `superiority` and the Hodges–Lehmann shift read the other way, y relative to x: superiority
// above ½ and a positive shift both mean y tends to be larger.
import type { Alternative } from './alternative.js';
import { normalCdf, normalQuantile, normalSf } from './normal.js';

export interface BinnedMannWhitneyOptions {
  readonly alternative?: Alternative;
  /** Subtract 0.5 from |U − mn/2| before dividing (default true, as SciPy). */
  readonly continuity?: boolean;
}

export interface BinnedMannWhitneyResult {
  /** U of x: the number of pairs with x > y, ties counting ½ (SciPy's statistic for mannwhitneyu(x, y)). */
  readonly u: number;
  readonly pValue: number;
  /** The z score (continuity-corrected when asked); NaN when every value falls in one bin. */
  readonly z: number;
  readonly method: 'asymptotic';
  /** U/(m·n) = P(X > Y) + ½P(X = Y), as mannWhitneyU reports it. */
  readonly commonLanguageEffect: number;
  /** Probability of superiority of y: P(Y > X) + ½P(Y = X) = 1 − commonLanguageEffect. */
  readonly superiority: number;
  /** Standard deviation of U under the null, tie-corrected. */
  readonly sigma: number;
  /** Σ(t³ − t) over the bins, t = the bin's pooled count. */
  readonly tieTerm: number;
  readonly n1: number;
  readonly n2: number;
}

export interface BinnedHodgesLehmannOptions {
  /** Two-sided confidence level of the interval, in (0, 1); default 0.95. */
  readonly confidence?: number;
}

export interface BinnedHodgesLehmannResult {
  /** Median of the m·n differences yⱼ − xᵢ (bin values): positive when y is shifted up relative to x. */
  readonly estimate: number;
  /** The c-th smallest difference; −Infinity when the samples are too small for the level. */
  readonly lower: number;
  /** The (m·n + 1 − c)-th smallest difference; +Infinity when too small. */
  readonly upper: number;
  readonly confidence: number;
  /** Coverage the integer rank c reaches under the normal approximation. */
  readonly achievedConfidence: number;
  /** Always `normal`: binned data are tied data, so the exact U distribution does not apply. */
  readonly method: 'normal';
  /** The rank c of the lower bound among the m·n sorted differences (0 when the interval is unbounded). */
  readonly rank: number;
  readonly n1: number;
  readonly n2: number;
}

/** Checks two count vectors over the same bins; returns their totals. */
function checkCounts(xCounts: ArrayLike<number>, yCounts: ArrayLike<number>): { m: number; n: number } {
  if (xCounts.length !== yCounts.length) {
    throw new RangeError(`the two count vectors must cover the same bins (${xCounts.length} vs ${yCounts.length})`);
  }
  let m = 0;
  let n = 0;
  for (let k = 0; k < xCounts.length; k++) {
    const a = xCounts[k] as number;
    const b = yCounts[k] as number;
    if (!Number.isInteger(a) || a < 0) throw new RangeError(`first counts: bin ${k} holds ${String(a)}, not a non-negative integer`);
    if (!Number.isInteger(b) || b < 0) throw new RangeError(`second counts: bin ${k} holds ${String(b)}, not a non-negative integer`);
    m += a;
    n += b;
  }
  if (m === 0) throw new RangeError('first sample is empty (every count is 0)');
  if (n === 0) throw new RangeError('second sample is empty (every count is 0)');
  return { m, n };
}

/** Σ(t³ − t) over the bins, t the pooled count of the bin. */
function binTieTerm(xCounts: ArrayLike<number>, yCounts: ArrayLike<number>): number {
  let tieTerm = 0;
  for (let k = 0; k < xCounts.length; k++) {
    const t = (xCounts[k] as number) + (yCounts[k] as number);
    if (t > 1) tieTerm += t * t * t - t;
  }
  return tieTerm;
}

/** Null standard deviation of U with the tie correction. */
function uSigma(m: number, n: number, tieTerm: number): number {
  const nn = m + n;
  return Math.sqrt(((m * n) / 12) * (nn + 1 - tieTerm / (nn * (nn - 1))));
}

/**
 * The Mann–Whitney U test of x against y, each given as counts over the same ordered bins (the
 * samples the counts stand for: every value of bin k below every value of bin k + 1, values within
 * a bin tied). O(bins).
 */
export function mannWhitneyBinned(
  xCounts: ArrayLike<number>,
  yCounts: ArrayLike<number>,
  options: BinnedMannWhitneyOptions = {},
): BinnedMannWhitneyResult {
  const alternative = options.alternative ?? 'two-sided';
  const continuity = options.continuity ?? true;
  const { m: n1, n: n2 } = checkCounts(xCounts, yCounts);
  // U of x counted directly: each x in bin k beats every y in a lower bin and ties the y in bin k.
  let u1 = 0;
  let yBelow = 0;
  for (let k = 0; k < xCounts.length; k++) {
    const a = xCounts[k] as number;
    const b = yCounts[k] as number;
    if (a > 0) u1 += a * (yBelow + b / 2);
    yBelow += b;
  }
  const u2 = n1 * n2 - u1;
  const tieTerm = binTieTerm(xCounts, yCounts);
  const sigma = uSigma(n1, n2, tieTerm);
  const commonLanguageEffect = u1 / (n1 * n2);
  const common = { u: u1, method: 'asymptotic' as const, commonLanguageEffect, superiority: u2 / (n1 * n2), sigma, tieTerm, n1, n2 };
  // As SciPy: the larger U for the two-sided test, doubled.
  const [u, factor] = alternative === 'greater' ? [u1, 1] : alternative === 'less' ? [u2, 1] : [Math.max(u1, u2), 2];
  // Every value in one bin: no evidence either way (SciPy returns NaN; 1 keeps NaN out of gates).
  if (!(sigma > 0)) return { ...common, z: NaN, pValue: 1 };
  const z = (u - (n1 * n2) / 2 - (continuity ? 0.5 : 0)) / sigma;
  return { ...common, z, pValue: Math.min(1, factor * normalSf(z)) };
}

/** A deterministic generator (mulberry32), so a selection is reproducible from its inputs. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Below this many candidate cells, sorting them beats another pivot round. */
const GATHER_LIMIT = 4096;

/**
 * Order statistics of the weighted differences d(i, j) = vy[j] − vx[i] over the non-empty bins
 * (weight wx[i]·wy[j]). Rows i are ascending in j and shift left as i rises (rounding is monotone),
 * so the weight at or below a pivot takes one two-pointer pass; random pivots drawn among the
 * remaining cells settle a rank in O(log B) expected passes of O(B).
 */
class WeightedDifferences {
  /** Prefix sums of wy: yCum[j] = wy[0] + … + wy[j − 1]. */
  private readonly yCum: Float64Array;
  readonly total: number;

  constructor(
    private readonly vx: Float64Array,
    private readonly wx: Float64Array,
    private readonly vy: Float64Array,
    wy: Float64Array,
  ) {
    this.yCum = new Float64Array(wy.length + 1);
    for (let j = 0; j < wy.length; j++) this.yCum[j + 1] = (this.yCum[j] as number) + (wy[j] as number);
    let mx = 0;
    for (let i = 0; i < wx.length; i++) mx += wx[i] as number;
    this.total = mx * (this.yCum[wy.length] as number);
  }

  private diff(i: number, j: number): number {
    return (this.vy[j] as number) - (this.vx[i] as number);
  }

  /**
   * Per row, the number of cells with difference < pivot (into lt) and ≤ pivot (into le), and the
   * weights of those cells.
   */
  private countAround(pivot: number, lt: Int32Array, le: Int32Array): { wLt: number; wLe: number } {
    const rows = this.vx.length;
    const cols = this.vy.length;
    let p1 = 0;
    let p2 = 0;
    let wLt = 0;
    let wLe = 0;
    for (let i = 0; i < rows; i++) {
      // Differences fall as the row's x rises, so both pointers only move right.
      while (p1 < cols && this.diff(i, p1) < pivot) p1++;
      if (p2 < p1) p2 = p1;
      while (p2 < cols && this.diff(i, p2) <= pivot) p2++;
      lt[i] = p1;
      le[i] = p2;
      const w = this.wx[i] as number;
      wLt += w * (this.yCum[p1] as number);
      wLe += w * (this.yCum[p2] as number);
    }
    return { wLt, wLe };
  }

  /** The k-th smallest difference counting weights, 1 ≤ k ≤ total. */
  select(k: number): number {
    if (!(k >= 1 && k <= this.total)) throw new RangeError(`rank ${k} outside 1..${this.total}`);
    const rows = this.vx.length;
    const cols = this.vy.length;
    // Candidate cells of row i: columns lo[i] ≤ j < hi[i]; `below` is the weight of the cells
    // known to rank under every candidate.
    const lo = new Int32Array(rows);
    const hi = new Int32Array(rows).fill(cols);
    const lt = new Int32Array(rows);
    const le = new Int32Array(rows);
    let below = 0;
    const rand = random(Math.floor(k) ^ Math.imul(rows, 7919) ^ Math.imul(cols, 104729));
    for (;;) {
      let candidates = 0;
      for (let i = 0; i < rows; i++) candidates += (hi[i] as number) - (lo[i] as number);
      if (candidates <= GATHER_LIMIT) {
        const d = new Float64Array(candidates);
        const w = new Float64Array(candidates);
        let c = 0;
        for (let i = 0; i < rows; i++) {
          const wi = this.wx[i] as number;
          for (let j = lo[i] as number; j < (hi[i] as number); j++) {
            d[c] = this.diff(i, j);
            w[c] = wi * ((this.yCum[j + 1] as number) - (this.yCum[j] as number));
            c++;
          }
        }
        const order = Array.from({ length: candidates }, (_, q) => q).sort((p, q) => (d[p] as number) - (d[q] as number));
        let acc = below;
        for (const q of order) {
          acc += w[q] as number;
          if (acc >= k) return d[q] as number;
        }
        // Unreachable: the candidates' weight always reaches k.
        return d[order[order.length - 1] as number] as number;
      }
      // A uniformly drawn candidate cell as the pivot.
      let r = Math.floor(rand() * candidates);
      let row = 0;
      while (r >= (hi[row] as number) - (lo[row] as number)) {
        r -= (hi[row] as number) - (lo[row] as number);
        row++;
      }
      const pivot = this.diff(row, (lo[row] as number) + r);
      const { wLt, wLe } = this.countAround(pivot, lt, le);
      if (k > wLt && k <= wLe) return pivot;
      if (k <= wLt) {
        for (let i = 0; i < rows; i++) if ((lt[i] as number) < (hi[i] as number)) hi[i] = Math.max(lo[i] as number, lt[i] as number);
      } else {
        for (let i = 0; i < rows; i++) if ((le[i] as number) > (lo[i] as number)) lo[i] = Math.min(hi[i] as number, le[i] as number);
        below = wLe;
      }
    }
  }

  /** The median of the weighted differences (the mean of the two middle ones for an even total). */
  median(): number {
    const t = this.total;
    if (t % 2 === 1) return this.select((t + 1) / 2);
    return (this.select(t / 2) + this.select(t / 2 + 1)) / 2;
  }
}

/**
 * The Hodges–Lehmann shift of y relative to x for binned data: the median of the pairwise
 * differences yⱼ − xᵢ between bin values (`values[k]` stands for every value in bin k; strictly
 * increasing), each weighted by the product of the counts, with the distribution-free confidence
 * interval of order statistics at ranks from the tie-corrected normal approximation of U.
 * O(B log B) expected over the non-empty bins, whatever the counts.
 */
export function hodgesLehmannBinned(
  values: ArrayLike<number>,
  xCounts: ArrayLike<number>,
  yCounts: ArrayLike<number>,
  options: BinnedHodgesLehmannOptions = {},
): BinnedHodgesLehmannResult {
  const confidence = options.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  if (values.length !== xCounts.length) throw new RangeError(`values and counts must cover the same bins (${values.length} vs ${xCounts.length})`);
  for (let k = 0; k < values.length; k++) {
    const v = values[k] as number;
    if (!Number.isFinite(v)) throw new RangeError(`bin values: value at index ${k} is not a finite number (${String(v)})`);
    if (k > 0 && !(v > (values[k - 1] as number))) throw new RangeError(`bin values must be strictly increasing (index ${k})`);
  }
  const { m, n } = checkCounts(xCounts, yCounts);
  const pick = (counts: ArrayLike<number>): { v: Float64Array; w: Float64Array } => {
    const v: number[] = [];
    const w: number[] = [];
    for (let k = 0; k < counts.length; k++) {
      if ((counts[k] as number) > 0) {
        v.push(values[k] as number);
        w.push(counts[k] as number);
      }
    }
    return { v: Float64Array.from(v), w: Float64Array.from(w) };
  };
  const xs = pick(xCounts);
  const ys = pick(yCounts);
  const diffs = new WeightedDifferences(xs.v, xs.w, ys.v, ys.w);
  const total = m * n;
  const halfAlpha = (1 - confidence) / 2;
  const sigma = uSigma(m, n, binTieTerm(xCounts, yCounts));
  const z = normalQuantile(1 - halfAlpha);
  // P(U ≤ c − 1) ≈ Φ((c − 1 + ½ − mn/2)/σ) ≤ α/2  ⇔  c ≤ mn/2 + ½ − z·σ
  const rank = Math.max(0, Math.floor(total / 2 + 0.5 - z * sigma));
  const achievedConfidence = rank === 0 ? 1 : sigma > 0 ? 1 - 2 * normalCdf((rank - 0.5 - total / 2) / sigma) : 1;
  const estimate = diffs.median();
  const lower = rank >= 1 ? diffs.select(rank) : -Infinity;
  const upper = rank >= 1 ? diffs.select(total + 1 - rank) : Infinity;
  return { estimate, lower, upper, confidence, achievedConfidence, method: 'normal', rank, n1: m, n2: n };
}
