// @ferry/stats binned rank tests and Welch's t-test against SciPy: `stats_reference.py binned`
// expands each case's bin counts to raw samples (np.repeat of the bin values) and asks SciPy's
// mannwhitneyu (asymptotic, tie-corrected) and NumPy's median of every pairwise difference; the
// largest cases, too big to expand into pairs, take a weighted brute force over bin pairs instead
// (checked against the expansion in the script wherever both run). Welch against ttest_ind.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  hodgesLehmann,
  hodgesLehmannBinned,
  mannWhitneyBinned,
  mannWhitneyU,
  studentTCdf,
  studentTQuantile,
  studentTSf,
  welchTTest,
  type Alternative,
} from '@ferry/stats';
import { requirePython } from '../support/python.js';
import { REPO_ROOT } from '../support/repo.js';

interface BinnedCase {
  name: string;
  values: number[];
  x: number[];
  y: number[];
}

interface Reference {
  versions: { scipy: string; numpy: string };
  mannWhitney: (BinnedCase & { alternative: Alternative; continuity: boolean; u: number; pvalue: number | null })[];
  hodgesLehmann: (BinnedCase & { confidence: number; estimate: number; lower: number | null; upper: number | null; rank: number; expanded: boolean })[];
  welch: { name: string; x: number[]; y: number[]; alternative: Alternative; t: number; pvalue: number; df: number; difference: number; lower: number; upper: number }[];
  studentT: { cdf: { t: number; df: number; cdf: number; sf: number }[]; quantile: { p: number; df: number; t: number }[] };
}

const ref = JSON.parse(
  execFileSync(requirePython(), [join(REPO_ROOT, 'test/fixtures/stats_reference.py'), 'binned'], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  }),
) as Reference;

/** |actual − expected| ≤ max(rel·|expected|, abs). */
function expectClose(actual: number, expected: number, rel: number, abs = 0): void {
  const tolerance = Math.max(rel * Math.abs(expected), abs);
  if (!(Math.abs(actual - expected) <= tolerance)) {
    expect.fail(`expected ${actual} to be within ${tolerance.toExponential(2)} of ${expected} (off by ${Math.abs(actual - expected).toExponential(3)})`);
  }
}

/** The raw sample a count vector stands for. */
function expand(values: readonly number[], counts: readonly number[]): number[] {
  const out: number[] = [];
  counts.forEach((c, k) => {
    for (let i = 0; i < c; i++) out.push(values[k]!);
  });
  return out;
}

describe(`binned tests against SciPy ${ref.versions.scipy} / NumPy ${ref.versions.numpy}`, () => {
  describe('Mann–Whitney U over shared bins (mannwhitneyu asymptotic on the expanded samples)', () => {
    it.each(ref.mannWhitney)('$name $alternative continuity=$continuity', (c) => {
      const r = mannWhitneyBinned(c.x, c.y, { alternative: c.alternative, continuity: c.continuity });
      expect(r.u).toBe(c.u);
      // SciPy's NaN (every value in one bin) is reported as p = 1.
      if (c.pvalue === null) expect(r.pValue).toBe(1);
      else expectClose(r.pValue, c.pvalue, 1e-11, 1e-300);
      expect(r.n1 * r.n2 * r.commonLanguageEffect).toBeCloseTo(c.u, 6);
      expect(r.superiority).toBeCloseTo(1 - r.commonLanguageEffect, 12);
    });
  });

  describe('Hodges–Lehmann shift over shared bins (median of every yⱼ − xᵢ)', () => {
    it.each(ref.hodgesLehmann)('$name at $confidence', (c) => {
      const r = hodgesLehmannBinned(c.values, c.x, c.y, { confidence: c.confidence });
      expect(r.method).toBe('normal');
      expect(r.rank).toBe(c.rank);
      expect(r.estimate).toBe(c.estimate);
      expect(r.lower).toBe(c.lower ?? -Infinity);
      expect(r.upper).toBe(c.upper ?? Infinity);
      if (r.rank > 0) expect(r.achievedConfidence).toBeGreaterThan(c.confidence - 0.01);
    });
  });

  describe("Welch's t-test (ttest_ind, equal_var=False)", () => {
    it.each(ref.welch)('$name $alternative', (c) => {
      const r = welchTTest(c.x, c.y, { alternative: c.alternative });
      expectClose(r.t, c.t, 1e-11, 1e-13);
      expectClose(r.df, c.df, 1e-11);
      expectClose(r.pValue, c.pvalue, 1e-9, 1e-300);
      expectClose(r.difference, c.difference, 1e-12, 1e-14);
      expectClose(r.lower, c.lower, 1e-9, 1e-12);
      expectClose(r.upper, c.upper, 1e-9, 1e-12);
    });
  });

  describe('Student t distribution', () => {
    it.each(ref.studentT.cdf)('cdf and sf at t = $t, df = $df', ({ t, df, cdf, sf }) => {
      expectClose(studentTCdf(t, df), cdf, 1e-9, 1e-300);
      expectClose(studentTSf(t, df), sf, 1e-9, 1e-300);
    });
    it.each(ref.studentT.quantile)('quantile at p = $p, df = $df', ({ p, df, t }) => {
      // SciPy's t.ppf (cephes stdtrit) is good to ~1e-9 for fractional df: its own sf at its
      // quantile misses 1 − p by 2e-9 at df = 3.3. The round trip through the CDF is held tighter.
      const q = studentTQuantile(p, df);
      expectClose(q, t, 1e-8, 1e-15);
      if (p > 0.5) expectClose(studentTSf(q, df), 1 - p, 1e-12);
      else if (p < 0.5) expectClose(studentTCdf(q, df), p, 1e-12);
    });
  });
});

