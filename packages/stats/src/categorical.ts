// Comparing two categorical distributions given as counts per category: PSI over categories,
// Jensen–Shannon divergence (base 2, so it lies in [0, 1]) and the chi-square test of homogeneity.
import { chiSquareSf } from './gamma.js';
import { PSI_DEFAULT_EPSILON, psiTerm } from './psi.js';

/** Counts per category, as a Map or a plain object. */
export type CategoryCounts = ReadonlyMap<string, number> | Readonly<Record<string, number>>;

/** Counts of each distinct value. */
export function countCategories(values: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

interface Aligned {
  readonly categories: string[];
  readonly ref: Float64Array;
  readonly cur: Float64Array;
  readonly refTotal: number;
  readonly curTotal: number;
}

function entries(counts: CategoryCounts): [string, number][] {
  return counts instanceof Map ? [...(counts as ReadonlyMap<string, number>).entries()] : Object.entries(counts);
}

/** Both count vectors over the union of categories, in sorted category order. */
function align(reference: CategoryCounts, current: CategoryCounts): Aligned {
  const r = new Map(entries(reference));
  const c = new Map(entries(current));
  const categories = [...new Set([...r.keys(), ...c.keys()])].sort();
  const ref = new Float64Array(categories.length);
  const cur = new Float64Array(categories.length);
  categories.forEach((k, i) => {
    const rv = r.get(k) ?? 0;
    const cv = c.get(k) ?? 0;
    if (!(rv >= 0 && cv >= 0 && Number.isFinite(rv) && Number.isFinite(cv))) {
      throw new RangeError(`count for category "${k}" must be a finite non-negative number`);
    }
    ref[i] = rv;
    cur[i] = cv;
  });
  const refTotal = ref.reduce((s, v) => s + v, 0);
  const curTotal = cur.reduce((s, v) => s + v, 0);
  if (refTotal <= 0) throw new RangeError('reference counts are all zero');
  if (curTotal <= 0) throw new RangeError('current counts are all zero');
  return { categories, ref, cur, refTotal, curTotal };
}

export interface CategoryShare {
  readonly category: string;
  readonly referenceShare: number;
  readonly currentShare: number;
  readonly contribution: number;
}

/** PSI over categories (the union of both), with the same epsilon floor as numeric PSI. */
export function categoricalPsi(
  reference: CategoryCounts,
  current: CategoryCounts,
  options: { readonly epsilon?: number } = {},
): { readonly psi: number; readonly categories: readonly CategoryShare[] } {
  const epsilon = options.epsilon ?? PSI_DEFAULT_EPSILON;
  const a = align(reference, current);
  let psi = 0;
  const categories = a.categories.map((category, i) => {
    const referenceShare = (a.ref[i] as number) / a.refTotal;
    const currentShare = (a.cur[i] as number) / a.curTotal;
    const contribution = psiTerm(referenceShare, currentShare, epsilon);
    psi += contribution;
    return { category, referenceShare, currentShare, contribution };
  });
  return { psi, categories };
}

export interface JensenShannonResult {
  /** JS divergence in bits (log base 2): 0 for identical distributions, 1 for disjoint ones. */
  readonly divergence: number;
  /** √divergence: a metric, the value SciPy's `jensenshannon(p, q, base=2)` returns. */
  readonly distance: number;
}

/** Jensen–Shannon divergence and distance between two categorical distributions, base 2. */
export function jensenShannon(reference: CategoryCounts, current: CategoryCounts): JensenShannonResult {
  const a = align(reference, current);
  let sum = 0;
  for (let i = 0; i < a.categories.length; i++) {
    const p = (a.ref[i] as number) / a.refTotal;
    const q = (a.cur[i] as number) / a.curTotal;
    const m = (p + q) / 2;
    if (p > 0) sum += p * Math.log(p / m);
    if (q > 0) sum += q * Math.log(q / m);
  }
  const divergence = Math.min(1, Math.max(0, sum / 2 / Math.LN2));
  return { divergence, distance: Math.sqrt(divergence) };
}

export interface ChiSquareResult {
  readonly statistic: number;
  readonly dof: number;
  readonly pValue: number;
}

/**
 * Pearson's chi-square test that two samples come from the same categorical distribution (the
 * 2×k contingency table, no continuity correction: SciPy's `chi2_contingency(correction=False)`).
 */
export function chiSquareHomogeneity(reference: CategoryCounts, current: CategoryCounts): ChiSquareResult {
  const a = align(reference, current);
  const total = a.refTotal + a.curTotal;
  let statistic = 0;
  let used = 0;
  for (let i = 0; i < a.categories.length; i++) {
    const column = (a.ref[i] as number) + (a.cur[i] as number);
    if (column === 0) continue;
    used++;
    for (const [observed, rowTotal] of [
      [a.ref[i] as number, a.refTotal],
      [a.cur[i] as number, a.curTotal],
    ] as const) {
      const expected = (rowTotal * column) / total;
      statistic += ((observed - expected) * (observed - expected)) / expected;
    }
  }
  const dof = used - 1;
  return { statistic, dof, pValue: dof <= 0 ? 1 : chiSquareSf(statistic, dof) };
}
