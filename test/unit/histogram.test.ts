// The latency histogram against exact answers: nearest-rank percentiles of the sorted samples,
// exact merging of shards (what sharded benchmark runs rely on) and a lossless JSON round trip.
import { describe, expect, it } from 'vitest';
import { LatencyHistogram, SeededRandom, type SerializedHistogram } from '@ferry/bench';

/** Nearest-rank percentile of sorted whole-microsecond values, in ms. */
function exactPercentile(sortedMicros: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sortedMicros.length - 1e-9));
  return sortedMicros[rank - 1]! / 1000;
}

const random = new SeededRandom(42);
const DISTRIBUTIONS: { name: string; n: number; draw: () => number }[] = [
  { name: 'uniform 0–5 ms (exact region)', n: 20_000, draw: () => random.uniform() * 5 },
  { name: 'fixed 20 ms plus jitter', n: 20_000, draw: () => 20 + random.exponential(0.4) },
  { name: 'lognormal around 30 ms', n: 50_000, draw: () => Math.exp(Math.log(30) + 0.8 * random.normal()) },
  { name: 'bimodal with a 1 s stall tail', n: 30_000, draw: () => (random.uniform() < 0.1 ? 5 + random.uniform() * 1000 : 5 + random.exponential(0.5)) },
  { name: 'minutes-long outliers', n: 5_000, draw: () => random.exponential(1) * 60_000 },
];

describe('LatencyHistogram percentiles', () => {
  for (const d of DISTRIBUTIONS) {
    it(`${d.name}: every percentile within one step (≤ 1/1024) above the exact one`, () => {
      const h = new LatencyHistogram();
      const micros: number[] = [];
      for (let i = 0; i < d.n; i++) {
        const ms = d.draw();
        h.record(ms);
        micros.push(Math.round(ms * 1000));
      }
      micros.sort((a, b) => a - b);
      expect(h.count).toBe(d.n);
      for (const p of [0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100]) {
        const exact = exactPercentile(micros, p);
        const got = h.percentile(p)!;
        expect(got, `p${p}`).toBeGreaterThanOrEqual(exact);
        expect(got, `p${p}`).toBeLessThanOrEqual(exact * (1 + 1 / 1024) + 0.001);
      }
      expect(h.min()).toBe(micros[0]! / 1000);
      expect(h.max()).toBe(micros.at(-1)! / 1000);
      expect(h.mean()).toBeCloseTo(micros.reduce((a, b) => a + b, 0) / d.n / 1000, 9);
      const s = h.summary();
      expect([s.p50, s.p90, s.p95, s.p99, s.p999]).toEqual([50, 90, 95, 99, 99.9].map((p) => h.percentile(p)));
    });
  }

  it('keeps the configured precision: 2 significant digits stay within 1/128', () => {
    const h = new LatencyHistogram({ significantDigits: 2, highestMicros: 3_600_000_000 });
    const micros: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      const us = Math.round(random.exponential(50_000));
      h.recordMicros(us);
      micros.push(us);
    }
    micros.sort((a, b) => a - b);
    for (const p of [50, 90, 99]) {
      const exact = exactPercentile(micros, p);
      expect(h.percentile(p)!).toBeGreaterThanOrEqual(exact);
      expect(h.percentile(p)!).toBeLessThanOrEqual(exact * (1 + 1 / 128) + 0.001);
    }
  });

  it('clamps values past the range to its top and counts them as overflow', () => {
    const h = new LatencyHistogram({ significantDigits: 3, highestMicros: 1_000_000 });
    h.record(5);
    h.record(2_000);
    h.record(Number.POSITIVE_INFINITY);
    expect(h.overflow).toBe(2);
    expect(h.max()).toBe(1000);
    expect(h.percentile(100)).toBe(1000);
  });

  it('says nothing about an empty histogram', () => {
    const s = new LatencyHistogram().summary();
    expect(s).toEqual({ count: 0, min: undefined, mean: undefined, p50: undefined, p90: undefined, p95: undefined, p99: undefined, p999: undefined, max: undefined });
  });

  it('rejects bad layouts and percentiles', () => {
    expect(() => new LatencyHistogram({ significantDigits: 0, highestMicros: 10 })).toThrow(/significantDigits/);
    expect(() => new LatencyHistogram({ significantDigits: 3, highestMicros: 1.5 })).toThrow(/highestMicros/);
    const h = new LatencyHistogram();
    h.record(1);
    expect(() => h.percentile(101)).toThrow(/0\.\.100/);
  });
});

describe('LatencyHistogram merging and serialisation', () => {
  const values = Array.from({ length: 40_000 }, () => (random.uniform() < 0.02 ? random.uniform() * 3_600_000 : random.exponential(25)));

  it('merging shards recorded apart equals recording everything in one', () => {
    const single = new LatencyHistogram();
    for (const v of values) single.record(v);
    // Shards as sharded runners would send them: serialised to JSON text and parsed back.
    const shards = [0, 1, 2].map(() => new LatencyHistogram());
    values.forEach((v, i) => shards[i % 7 === 0 ? 0 : i % 2 === 0 ? 1 : 2]!.record(v));
    const wire = shards.map((s) => JSON.parse(JSON.stringify(s)) as SerializedHistogram);
    const merged = LatencyHistogram.merge(wire);
    expect(merged.toJSON()).toEqual(single.toJSON());
    expect(merged.summary()).toEqual(single.summary());
    // Order does not matter either.
    expect(LatencyHistogram.merge([...wire].reverse()).toJSON()).toEqual(single.toJSON());
  });

  it('round-trips through JSON and base64 without loss, and compactly', () => {
    const h = new LatencyHistogram();
    for (const v of values) h.record(v);
    const text = JSON.stringify(h);
    const back = LatencyHistogram.fromJSON(JSON.parse(text) as SerializedHistogram);
    expect(back.toJSON()).toEqual(h.toJSON());
    expect(back.summary()).toEqual(h.summary());
    expect(text.length).toBeLessThan(64 * 1024);
    const empty = LatencyHistogram.fromJSON(new LatencyHistogram().toJSON());
    expect(empty.count).toBe(0);
  });

  it('refuses to merge different layouts and to load corrupt data', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram({ significantDigits: 2, highestMicros: 3_600_000_000 });
    expect(() => a.add(b)).toThrow(/cannot be merged exactly/);
    const s = { ...a.toJSON(), count: 5 };
    expect(() => LatencyHistogram.fromJSON(s)).toThrow(/inconsistent/);
    const h = new LatencyHistogram();
    h.record(3);
    expect(() => LatencyHistogram.fromJSON({ ...h.toJSON(), counts: 'gA==' })).toThrow(/truncated|corrupt/);
  });
});
