// @ferry/stats against SciPy: test/fixtures/stats_reference.py computes every reference value with
// SciPy/NumPy on seeded samples (tiny, tied, identical, far apart, 10^4–10^5 values) and this file
// feeds the same samples to Ferry. Tolerances are relative unless a value is near zero.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  categoricalPsi,
  chiSquareHomogeneity,
  chiSquareSf,
  erf,
  erfc,
  fisherExact,
  gammaQ,
  hodgesLehmann,
  jensenShannon,
  ks2Sample,
  kolmogorovSf,
  logGamma,
  mannWhitneyU,
  normalCdf,
  normalPdf,
  normalQuantile,
  normalSf,
  psi,
  psiEdges,
  quantiles,
  rankSumNullCdf,
  smirnovSf,
  sortedCopy,
  twoProportionZTest,
  type Alternative,
} from '@ferry/stats';
import { requirePython } from '../support/python.js';
import { REPO_ROOT } from '../support/repo.js';

interface Reference {
  versions: { scipy: string; numpy: string };
  normal: {
    cdf: { x: number; cdf: number; sf: number; pdf: number }[];
    erfc: { x: number; erf: number; erfc: number }[];
    quantile: { p: number; x: number }[];
  };
  gamma: {
    gammaQ: { a: number; x: number; q: number }[];
    logGamma: { x: number; value: number }[];
    chi2: { x: number; dof: number; sf: number }[];
  };
  quantile: { name: string; values: number[]; ps: number[]; expected: number[] }[];
  kstwo: { n: number; d: number; sf: number }[];
  smirnov: { n: number; d: number; sf: number }[];
  ks: { name: string; x: number[]; y: number[]; statistic: number; pvalue: number }[];
  mannWhitney: {
    name: string;
    x: number[];
    y: number[];
    alternative: Alternative;
    continuity: boolean;
    method: 'asymptotic' | 'exact';
    u: number;
    pvalue: number;
  }[];
  hodgesLehmann: {
    name: string;
    x: number[];
    y: number[];
    confidence: number;
    estimate: number;
    lower: number | null;
    upper: number | null;
    rank: number;
    method: 'exact' | 'normal';
  }[];
  psi: { name: string; reference: number[]; current: number[]; bins: number; psi: number; edges: number[] }[];
  categorical: {
    name: string;
    reference: Record<string, number>;
    current: Record<string, number>;
    psi: number;
    jsDistance: number;
    jsDivergence: number;
    chi2: number;
    dof: number;
    chi2p: number;
  }[];
  proportions: {
    x1: number;
    n1: number;
    x2: number;
    n2: number;
    chi2: number;
    z: number;
    pTwoSided: number;
    pGreater: number;
    pLess: number;
    lower: number;
    upper: number;
  }[];
  fisher: {
    table: [[number, number], [number, number]];
    alternative: Alternative;
    pvalue: number;
    oddsratio: number | 'inf' | null;
  }[];
}

