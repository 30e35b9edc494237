// The baseline comparison on load results built from real histograms: seeded lognormal latencies
// recorded into LatencyHistogram, split into measurement windows, wrapped in the LoadResult shape
// (the builder below mirrors the real types, so tsc checks it). Each scenario has a known answer:
// a 20% slowdown regresses, the same distribution under another seed does not, a 3% shift on 200k
// requests is significant but below the 10% floor, errors rising from 0 to 0.8% regress, an invalid
// run is invalid and never a regression, load points only one run measured are reported.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode, InputError } from '@ferry/core';
import {
  compareWithBaseline,
  parseLoadResult,
  readLoadResult,
  type BaselineComparison,
  type DistributionMetric,
  type ErrorRateMetric,
  type MetricComparison,
  type MetricName,
  type PointComparison,
  type TailMetric,
  type ThroughputMetric,
} from '../../packages/bench/src/compare/index.js';
import { emptyErrorCounts } from '../../packages/bench/src/errors.js';
import { DEFAULT_HISTOGRAM_CONFIG, LatencyHistogram, type HistogramConfig, type SerializedHistogram } from '../../packages/bench/src/histogram/histogram.js';
import type { LoadPoint } from '../../packages/bench/src/load/options.js';
import type { LoadPointResult, LoadResult, MeasurementSummary, RepeatResult, Validity, ValidityReason, WindowSummary } from '../../packages/bench/src/load/result.js';
import { LLM_HISTOGRAMS, type LlmHistogramName } from '../../packages/bench/src/load/window.js';
import { SeededRandom } from '../../packages/bench/src/schedule/random.js';

// ---------------------------------------------------------------------------------------------
// Builder

interface PointSpec {
  readonly load?: LoadPoint;
  readonly seed: number;
  /** Successful requests (latency samples). */
  readonly n: number;
  readonly medianMs: number;
  /** Lognormal shape (default 0.25). */
  readonly sigma?: number;
  readonly failed?: number;
  readonly windows?: number;
  readonly windowMs?: number;
  /** Per-window throughput instead of samples ÷ window length (closed-loop scenarios). */
  readonly windowThroughputs?: readonly number[];
  readonly invalid?: readonly ValidityReason[];
  readonly histogram?: HistogramConfig;
  /** LLM stream metrics: TTFT lognormal median, ITL lognormal median. */
  readonly llm?: { readonly ttftMs: number; readonly itlMs: number };
}

const OPEN_100: LoadPoint = { mode: 'open', process: 'constant', rate: 100, seed: 0x5eed };

function validity(reasons: readonly ValidityReason[] = []): Validity {
  return {
    valid: reasons.length === 0,
    reasons,
    warnings: [],
    checks: { sendLagP50Ms: 0.05, sendLagP99Ms: 0.4, sentOverScheduled: 1, maxThreadCpu: 0.2, maxEventLoopUtilization: 0.3, dropped: 0 },
  };
}

function summaryOf(corrected: LatencyHistogram, failed: number, durationMs: number, throughput?: number): MeasurementSummary {
  const ok = corrected.count;
  const settled = ok + failed;
  const seconds = durationMs / 1000;
  const empty = new LatencyHistogram(corrected.config).summary();
  return {
    durationMs,
    requests: { scheduled: settled, sent: settled, ok, failed, dropped: 0 },
    throughput: throughput ?? ok / seconds,
    achievedRate: settled / seconds,
    scheduledRate: settled / seconds,
    errorRate: settled > 0 ? failed / settled : 0,
    errors: { ...emptyErrorCounts(), http5xx: failed },
    statuses: { '200': ok, ...(failed > 0 ? { '503': failed } : {}) },
    errorSamples: failed > 0 ? ['HTTP 503'] : [],
    latencyMs: { corrected: corrected.summary(), raw: corrected.summary() },
    sendLagMs: empty,
    connectionWaitMs: empty,
    connectionWaits: 0,
    bytesIn: ok * 100,
  };
}

