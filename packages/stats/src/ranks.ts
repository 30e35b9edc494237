// Rank sums of two samples with mid-ranks for ties, by one merge of the two sorted samples:
// O(n log n) for the sorts, O(n) here, and no n-sized index array for 10^5-point samples.

export interface RankSums {
  /** Sum of the (mid-)ranks of the first sample in the pooled sample. */
  readonly rankSumX: number;
  /** Σ(t³ − t) over groups of tied values in the pooled sample (0 when there are no ties). */
  readonly tieTerm: number;
  /** Whether any value occurs more than once in the pooled sample. */
  readonly hasTies: boolean;
}

/** Rank sums of two ascending samples; tied values share the mean of the ranks they span. */
export function rankSums(x: Float64Array, y: Float64Array): RankSums {
  let i = 0;
  let j = 0;
  let rank = 0; // ranks used so far
  let rankSumX = 0;
  let tieTerm = 0;
  while (i < x.length || j < y.length) {
    const xi = i < x.length ? (x[i] as number) : Infinity;
    const yj = j < y.length ? (y[j] as number) : Infinity;
    const v = xi <= yj ? xi : yj;
    let a = 0;
    while (i < x.length && x[i] === v) {
      i++;
      a++;
    }
    let b = 0;
    while (j < y.length && y[j] === v) {
      j++;
      b++;
    }
    const t = a + b;
    rankSumX += a * (rank + (t + 1) / 2);
    if (t > 1) tieTerm += t * t * t - t;
    rank += t;
  }
  return { rankSumX, tieTerm, hasTies: tieTerm > 0 };
}