describe('binned tests: properties beyond the reference values', () => {
  it('equal the raw-sample tests on the expanded samples (mirror orientation for Hodges–Lehmann)', () => {
    const values = [0.5, 1.25, 2, 3.5, 7, 7.5, 11];
    const x = [3, 0, 7, 2, 9, 0, 1];
    const y = [0, 4, 1, 6, 2, 8, 5];
    const xs = expand(values, x);
    const ys = expand(values, y);
    for (const alternative of ['two-sided', 'less', 'greater'] as const) {
      const raw = mannWhitneyU(xs, ys, { alternative });
      const binned = mannWhitneyBinned(x, y, { alternative });
      expect(binned.u).toBe(raw.u);
      expectClose(binned.pValue, raw.pValue, 1e-14);
      expect(binned.commonLanguageEffect).toBe(raw.commonLanguageEffect);
    }
    // hodgesLehmann(a, b) is the median of a − b: y relative to x is hodgesLehmann(y, x).
    const raw = hodgesLehmann(ys, xs, { confidence: 0.9 });
    const binned = hodgesLehmannBinned(values, x, y, { confidence: 0.9 });
    expect(binned.estimate).toBe(raw.estimate);
    expect(binned.rank).toBe(raw.rank);
    expect([binned.lower, binned.upper]).toEqual([raw.lower, raw.upper]);
  });

  it('selects exact order statistics among heavily tied differences with huge counts', () => {
    // Integer bin values make many equal differences; counts in the millions make m·n ~ 10^13.
    const values = Array.from({ length: 60 }, (_, k) => k);
    const x = values.map((k) => (k < 40 ? 1_000_000 + k * 1000 : 0));
    const y = values.map((k) => (k >= 5 ? 900_000 + (k % 7) * 50_000 : 0));
    const r = hodgesLehmannBinned(values, x, y);
    // Reference by brute force over bin pairs.
    const pairs: [number, number][] = [];
    values.forEach((vx, i) => values.forEach((vy, j) => x[i]! * y[j]! > 0 && pairs.push([vy - vx, x[i]! * y[j]!])));
    pairs.sort((a, b) => a[0] - b[0]);
    const total = pairs.reduce((s, p) => s + p[1], 0);
    const select = (k: number): number => {
      let acc = 0;
      for (const [d, w] of pairs) if ((acc += w) >= k) return d;
      throw new Error('rank beyond total');
    };
    expect(total).toBe(r.n1 * r.n2);
    expect(r.estimate).toBe(total % 2 ? select((total + 1) / 2) : (select(total / 2) + select(total / 2 + 1)) / 2);
    expect(r.lower).toBe(select(r.rank));
    expect(r.upper).toBe(select(total + 1 - r.rank));
    expect(r.lower).toBeLessThanOrEqual(r.estimate);
    expect(r.upper).toBeGreaterThanOrEqual(r.estimate);
  });

  it('handles a histogram-sized layout (thousands of non-empty bins) quickly', () => {
    const B = 4000;
    const values = Array.from({ length: B }, (_, k) => 1 + k * 0.013);
    const x = values.map((_, k) => 1 + ((k * 7919) % 13));
    const y = values.map((_, k) => ((k * 104729) % 11) + (k > 200 ? 1 : 0));
    const started = performance.now();
    const r = hodgesLehmannBinned(values, x, y, { confidence: 0.98 });
    expect(performance.now() - started).toBeLessThan(5000);
    expect(r.lower).toBeLessThanOrEqual(r.estimate);
    expect(r.estimate).toBeLessThanOrEqual(r.upper);
    const mw = mannWhitneyBinned(x, y);
    expect(mw.pValue).toBeGreaterThanOrEqual(0);
    expect(mw.pValue).toBeLessThanOrEqual(1);
  });

  it('rejects malformed input', () => {
    expect(() => mannWhitneyBinned([1, 2], [1])).toThrow(RangeError);
    expect(() => mannWhitneyBinned([0, 0], [1, 2])).toThrow(/first sample is empty/);
    expect(() => mannWhitneyBinned([1, 2], [0, 0])).toThrow(/second sample is empty/);
    expect(() => mannWhitneyBinned([1, -1], [1, 2])).toThrow(/bin 1/);
    expect(() => mannWhitneyBinned([1, 0.5], [1, 2])).toThrow(RangeError);
    expect(() => hodgesLehmannBinned([1, 1], [1, 1], [1, 1])).toThrow(/strictly increasing/);
    expect(() => hodgesLehmannBinned([1, NaN], [1, 1], [1, 1])).toThrow(/finite/);
    expect(() => hodgesLehmannBinned([1, 2], [1, 1], [1, 1], { confidence: 1 })).toThrow(RangeError);
    expect(() => welchTTest([1], [1, 2])).toThrow(RangeError);
    expect(() => welchTTest([1, 2], [1, NaN])).toThrow(RangeError);
  });

  it('Welch with no spread on either side: equal means p = 1, different means p = 0', () => {
    expect(welchTTest([3, 3], [3, 3, 3]).pValue).toBe(1);
    const r = welchTTest([3, 3], [4, 4, 4]);
    expect(r.pValue).toBe(0);
    expect(r.t).toBe(-Infinity);
    expect(welchTTest([3, 3], [4, 4], { alternative: 'greater' }).pValue).toBe(1);
  });
});