function lognormal(random: SeededRandom, median: number, sigma: number): number {
  return Math.exp(Math.log(median) + sigma * random.normal());
}

function buildPoint(spec: PointSpec): LoadPointResult {
  const config = spec.histogram ?? DEFAULT_HISTOGRAM_CONFIG;
  const random = new SeededRandom(spec.seed);
  const windowCount = spec.windows ?? spec.windowThroughputs?.length ?? 3;
  const windowMs = spec.windowMs ?? 5000;
  const sigma = spec.sigma ?? 0.25;
  const failed = spec.failed ?? 0;
  const windowHistograms = Array.from({ length: windowCount }, () => new LatencyHistogram(config));
  for (let i = 0; i < spec.n; i++) windowHistograms[i % windowCount]!.record(lognormal(random, spec.medianMs, sigma));
  const corrected = LatencyHistogram.merge(windowHistograms, config);
  const windows: WindowSummary[] = windowHistograms.map((h, index) => ({
    index,
    startMs: index * windowMs,
    durationMs: windowMs,
    summary: summaryOf(h, Math.floor(failed / windowCount) + (index < failed % windowCount ? 1 : 0), windowMs, spec.windowThroughputs?.[index]),
    histograms: { corrected: h.toJSON(), raw: h.toJSON() },
  }));
  const durationMs = windowCount * windowMs;
  const summary = summaryOf(corrected, failed, durationMs);
  const v = validity(spec.invalid);
  const repeat: RepeatResult = {
    repeat: 0,
    measureStartMonotonicMs: 1000,
    stopReason: 'max-windows',
    warmup: { durationMs: 2000, ok: 100, failed: 0 },
    windows,
    summary,
    threads: [{ thread: 0, cpuFraction: 0.2, eventLoopUtilization: 0.3, peakConnections: 4, connectionsOpened: 4 }],
    validity: v,
  };
  const empty = new LatencyHistogram(config).toJSON();
  let llm: Record<LlmHistogramName, SerializedHistogram> | undefined;
  if (spec.llm) {
    const hs = Object.fromEntries(LLM_HISTOGRAMS.map((name) => [name, new LatencyHistogram(config)])) as Record<LlmHistogramName, LatencyHistogram>;
    for (let i = 0; i < spec.n; i++) {
      hs.ttft.record(lognormal(random, spec.llm.ttftMs, 0.2));
      hs.itlToken.record(lognormal(random, spec.llm.itlMs, 0.2), 4);
    }
    llm = Object.fromEntries(LLM_HISTOGRAMS.map((name) => [name, hs[name].toJSON()])) as Record<LlmHistogramName, SerializedHistogram>;
  }
  return {
    load: spec.load ?? OPEN_100,
    repeats: [repeat],
    summary,
    validity: v,
    histograms: { corrected: corrected.toJSON(), raw: corrected.toJSON(), sendLag: empty, connectionWait: empty, ...(llm ? { llm } : {}) },
  };
}

function buildResult(points: readonly LoadPointResult[], over: Partial<Pick<LoadResult, 'protocol' | 'target' | 'generator'>> = {}): LoadResult {
  return {
    schema: 'ferry-load/1',
    target: 'http://127.0.0.1:8080/v2/models/demo/infer',
    protocol: 'oip-v2',
    startedAt: '2025-03-01T12:00:00.000Z',
    durationMs: 60_000,
    generator: { threads: 2, node: 'v24.0.0', shard: { index: 0, count: 1 } },
    points,
    valid: points.every((p) => p.validity.valid),
    ...over,
  };
}

function run(spec: PointSpec | readonly PointSpec[], over?: Parameters<typeof buildResult>[1]): LoadResult {
  return buildResult((Array.isArray(spec) ? spec : [spec]).map(buildPoint), over);
}

