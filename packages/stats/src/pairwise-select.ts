// The k-th smallest of the m·n pairwise differences xᵢ − yⱼ without forming them: selection over
// the sorted-matrix structure, where counting the differences below a pivot takes one O(m + n)
// two-pointer pass. Pivots come in pairs from a random sample of the remaining candidates
// (Floyd–Rivest style), bracketing rank k so each round keeps ~1/50 of them: a Hodges–Lehmann
// estimate on 10^5 × 10^5 samples takes about four passes per rank, not 10^10 steps.

/** A deterministic generator (mulberry32), so a run is reproducible from its inputs. */
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

const SAMPLE_SIZE = 16_384;
/**
 * Half-width of the bracket around the target's position in the sorted sample, in sample ranks:
 * three binomial standard deviations (at most √s/2), so the target escapes it in ~0.3% of rounds
 * and each round keeps ~2% of the candidates.
 */
const BRACKET = 1.5 * Math.sqrt(SAMPLE_SIZE);
/** Below this many candidates, sorting them beats another round. */
const GATHER_LIMIT = 16_384;

/** Per-row counts of differences below a pivot: `lt` strictly below, `le` at or below. */
interface RowCounts {
  readonly lt: Int32Array;
  readonly le: Int32Array;
  totalLt: number;
  totalLe: number;
}

/**
 * Selector over the differences xᵢ − yⱼ of two ascending samples. The differences are computed
 * as xᵢ + (−yⱼ) with −y reversed (the same IEEE value as xᵢ − yⱼ), so each row is ascending and
 * the rows are ordered too: rounding is monotone, so counting by two pointers stays exact.
 */
export class PairwiseDifferences {
  private readonly x: Float64Array;
  private readonly negY: Float64Array;
  readonly count: number;

  constructor(xSorted: Float64Array, ySorted: Float64Array) {
    this.x = xSorted;
    const n = ySorted.length;
    this.negY = new Float64Array(n);
    for (let j = 0; j < n; j++) this.negY[j] = -(ySorted[n - 1 - j] as number);
    this.count = xSorted.length * n;
  }

  private counts(): RowCounts {
    return { lt: new Int32Array(this.x.length), le: new Int32Array(this.x.length), totalLt: 0, totalLe: 0 };
  }

  /**
   * Per row, how many differences are < low and ≤ low (into `a`), < high and ≤ high (into `b`),
   * in one pass: four pointers that only fall as the row's x rises.
   */
  private countAround(low: number, high: number, a: RowCounts, b: RowCounts): void {
    const x = this.x;
    const negY = this.negY;
    const m = x.length;
    const n = negY.length;
    let p1 = n; // columns below p1 hold differences < low
    let p2 = n; // ≤ low
    let p3 = n; // < high
    let p4 = n; // ≤ high
    let t1 = 0;
    let t2 = 0;
    let t3 = 0;
    let t4 = 0;
    for (let i = 0; i < m; i++) {
      // Compare the sum xᵢ + (−yⱼ) itself: pivot − xᵢ against −yⱼ could round differently.
      const xi = x[i] as number;
      while (p4 > 0 && xi + (negY[p4 - 1] as number) > high) p4--;
      if (p3 > p4) p3 = p4;
      while (p3 > 0 && xi + (negY[p3 - 1] as number) >= high) p3--;
      if (p2 > p3) p2 = p3;
      while (p2 > 0 && xi + (negY[p2 - 1] as number) > low) p2--;
      if (p1 > p2) p1 = p2;
      while (p1 > 0 && xi + (negY[p1 - 1] as number) >= low) p1--;
      a.lt[i] = p1;
      a.le[i] = p2;
      b.lt[i] = p3;
      b.le[i] = p4;
      t1 += p1;
      t2 += p2;
      t3 += p3;
      t4 += p4;
    }
    a.totalLt = t1;
    a.totalLe = t2;
    b.totalLt = t3;
    b.totalLe = t4;
  }