const ref = JSON.parse(
  execFileSync(requirePython(), [join(REPO_ROOT, 'test/fixtures/stats_reference.py')], {
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

describe(`reference values from SciPy ${ref.versions.scipy} / NumPy ${ref.versions.numpy}`, () => {
  describe('normal distribution', () => {
    it.each(ref.normal.cdf)('cdf, sf and pdf at $x', ({ x, cdf, sf, pdf }) => {
      expectClose(normalCdf(x), cdf, 1e-13, 1e-300);
      expectClose(normalSf(x), sf, 1e-13, 1e-300);
      expectClose(normalPdf(x), pdf, 1e-13, 1e-300);
    });
    it.each(ref.normal.erfc)('erf and erfc at $x', ({ x, erf: e, erfc: ec }) => {
      expectClose(erf(x), e, 1e-14, 1e-300);
      expectClose(erfc(x), ec, 1e-13, 1e-300);
    });
    it.each(ref.normal.quantile)('quantile at p = $p', ({ p, x }) => {
      expectClose(normalQuantile(p), x, 1e-13, 1e-300);
    });
  });

  describe('gamma functions', () => {
    it.each(ref.gamma.logGamma)('log Γ($x)', ({ x, value }) => expectClose(logGamma(x), value, 1e-14, 1e-14));
    it.each(ref.gamma.gammaQ)('Q($a, $x)', ({ a, x, q }) => expectClose(gammaQ(a, x), q, 1e-12));
    it.each(ref.gamma.chi2)('χ² sf($x; $dof)', ({ x, dof, sf }) => expectClose(chiSquareSf(x, dof), sf, 1e-12));
  });

  describe('quantiles (type 7, NumPy linear)', () => {
    it.each(ref.quantile)('$name', ({ values, ps, expected }) => {
      const got = quantiles(values, ps);
      got.forEach((v, i) => expectClose(v, expected[i] as number, 1e-15, 1e-15));
    });
  });

  describe('Kolmogorov distribution (kstwo.sf) and Smirnov', () => {
    it.each(ref.kstwo)('P(D_$n ≥ $d)', ({ n, d, sf }) => expectClose(kolmogorovSf(n, d), sf, 1e-10, 1e-15));
    it.each(ref.smirnov)('P(D⁺_$n ≥ $d)', ({ n, d, sf }) => expectClose(smirnovSf(n, d), sf, 1e-10, 1e-300));
  });

  describe('two-sample Kolmogorov–Smirnov (ks_2samp, method auto)', () => {
    it.each(ref.ks)('$name', ({ x, y, statistic, pvalue }) => {
      const r = ks2Sample(x, y);
      expectClose(r.statistic, statistic, 1e-12);
      expectClose(r.pValue, pvalue, 1e-9, 1e-300);
      expect(r.method).toBe(Math.max(x.length, y.length) <= 10_000 ? 'exact' : 'asymptotic');
    });
  });

  describe('Mann–Whitney U', () => {
    it.each(ref.mannWhitney)('$name $method $alternative continuity=$continuity', (c) => {
      const r = mannWhitneyU(c.x, c.y, { alternative: c.alternative, continuity: c.continuity, method: c.method });
      expect(r.u).toBe(c.u);
      expectClose(r.pValue, c.pvalue, 1e-11, 1e-300);
      expect(r.method).toBe(c.method);
    });
  });

  describe('Hodges–Lehmann shift and interval (brute force over all differences)', () => {
    it.each(ref.hodgesLehmann)('$name at $confidence', (c) => {
      const r = hodgesLehmann(c.x, c.y, { confidence: c.confidence });
      expect(r.method).toBe(c.method);
      expect(r.rank).toBe(c.rank);
      expect(r.estimate).toBe(c.estimate);
      expect(r.lower).toBe(c.lower ?? -Infinity);
      expect(r.upper).toBe(c.upper ?? Infinity);
      if (r.rank > 0) expect(r.achievedConfidence).toBeGreaterThan(c.confidence - (r.method === 'exact' ? 0 : 0.01));
    });
  });

  describe('PSI (NumPy: type-7 edges, right-closed bins, epsilon 1e-4)', () => {
    it.each(ref.psi)('$name', (c) => {
      expect(psiEdges(sortedCopy(c.reference), c.bins)).toEqual(c.edges);
      const r = psi(c.reference, c.current, { bins: c.bins });
      expectClose(r.psi, c.psi, 1e-11, 1e-15);
      expect(r.bins).toHaveLength(c.edges.length + 1);
      expectClose(
        r.bins.reduce((s, b) => s + b.referenceShare, 0),
        1,
        1e-12,
      );
    });
  });

  describe('categorical: PSI, Jensen–Shannon (base 2), chi-square', () => {
    it.each(ref.categorical)('$name', (c) => {
      expectClose(categoricalPsi(c.reference, c.current).psi, c.psi, 1e-12, 1e-15);
      const js = jensenShannon(c.reference, c.current);
      expectClose(js.distance, c.jsDistance, 1e-12, 1e-15);
      expectClose(js.divergence, c.jsDivergence, 1e-12, 1e-15);
      const chi = chiSquareHomogeneity(c.reference, c.current);
      expect(chi.dof).toBe(c.dof);
      expectClose(chi.statistic, c.chi2, 1e-12);
      expectClose(chi.pValue, c.chi2p, 1e-11);
    });
  });

  describe('two-proportion z-test (chi2_contingency without correction)', () => {
    it.each(ref.proportions)('$x1/$n1 vs $x2/$n2', (c) => {
      const two = twoProportionZTest(c.x1, c.n1, c.x2, c.n2);
      expectClose(two.z * two.z, c.chi2, 1e-12);
      expectClose(two.z, c.z, 1e-12);
      expectClose(two.pValue, c.pTwoSided, 1e-11);
      expectClose(twoProportionZTest(c.x1, c.n1, c.x2, c.n2, { alternative: 'greater' }).pValue, c.pGreater, 1e-11);
      expectClose(twoProportionZTest(c.x1, c.n1, c.x2, c.n2, { alternative: 'less' }).pValue, c.pLess, 1e-11);
      expectClose(two.lower, c.lower, 1e-12, 1e-15);
      expectClose(two.upper, c.upper, 1e-12, 1e-15);
    });
  });

  describe("Fisher's exact test", () => {
    it.each(ref.fisher)('$table $alternative', (c) => {
      const r = fisherExact(c.table, { alternative: c.alternative });
      expectClose(r.pValue, c.pvalue, 1e-9, 1e-300);
      if (c.oddsratio === null) expect(r.oddsRatio).toBeNaN();
      else if (c.oddsratio === 'inf') expect(r.oddsRatio).toBe(Infinity);
      else expectClose(r.oddsRatio, c.oddsratio, 1e-15);
    });
  });
});

describe('properties beyond the reference values', () => {
  it('the exact U distribution is symmetric and sums to one', () => {
    for (const [m, n] of [
      [1, 1],
      [3, 5],
      [12, 9],
      [50, 50],
    ] as const) {
      const cdf = rankSumNullCdf(m, n);
      expect(cdf).toHaveLength(m * n + 1);
      expectClose(cdf[m * n] as number, 1, 1e-12);
      // P(U ≤ u) = P(U ≥ mn − u) = 1 − P(U ≤ mn − u − 1)
      for (let u = 0; u < m * n; u++) expectClose(cdf[u] as number, 1 - (cdf[m * n - u - 1] as number), 1e-9, 1e-15);
    }
  });

  it('Hodges–Lehmann on 10^5 × 10^5 integers finds the exact shift', () => {
    const n = 100_000;
    const y = Float64Array.from({ length: n }, (_, i) => (i * 7919) % 1000);
    const x = y.map((v) => v + 3);
    const r = hodgesLehmann(x, y, { confidence: 0.98 });
    expect(r.estimate).toBe(3);
    expect(r.method).toBe('normal');
    expect(r.lower).toBeLessThanOrEqual(3);
    expect(r.upper).toBeGreaterThanOrEqual(3);
    expect(r.upper - r.lower).toBeLessThan(10);
  });

  it('large samples: a trivial shift is significant by KS yet small by PSI', () => {
    // 10^5 points each, shifted by 0.05 standard deviations (deterministic normal scores).
    const n = 100_000;
    const scores = Float64Array.from({ length: n }, (_, i) => normalQuantile((i + 0.5) / n));
    const shifted = scores.map((v) => v + 0.05);
    const ks = ks2Sample(scores, shifted);
    expect(ks.method).toBe('asymptotic');
    expect(ks.pValue).toBeLessThan(1e-6);
    expect(psi(scores, shifted).psi).toBeLessThan(0.01);
  });

  it.each([
    ['NaN', [1, Number.NaN]],
    ['Infinity', [1, Infinity]],
  ])('rejects %s in a sample', (_label, bad) => {
    expect(() => ks2Sample(bad, [1, 2])).toThrow(RangeError);
    expect(() => mannWhitneyU([1, 2], bad)).toThrow(RangeError);
    expect(() => psi(bad, [1, 2])).toThrow(RangeError);
  });

  it.each([
    ['ks2Sample', () => ks2Sample([], [1])],
    ['mannWhitneyU', () => mannWhitneyU([1], [])],
    ['hodgesLehmann', () => hodgesLehmann([], [])],
    ['psi', () => psi([1, 2], [])],
  ])('%s rejects an empty sample', (_name, run) => {
    expect(run).toThrow(RangeError);
  });

  it('an all-tied pooled sample gives p = 1 instead of NaN', () => {
    const r = mannWhitneyU([2, 2, 2], [2, 2]);
    expect(r.pValue).toBe(1);
    expect(r.commonLanguageEffect).toBe(0.5);
  });

  it('two rates of zero cannot differ', () => {
    const r = twoProportionZTest(0, 500, 0, 700);
    expect(r.pValue).toBe(1);
    expect(r.z).toBe(0);
    expect(r.lower).toBeLessThan(0);
    expect(r.upper).toBeGreaterThan(0);
  });
});
