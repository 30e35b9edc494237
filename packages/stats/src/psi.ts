// Population Stability Index: Σ (cur − ref)·ln(cur/ref) over bins, for numeric samples binned at
// quantiles of the reference, and for categories. Conventions (pinned by the tests):
// - Edges are the type-7 quantiles of the reference at i/bins, i = 1 … bins−1; equal edges (ties in
//   the reference) are merged, so a reference with few distinct values yields fewer, wider bins.
// - Bins are right-closed, (e₍ᵢ₋₁₎, eᵢ], and the outer ones are open-ended: a value equal to an edge
//   counts in the lower bin, and current values outside the reference range still count.
// - A share below `epsilon` (default 1e-4) is raised to epsilon before the logarithm, so an empty
//   bin adds a bounded amount (a 10% bin that empties adds (0.1 − 1e-4)·ln(0.1/1e-4) ≈ 0.69);
//   shares are not renormalised afterwards.
import { quantileSorted } from './quantile.js';
import { assertNonEmpty, sortedCopy, type Sample } from './sample.js';

export const PSI_DEFAULT_BINS = 10;
export const PSI_DEFAULT_EPSILON = 1e-4;

export interface PsiBin {
  /** Exclusive lower edge (−Infinity for the first bin), or the category. */
  readonly lower: number;
  /** Inclusive upper edge (+Infinity for the last bin). */
  readonly upper: number;
  readonly referenceShare: number;
  readonly currentShare: number;
  /** This bin's term of the sum. */
  readonly contribution: number;
}

export interface PsiResult {
  readonly psi: number;
  readonly bins: readonly PsiBin[];
}

export interface PsiOptions {
  /** Number of reference-quantile bins before merging equal edges (default 10). */
  readonly bins?: number;
  /** Floor for a bin's share (default 1e-4). */
  readonly epsilon?: number;
}

/** One PSI term with the epsilon floor applied to both shares. */
export function psiTerm(referenceShare: number, currentShare: number, epsilon = PSI_DEFAULT_EPSILON): number {
  const r = Math.max(referenceShare, epsilon);
  const c = Math.max(currentShare, epsilon);
  return (c - r) * Math.log(c / r);
}

/** Number of values ≤ v in an ascending array (binary search). */
function countAtOrBelow(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Bin edges: merged type-7 reference quantiles at i/bins. */
export function psiEdges(referenceSorted: Float64Array, bins = PSI_DEFAULT_BINS): number[] {
  if (!Number.isInteger(bins) || bins < 2) throw new RangeError(`PSI needs at least 2 bins, got ${bins}`);
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const e = quantileSorted(referenceSorted, i / bins);
    if (edges.length === 0 || e > (edges[edges.length - 1] as number)) edges.push(e);
  }
  return edges;
}

/** PSI of two numeric samples already sorted ascending (no copy, no checks). */
export function psiSorted(referenceSorted: Float64Array, currentSorted: Float64Array, options: PsiOptions = {}): PsiResult {
  const epsilon = options.epsilon ?? PSI_DEFAULT_EPSILON;
  const edges = psiEdges(referenceSorted, options.bins ?? PSI_DEFAULT_BINS);
  const nr = referenceSorted.length;
  const nc = currentSorted.length;
  const bins: PsiBin[] = [];
  let psi = 0;
  let prevRef = 0;
  let prevCur = 0;
  for (let b = 0; b <= edges.length; b++) {
    const upper = b < edges.length ? (edges[b] as number) : Infinity;
    const ref = b < edges.length ? countAtOrBelow(referenceSorted, upper) : nr;
    const cur = b < edges.length ? countAtOrBelow(currentSorted, upper) : nc;
    const referenceShare = (ref - prevRef) / nr;
    const currentShare = (cur - prevCur) / nc;
    const contribution = psiTerm(referenceShare, currentShare, epsilon);
    psi += contribution;
    bins.push({ lower: b === 0 ? -Infinity : (edges[b - 1] as number), upper, referenceShare, currentShare, contribution });
    prevRef = ref;
    prevCur = cur;
  }
  return { psi, bins };
}

/** PSI of two numeric samples with bins at reference quantiles. */
export function psi(reference: Sample, current: Sample, options: PsiOptions = {}): PsiResult {
  assertNonEmpty(reference, 'reference sample');
  assertNonEmpty(current, 'current sample');
  return psiSorted(sortedCopy(reference, 'reference sample'), sortedCopy(current, 'current sample'), options);
}