function metric<K extends MetricComparison['kind']>(p: PointComparison, name: MetricName, kind: K): Extract<MetricComparison, { kind: K }> {
  const m = p.metrics.find((x) => x.metric === name);
  expect(m, `metric ${name}`).toBeDefined();
  expect(m!.kind).toBe(kind);
  return m as Extract<MetricComparison, { kind: K }>;
}

/** The comparison survives JSON unchanged: no NaN, no Infinity, no functions. */
function expectJsonSafe(c: BaselineComparison): void {
  expect(JSON.parse(JSON.stringify(c))).toEqual(c);
}

const base10 = run({ seed: 1, n: 20_000, medianMs: 10 });

// ---------------------------------------------------------------------------------------------

describe('compareWithBaseline: latency distributions', () => {
  it('a 20% slower server (lognormal around 12 ms vs 10 ms) is a regression, p95 in the headline', () => {
    const c = compareWithBaseline(run({ seed: 2, n: 20_000, medianMs: 12 }), base10);
    expectJsonSafe(c);
    expect(c.outcome).toBe('regression');
    expect(c.points).toHaveLength(1);
    const p = c.points[0]!;
    expect(p.outcome).toBe('regression');
    expect(p.label).toBe('100 req/s');

    const lat = metric(p, 'latency', 'distribution') as DistributionMetric;
    expect(lat.outcome).toBe('regression');
    expect(lat.significance.significant).toBe(true);
    expect(lat.significance.pValue).toBeLessThan(1e-10);
    expect(lat.significance.direction).toBe('up');
    expect(lat.mannWhitney.nBaseline).toBe(20_000);
    expect(lat.mannWhitney.nCurrent).toBe(20_000);
    expect(lat.mannWhitney.superiority).toBeGreaterThan(0.65);
    // The shift of a lognormal median from 10 to 12 ms is about 2 ms; the interval holds it.
    expect(lat.shift.estimateMs).toBeGreaterThan(1.6);
    expect(lat.shift.estimateMs).toBeLessThan(2.4);
    expect(lat.shift.lowerMs!).toBeLessThan(lat.shift.estimateMs);
    expect(lat.shift.upperMs!).toBeGreaterThan(lat.shift.estimateMs);
    expect(lat.shift.relativeToBaselineP50).toBeCloseTo(lat.shift.estimateMs / lat.percentilesMs.baseline.p50, 12);
    expect(lat.floor).toMatchObject({ applies: 'absolute', exceeded: true });
    expect(lat.floor.threshold).toBeCloseTo(0.1 * lat.percentilesMs.baseline.p50, 12);

    const p95 = metric(p, 'latency-p95', 'tail') as TailMetric;
    expect(p95.outcome).toBe('regression');
    expect(p95.ratio!).toBeGreaterThan(1.15);
    expect(p95.above.baseline.fraction).toBeLessThanOrEqual(0.05);
    expect(p95.above.baseline.fraction).toBeGreaterThan(0.045);
    expect(p95.above.current.fraction).toBeGreaterThan(0.15);
    expect(p95.test.test).toBe('two-proportion-z');
    expect(metric(p, 'latency-p99', 'tail').outcome).toBe('regression');
    expect(metric(p, 'error-rate', 'error-rate').outcome).toBe('no-change');
    expect(p.skipped.map((s) => s.metric)).toEqual(['throughput']);

    expect(c.headline).toMatch(/^p95 latency regressed \d+% \(\d+\.\d → \d+\.\d ms, p < 0\.001\) at 100 req\/s; also latency, p99 latency$/);
    expect(c.headline).toBe(p.headline);
  });

  it('the same distribution under another seed is no change', () => {
    const c = compareWithBaseline(run({ seed: 99, n: 20_000, medianMs: 10 }), base10);
    expectJsonSafe(c);
    expect(c.outcome).toBe('no-change');
    const p = c.points[0]!;
    for (const m of p.metrics) expect(m.outcome, m.metric).toBe('no-change');
    const lat = metric(p, 'latency', 'distribution') as DistributionMetric;
    expect(Math.abs(lat.shift.estimateMs)).toBeLessThan(0.2);
    expect(lat.shift.lowerMs!).toBeLessThanOrEqual(0);
    expect(lat.shift.upperMs!).toBeGreaterThanOrEqual(0);
    expect(c.headline).toBe('no change beyond the effect floors at 100 req/s');
  });

  it('a 3% shift on 200k requests is significant but below the effect floor: no change', () => {
    const base = run({ seed: 3, n: 200_000, medianMs: 10 });
    const c = compareWithBaseline(run({ seed: 4, n: 200_000, medianMs: 10.3 }), base);
    expectJsonSafe(c);
    expect(c.outcome).toBe('no-change');
    const p = c.points[0]!;
    const lat = metric(p, 'latency', 'distribution') as DistributionMetric;
    expect(lat.outcome).toBe('no-change');
    expect(lat.noChange).toBe('below-effect-floor');
    expect(lat.significance.significant).toBe(true);
    expect(lat.significance.pValue).toBeLessThan(1e-10);
    expect(lat.floor.exceeded).toBe(false);
    expect(lat.shift.estimateMs).toBeGreaterThan(0.2);
    expect(lat.shift.estimateMs).toBeLessThan(0.4);
    expect(lat.reason).toMatch(/^significant \(Mann–Whitney U, p < 0\.001\) but below the effect floor: shift \+0\.\d+ ms/);
    const p95 = metric(p, 'latency-p95', 'tail') as TailMetric;
    expect(p95.noChange).toBe('below-effect-floor');
    expect(p95.above.current.fraction).toBeGreaterThan(p95.above.baseline.fraction);
    expect(p.headline).toMatch(/^no change at 100 req\/s \(\d significant differences below the effect floor\)$/);
  });

  it('a faster server is an improvement', () => {
    const c = compareWithBaseline(run({ seed: 5, n: 20_000, medianMs: 10 }), run({ seed: 6, n: 20_000, medianMs: 12 }));
    expect(c.outcome).toBe('improvement');
    const lat = metric(c.points[0]!, 'latency', 'distribution') as DistributionMetric;
    expect(lat.outcome).toBe('improvement');
    expect(lat.significance.direction).toBe('down');
    expect(lat.shift.estimateMs).toBeLessThan(-1.5);
    expect(c.headline).toMatch(/^p95 latency improved \d+% /);
  });

  it('small samples: not significant, and tails tested with Fisher', () => {
    const c = compareWithBaseline(run({ seed: 7, n: 40, medianMs: 11, windows: 2 }), run({ seed: 8, n: 40, medianMs: 10, windows: 2 }));
    const p = c.points[0]!;
    const p99 = metric(p, 'latency-p99', 'tail') as TailMetric;
    expect(p99.test.test).toBe('fisher-exact');
    expect(p99.test.minExpected).toBeLessThan(5);
    const lat = metric(p, 'latency', 'distribution') as DistributionMetric;
    if (lat.outcome === 'no-change' && lat.noChange === 'not-significant') expect(lat.reason).toMatch(/^not significant \(Mann–Whitney U, p = /);
    expectJsonSafe(c);
  });
});

describe('compareWithBaseline: errors, throughput, LLM metrics', () => {
  it('errors rising from 0/10000 to 80/10000 regress (two-proportion test, 0.5-point floor)', () => {
    const base = run({ seed: 10, n: 10_000, medianMs: 10 });
    const cur = run({ seed: 11, n: 9_920, medianMs: 10, failed: 80 });
    const c = compareWithBaseline(cur, base);
    expectJsonSafe(c);
    expect(c.outcome).toBe('regression');
    const e = metric(c.points[0]!, 'error-rate', 'error-rate') as ErrorRateMetric;
    expect(e.outcome).toBe('regression');
    expect(e.counts.baseline).toEqual({ failed: 0, ok: 10_000, rate: 0 });
    expect(e.counts.current).toEqual({ failed: 80, ok: 9_920, rate: 0.008 });
    expect(e.test.test).toBe('two-proportion-z');
    expect(e.significance.pValue).toBeLessThan(1e-10);
    expect(e.change).toBeCloseTo(0.008, 12);
    expect(e.floor).toMatchObject({ applies: 'absolute', threshold: 0.005, exceeded: true });
    expect(c.headline).toMatch(/^error rate regressed by 0\.80 percentage points \(0\.00% → 0\.80%, p < 0\.001\) at 100 req\/s/);
  });

  it('a significant error increase below the floor is no change; a tiny one uses Fisher', () => {
    const base = run({ seed: 12, n: 100_000, medianMs: 10, failed: 100 });
    const c = compareWithBaseline(run({ seed: 13, n: 100_000, medianMs: 10, failed: 300 }), base);
    const e = metric(c.points[0]!, 'error-rate', 'error-rate') as ErrorRateMetric;
    expect(e.significance.significant).toBe(true);
    expect(e.noChange).toBe('below-effect-floor');
    const small = compareWithBaseline(run({ seed: 14, n: 2000, medianMs: 10, failed: 2 }), run({ seed: 15, n: 2000, medianMs: 10 }));
    const f = metric(small.points[0]!, 'error-rate', 'error-rate') as ErrorRateMetric;
    expect(f.test.test).toBe('fisher-exact');
    expect(f.noChange).toBe('not-significant');
    expect(f.test.oddsRatio).toBeNull(); // infinite sample odds ratio is reported as null
    expectJsonSafe(small);
  });

  it('closed loop: per-window throughput by Welch t; open loop skips throughput', () => {
    const closed: LoadPoint = { mode: 'closed', concurrency: 8, thinkTimeMs: 0 };
    const base = run({ load: closed, seed: 20, n: 6000, medianMs: 10, windowThroughputs: [1201, 1188, 1210, 1195, 1203, 1199] });
    const cur = run({ load: closed, seed: 21, n: 6000, medianMs: 10, windowThroughputs: [1010, 1025, 998, 1012, 1003, 1020] });
    const c = compareWithBaseline(cur, base);
    expectJsonSafe(c);
    const t = metric(c.points[0]!, 'throughput', 'throughput') as ThroughputMetric;
    expect(t.outcome).toBe('regression');
    expect(t.windows.baseline.n).toBe(6);
    expect(t.welch.df!).toBeGreaterThan(5);
    expect(t.relativeChange!).toBeCloseTo(-0.158, 2);
    expect(t.floor).toMatchObject({ applies: 'relative', threshold: 0.1, exceeded: true });
    expect(c.points[0]!.label).toBe('concurrency 8');
    expect(c.headline).toMatch(/^throughput regressed 16% \(1199 → 1011 req\/s, p < 0\.001\) at concurrency 8$/);
    // 4% lower: significant, below the 10% floor.
    const slight = run({ load: closed, seed: 22, n: 6000, medianMs: 10, windowThroughputs: [1151, 1150, 1156, 1149, 1153, 1148] });
    const t2 = metric(compareWithBaseline(slight, base).points[0]!, 'throughput', 'throughput') as ThroughputMetric;
    expect(t2.noChange).toBe('below-effect-floor');
    // One window a side: not tested.
    const one = compareWithBaseline(run({ load: closed, seed: 23, n: 1000, medianMs: 10, windows: 1 }), base);
    expect(one.points[0]!.skipped).toEqual([{ metric: 'throughput', reason: expect.stringMatching(/at least 2 measurement windows/) }]);
    const open = compareWithBaseline(run({ seed: 24, n: 1000, medianMs: 10 }), base10);
    expect(open.points[0]!.skipped).toEqual([{ metric: 'throughput', reason: expect.stringMatching(/^open loop/) }]);
  });

  it('LLM runs: TTFT and ITL compared as distributions when both sides have them', () => {
    const base = run({ seed: 30, n: 3000, medianMs: 400, llm: { ttftMs: 120, itlMs: 20 } });
    const cur = run({ seed: 31, n: 3000, medianMs: 400, llm: { ttftMs: 150, itlMs: 20 } });
    const c = compareWithBaseline(cur, base);
    expectJsonSafe(c);
    const p = c.points[0]!;
    const ttft = metric(p, 'ttft', 'distribution') as DistributionMetric;
    expect(ttft.outcome).toBe('regression');
    expect(ttft.histogram).toBe('ttft');
    const itl = metric(p, 'itl', 'distribution') as DistributionMetric;
    expect(itl.outcome).toBe('no-change');
    expect(itl.mannWhitney.nCurrent).toBe(12_000); // four tokens per recorded gap
    expect(p.outcome).toBe('regression');
    expect(p.headline).toMatch(/^TTFT regressed 2\d% \(p50 /);
    const half = compareWithBaseline(run({ seed: 32, n: 3000, medianMs: 400 }), base);
    expect(half.points[0]!.skipped.map((s) => s.metric)).toEqual(['throughput', 'ttft', 'itl']);
    expect(half.points[0]!.skipped[1]!.reason).toMatch(/only the baseline run has TTFT/);
  });
});

describe('compareWithBaseline: invalid comparisons and unmatched points', () => {
  it('an invalid run is invalid at that point, never a regression', () => {
    const reason: ValidityReason = { code: 'send-lag', message: 'send lag p99 14 ms is above 10 ms' };
    const c = compareWithBaseline(run({ seed: 40, n: 20_000, medianMs: 15, invalid: [reason] }), base10);
    expectJsonSafe(c);
    expect(c.outcome).toBe('invalid');
    const p = c.points[0]!;
    expect(p.outcome).toBe('invalid');
    expect(p.metrics).toEqual([]);
    expect(p.invalidReasons).toEqual(['current run invalid: send lag p99 14 ms is above 10 ms (send-lag)']);
    expect(p.figures.current.valid).toBe(false);
    expect(c.headline).toBe('invalid at 100 req/s: current run invalid: send lag p99 14 ms is above 10 ms (send-lag)');
    // The baseline's invalidity counts the same way.
    const b = compareWithBaseline(base10, run({ seed: 41, n: 1000, medianMs: 10, invalid: [{ code: 'dropped', message: '12 arrivals dropped' }] }));
    expect(b.points[0]!.invalidReasons).toEqual(['baseline run invalid: 12 arrivals dropped (dropped)']);
  });

  it('histograms with different layouts cannot be compared bucket by bucket', () => {
    const c = compareWithBaseline(run({ seed: 42, n: 5000, medianMs: 12, histogram: { significantDigits: 2, highestMicros: 3_600_000_000 } }), base10);
    expectJsonSafe(c);
    const p = c.points[0]!;
    expect(p.outcome).toBe('invalid');
    const invalid = p.metrics.filter((m) => m.outcome === 'invalid').map((m) => m.metric);
    expect(invalid).toEqual(['latency', 'latency-p95', 'latency-p99']);
    expect(p.headline).toMatch(/^invalid at 100 req\/s: latency: histogram layouts differ \(current 2 significant digits/);
  });

  it('a different protocol, path or shard count invalidates every point; another host is a note', () => {
    const proto = compareWithBaseline(run({ seed: 43, n: 2000, medianMs: 10 }, { protocol: 'kserve-v1' }), base10);
    expect(proto.outcome).toBe('invalid');
    expect(proto.invalidReasons).toEqual(['protocol differs: current kserve-v1, baseline oip-v2']);
    expect(proto.headline).toBe('invalid: protocol differs: current kserve-v1, baseline oip-v2');
    const path = compareWithBaseline(run({ seed: 43, n: 2000, medianMs: 10 }, { target: 'http://127.0.0.1:8080/v2/models/other/infer' }), base10);
    expect(path.outcome).toBe('invalid');
    const shards = compareWithBaseline(run({ seed: 43, n: 2000, medianMs: 10 }, { generator: { threads: 2, node: 'v24', shard: { index: 0, count: 2 } } }), base10);
    expect(shards.invalidReasons[0]).toMatch(/2 shard\(s\) now and 1 in the baseline/);
    const host = compareWithBaseline(run({ seed: 43, n: 2000, medianMs: 10 }, { target: 'http://10.0.0.7:9000/v2/models/demo/infer' }), base10);
    expect(host.outcome).toBe('no-change');
    expect(host.notes[0]).toMatch(/target host differs/);
  });

  it('load points measured by one run only are reported, not compared', () => {
    const at = (rate: number): LoadPoint => ({ mode: 'open', process: 'constant', rate, seed: 1 });
    const cur = run([
      { load: at(100), seed: 50, n: 5000, medianMs: 10 },
      { load: at(200), seed: 51, n: 5000, medianMs: 11 },
    ]);
    const base = run([
      { load: at(100), seed: 52, n: 5000, medianMs: 10 },
      { load: at(300), seed: 53, n: 5000, medianMs: 12 },
    ]);
    const c = compareWithBaseline(cur, base);
    expectJsonSafe(c);
    expect(c.points.map((p) => p.key)).toEqual(['open:100']);
    expect(c.unmatched.map((u) => [u.side, u.label])).toEqual([
      ['current', '200 req/s'],
      ['baseline', '300 req/s'],
    ]);
    expect(c.outcome).toBe('no-change');
    expect(c.headline).toBe('no change beyond the effect floors at 100 req/s (2 load points measured in only one run)');
    // A different arrival process at the same rate is matched but invalid.
    const poisson = compareWithBaseline(run({ load: { ...OPEN_100, process: 'poisson' }, seed: 54, n: 1000, medianMs: 10 }), base10);
    expect(poisson.points[0]!.invalidReasons).toEqual(['arrival process differs: current poisson, baseline constant']);
    // Nothing in common at all.
    const none = compareWithBaseline(run({ load: at(500), seed: 55, n: 1000, medianMs: 10 }), base10);
    expect(none.outcome).toBe('invalid');
    expect(none.headline).toBe('invalid: no load point in common with the baseline (current: 500 req/s; baseline: 100 req/s)');
  });

  it('an invalid point outranks a regression elsewhere, and the headline still tells of it', () => {
    const at = (rate: number): LoadPoint => ({ mode: 'open', process: 'constant', rate, seed: 1 });
    const cur = run([
      { load: at(100), seed: 60, n: 20_000, medianMs: 13 },
      { load: at(200), seed: 61, n: 5000, medianMs: 10, invalid: [{ code: 'generator-cpu', message: 'thread 0 busy 97% of the time' }] },
    ]);
    const base = run([
      { load: at(100), seed: 62, n: 20_000, medianMs: 10 },
      { load: at(200), seed: 63, n: 5000, medianMs: 10 },
    ]);
    const c = compareWithBaseline(cur, base);
    expect(c.outcome).toBe('invalid');
    expect(c.counts).toEqual({ regression: 1, improvement: 0, 'no-change': 0, invalid: 1 });
    expect(c.headline).toMatch(/^invalid at 200 req\/s: current run invalid: thread 0 busy 97% of the time \(generator-cpu\); meanwhile p95 latency regressed/);
  });

  it('rejects options out of range as input errors', () => {
    expect(() => compareWithBaseline(base10, base10, { alpha: 1.5 })).toThrow(InputError);
    expect(() => compareWithBaseline(base10, base10, { latencyFloor: -0.1 })).toThrow(/latencyFloor/);
    const strict = compareWithBaseline(base10, base10, { alpha: 0.01, latencyFloor: 0.2, minLatencyShiftMs: 1, errorRateFloor: 0.01, throughputFloor: 0.2 });
    expect(strict.options).toEqual({ alpha: 0.01, latencyFloor: 0.2, minLatencyShiftMs: 1, errorRateFloor: 0.01, throughputFloor: 0.2 });
    expect(strict.outcome).toBe('no-change');
  });
});

describe('readLoadResult', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-baseline-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const small = run({ seed: 70, n: 500, medianMs: 10, llm: { ttftMs: 100, itlMs: 10 } });

  it('reads a bare result, one with extra top-level fields, and one under `load`', () => {
    const bare = readLoadResult(write('bare.json', JSON.stringify(small)));
    expect(bare).toEqual(small);
    const tagged = readLoadResult(write('tagged.json', JSON.stringify({ ferryBenchResult: 1, ...small, meta: { sha: 'abc' } })));
    expect(tagged.points).toEqual(small.points);
    expect((tagged as unknown as { meta: unknown }).meta).toEqual({ sha: 'abc' });
    const wrapped = readLoadResult(write('wrapped.json', JSON.stringify({ schema: 'ferry-benchmark/1', createdAt: 'now', model: { name: 'm' }, load: small })));
    expect(wrapped).toEqual(small);
    expect(compareWithBaseline(bare, wrapped).outcome).toBe('no-change');
  });

  const expectInputError = (fn: () => unknown, pattern: RegExp): void => {
    let caught: unknown;
    try {
      fn();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as InputError).exitCode).toBe(ExitCode.BadInput);
    expect((caught as InputError).message).toMatch(pattern);
  };

  it('names the file for a missing file and for bad JSON', () => {
    const missing = join(dir, 'nope.json');
    expectInputError(() => readLoadResult(missing), new RegExp(`^load result ${missing}: cannot read it \\(no such file\\)$`));
    const bad = write('bad.json', '{"schema": "ferry-load/1", ');
    expectInputError(() => readLoadResult(bad), new RegExp(`^load result ${bad} is not valid JSON`));
  });

  it('names the field for a wrong shape', () => {
    const clone = (): Record<string, unknown> => JSON.parse(JSON.stringify(small)) as Record<string, unknown>;
    const points = (d: Record<string, unknown>): Record<string, Record<string, unknown>>[] => d.points as Record<string, Record<string, unknown>>[];
    expectInputError(() => parseLoadResult([], 'x.json'), /^load result x\.json: the document is not a JSON object$/);
    expectInputError(() => parseLoadResult({ schema: 'other' }, 'x.json'), /: schema is "other", expected "ferry-load\/1"/);
    expectInputError(() => parseLoadResult({ schema: 'ferry-benchmark/1', load: { schema: 'v0' } }, 'x.json'), /: load\.schema is "v0"/);
    const noOk = clone();
    delete (points(noOk)[0]!.summary!.requests as Record<string, unknown>).ok;
    expectInputError(() => parseLoadResult(noOk, 'x.json'), /: points\[0\]\.summary\.requests\.ok must be a non-negative integer \(got nothing\)$/);
    const wrappedBad = { load: clone() };
    (points(wrappedBad.load)[0]!.load as Record<string, unknown>).mode = 'burst';
    expectInputError(() => parseLoadResult(wrappedBad, 'x.json'), /: load\.points\[0\]\.load\.mode must be "open" or "closed" \(got "burst"\)$/);
    const corrupt = clone();
    (points(corrupt)[0]!.histograms!.corrected as Record<string, unknown>).count = 7;
    expectInputError(() => parseLoadResult(corrupt, 'x.json'), /: points\[0\]\.histograms\.corrected is not a valid serialized histogram \(serialized histogram is inconsistent/);
    const badLlm = clone();
    ((points(badLlm)[0]!.histograms!.llm as Record<string, Record<string, unknown>>).ttft!).v = 2;
    expectInputError(() => parseLoadResult(badLlm, 'x.json'), /: points\[0\]\.histograms\.llm\.ttft is not a valid serialized histogram/);
    const noValidity = clone();
    delete (points(noValidity)[0]!.repeats as unknown as Record<string, unknown>[])[0]!.validity;
    expectInputError(() => parseLoadResult(noValidity, 'x.json'), /: points\[0\]\.repeats\[0\]\.validity must be an object/);
  });
});