  /** How many differences are ≤ v: one pass. */
  countAtOrBelow(v: number): number {
    const x = this.x;
    const negY = this.negY;
    let j = negY.length;
    let total = 0;
    for (let i = 0; i < x.length; i++) {
      const xi = x[i] as number;
      while (j > 0 && xi + (negY[j - 1] as number) > v) j--;
      total += j;
    }
    return total;
  }

  /** The smallest difference strictly greater than v (Infinity when there is none): one pass. */
  nextAbove(v: number): number {
    const x = this.x;
    const negY = this.negY;
    const n = negY.length;
    let j = n; // first column whose difference exceeds v, for the current row
    let best = Infinity;
    for (let i = 0; i < x.length; i++) {
      const xi = x[i] as number;
      while (j > 0 && xi + (negY[j - 1] as number) > v) j--;
      if (j < n) {
        const d = xi + (negY[j] as number);
        if (d < best) best = d;
      }
    }
    return best;
  }

  /** The k-th smallest difference, 1 ≤ k ≤ m·n. */
  select(k: number): number {
    if (!Number.isInteger(k) || k < 1 || k > this.count) throw new RangeError(`rank ${k} outside 1..${this.count}`);
    const { x, negY } = this;
    const m = x.length;
    // Candidates in row i are columns lo[i] ≤ j < hi[i]; `below` differences rank under all of them.
    const lo = new Int32Array(m);
    const hi = new Int32Array(m).fill(negY.length);
    const a = this.counts();
    const b = this.counts();
    let below = 0;
    let candidates = this.count;
    const rand = random(k ^ Math.imul(m, 7919) ^ Math.imul(negY.length, 104729));
    for (;;) {
      if (candidates <= GATHER_LIMIT) {
        const values = new Float64Array(candidates);
        let w = 0;
        for (let i = 0; i < m; i++) {
          const xi = x[i] as number;
          for (let j = lo[i] as number; j < (hi[i] as number); j++) values[w++] = xi + (negY[j] as number);
        }
        values.sort();
        return values[k - below - 1] as number;
      }
      // Sample candidates uniformly: sorted draws of a candidate index, located by one sequential
      // sweep over the rows (random binary searches would miss the cache on every step).
      const draws = new Float64Array(SAMPLE_SIZE);
      for (let s = 0; s < SAMPLE_SIZE; s++) draws[s] = Math.floor(rand() * candidates);
      draws.sort();
      const sample = new Float64Array(SAMPLE_SIZE);
      let row = 0;
      let start = 0; // candidate index of the first candidate in `row`
      for (let s = 0; s < SAMPLE_SIZE; s++) {
        const r = draws[s] as number;
        while (start + ((hi[row] as number) - (lo[row] as number)) <= r) {
          start += (hi[row] as number) - (lo[row] as number);
          row++;
        }
        sample[s] = (x[row] as number) + (negY[(lo[row] as number) + r - start] as number);
      }
      sample.sort();
      const target = ((k - below) / candidates) * SAMPLE_SIZE;
      const low = sample[Math.max(0, Math.floor(target - BRACKET))] as number;
      const high = sample[Math.min(SAMPLE_SIZE - 1, Math.ceil(target + BRACKET))] as number;
      this.countAround(low, high, a, b);
      if (k > a.totalLt && k <= a.totalLe) return low;
      if (k > b.totalLt && k <= b.totalLe) return high;
      if (k <= a.totalLt) {
        // Below the bracket (rare): keep what lies under `low`.
        for (let i = 0; i < m; i++) hi[i] = a.lt[i] as number;
      } else if (k > b.totalLe) {
        for (let i = 0; i < m; i++) lo[i] = b.le[i] as number;
        below = b.totalLe;
      } else {
        // The usual case: strictly between the pivots, whose ties are now excluded too.
        for (let i = 0; i < m; i++) {
          lo[i] = a.le[i] as number;
          hi[i] = b.lt[i] as number;
        }
        below = a.totalLe;
      }
      // Every branch excludes at least the pivot it compared against, so this always shrinks.
      candidates = 0;
      for (let i = 0; i < m; i++) candidates += (hi[i] as number) - (lo[i] as number);
    }
  }
}
