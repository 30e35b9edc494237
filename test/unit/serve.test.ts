// The parts of `ferry serve` whose behaviour is hard to force through a live server: the inference
// queue under contention, the exposition of awkward label values, and the seeded fault draws.
import { describe, expect, it } from 'vitest';
import { FaultInjector, InferenceSlots, MetricsRegistry, negotiateFormat, SeededRandom, defaultModelName } from '@ferry/serve';
import { parseExposition, sampleValue } from '../support/exposition.js';

describe('InferenceSlots', () => {
  it('runs up to the limit, queues in arrival order, and refuses beyond the queue with 503', async () => {
    const slots = new InferenceSlots(2, 2);
    const never = new AbortController().signal;
    const order: string[] = [];
    const first = await slots.acquire(never);
    const second = await slots.acquire(never);
    const third = slots.acquire(never).then((release) => (order.push('third'), release));
    const fourth = slots.acquire(never).then((release) => (order.push('fourth'), release));
    expect([slots.active, slots.queued]).toEqual([2, 2]);
    await expect(slots.acquire(never)).rejects.toMatchObject({ status: 503, reason: 'overloaded', headers: { 'Retry-After': '1' } });
    first();
    first(); // a second release of the same slot changes nothing
    const releaseThird = await third;
    expect([slots.active, slots.queued]).toEqual([2, 1]);
    second();
    (await fourth)();
    releaseThird();
    expect(order).toEqual(['third', 'fourth']);
    expect([slots.active, slots.queued]).toEqual([0, 0]);
  });

  it('drops a waiter whose request is aborted, and hands its turn to the next', async () => {
    const slots = new InferenceSlots(1, 4);
    const release = await slots.acquire(new AbortController().signal);
    const timeout = new AbortController();
    const abandoned = slots.acquire(timeout.signal);
    const next = slots.acquire(new AbortController().signal);
    timeout.abort(new Error('timed out'));
    await expect(abandoned).rejects.toThrow('timed out');
    expect(slots.queued).toBe(1);
    release();
    (await next)();
    expect(slots.active).toBe(0);
  });
});

describe('MetricsRegistry exposition', () => {
  const registry = new MetricsRegistry();
  const requests = registry.counter('demo_requests', 'Requests with "quotes" and a back\\slash\nand a newline.', ['path']);
  const latency = registry.histogram('demo_latency_seconds', 'Latency.', ['path'], [0.1, 1, 0.01]);
  const inFlight = registry.gauge('demo_in_flight', 'In flight.');
  const awkward = 'a "quoted" \\ path\nwith a newline';
  requests.inc({ path: awkward }, 3);
  requests.inc({ path: '/plain' });
  for (const v of [0.005, 0.05, 0.05, 0.5, 5]) latency.observe({ path: '/plain' }, v);
  inFlight.set({}, 2);

  it.each(['prometheus', 'openmetrics'] as const)('%s output parses and round-trips label values', (format) => {
    const text = registry.render(format);
    const exposition = parseExposition(text, format);
    expect(sampleValue(exposition, 'demo_requests_total', { path: awkward })).toBe(3);
    expect(sampleValue(exposition, 'demo_requests_total', { path: '/plain' })).toBe(1);
    // Buckets are sorted and cumulative whatever order they were declared in.
    const buckets = exposition.samples.filter((s) => s.name === 'demo_latency_seconds_bucket').map((s) => [s.labels.le, s.value]);
    expect(buckets).toEqual([
      ['0.01', 1],
      ['0.1', 3],
      ['1.0', 4],
      ['+Inf', 5],
    ]);
    expect(sampleValue(exposition, 'demo_latency_seconds_sum', { path: '/plain' })).toBeCloseTo(5.605, 10);
    expect(sampleValue(exposition, 'demo_in_flight')).toBe(2);
    expect(exposition.types.get(format === 'openmetrics' ? 'demo_requests' : 'demo_requests_total')).toBe('counter');
  });

  it('refuses what would make an invalid exposition', () => {
    const r = new MetricsRegistry();
    expect(() => r.counter('bad-name', 'x')).toThrow(/invalid metric name/);
    expect(() => r.histogram('h', 'x', ['le'], [1])).toThrow(/invalid label name le/);
    expect(() => r.histogram('h', 'x', [], [1, 1])).toThrow(/distinct finite/);
    r.gauge('g', 'x');
    expect(() => r.gauge('g', 'x')).toThrow(/registered twice/);
    expect(() => r.counter('c', 'x').inc({}, -1)).toThrow(/only goes up/);
  });

  it.each([
    [undefined, 'prometheus'],
    ['text/plain;version=0.0.4;q=1,*/*;q=0.1', 'prometheus'],
    ['application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4', 'openmetrics'],
  ] as const)('Accept %s → %s', (accept, format) => {
    expect(negotiateFormat(accept)).toBe(format);
  });
});

describe('seeded faults', () => {
  it('repeat exactly for a seed and differ between seeds', () => {
    const draw = (seed: number): number[] => {
      const r = new SeededRandom(seed);
      return Array.from({ length: 5 }, () => r.next());
    };
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
    for (const v of draw(3)) expect(v >= 0 && v < 1).toBe(true);
  });

  it.each([0.01, 0.2, 0.5])('an error rate of %s fails about that fraction of 100 000 draws', (rate) => {
    const faults = new FaultInjector({ latencyMs: 0, jitterMs: 0, errorRate: rate, seed: 11 });
    const n = 100_000;
    let failed = 0;
    for (let i = 0; i < n; i++) if (faults.decide().fail) failed++;
    const sd = Math.sqrt(n * rate * (1 - rate));
    expect(Math.abs(failed - n * rate)).toBeLessThan(5 * sd);
  });

  it('draws jitter in [latency, latency + jitter) without changing which requests fail', () => {
    const plain = new FaultInjector({ latencyMs: 0, jitterMs: 0, errorRate: 0.3, seed: 5 });
    const jittered = new FaultInjector({ latencyMs: 100, jitterMs: 20, errorRate: 0.3, seed: 5 });
    for (let i = 0; i < 1000; i++) {
      const a = plain.decide();
      const b = jittered.decide();
      expect(b.fail).toBe(a.fail);
      expect(b.delayMs >= 100 && b.delayMs < 120).toBe(true);
    }
    expect(new FaultInjector({ latencyMs: 0, jitterMs: 0, errorRate: 0, seed: 1 }).active).toBe(false);
  });
});

describe('default model name', () => {
  it.each([
    ['/models/classifier/model.onnx', 'model'],
    ['/models/classifier/', 'classifier'],
    ['resnet 50 (v2).onnx', 'resnet-50--v2-'],
    ['/models/#1.onnx', '1'],
    ['/models/__.onnx', 'model'],
  ])('%s → %s', (path, name) => {
    expect(defaultModelName(path)).toBe(name);
  });
});
