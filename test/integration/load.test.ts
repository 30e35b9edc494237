// The load generator against a real server with known behaviour (test/support/scripted-server.ts,
// its own process on loopback). Bounds are generous on purpose: these machines are shared, and the
// tight accuracy figures belong to `npm run bench -- --only load-generator`, not to a test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad, type LoadOptions, type LoadPointResult, type ProtocolSpec } from '@ferry/bench';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.ts';

let server: ScriptedServer;
beforeAll(async () => {
  server = await startScriptedServer();
});
afterAll(async () => {
  await server?.close();
});

const http = (path: string): ProtocolSpec => ({ kind: 'http', path });

async function one(options: Omit<LoadOptions, 'target'> & { target?: string }): Promise<LoadPointResult> {
  const result = await runLoad({ target: server.url, warmupMs: 300, windowMs: 1000, maxWindows: 2, stability: false, threads: 2, ...options });
  expect(result.points).toHaveLength(1);
  return result.points[0]!;
}

function cv(times: readonly number[]): number {
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  return Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / (gaps.length - 1)) / mean;
}

describe('load generator against the scripted server', () => {
  it('a fixed 20 ms service at a modest rate reads as a little over 20 ms, never under, at the rate asked', async () => {
    const pt = await one({ protocol: http('/fixed?ms=20'), load: { mode: 'open', rate: 200 } });
    const s = pt.summary;
    expect(s.requests.failed).toBe(0);
    expect(s.requests.scheduled).toBe(400); // constant rate: exactly 200/s over two 1 s windows
    expect(s.requests.sent / s.requests.scheduled).toBeGreaterThan(0.97);
    expect(Math.abs(s.throughput - 200) / 200).toBeLessThan(0.05);
    for (const h of [s.latencyMs.corrected, s.latencyMs.raw]) {
      expect(h.min!).toBeGreaterThanOrEqual(20);
      expect(h.p50!).toBeGreaterThanOrEqual(20);
      expect(h.p50!).toBeLessThan(30);
    }
    expect(pt.repeats[0]!.windows).toHaveLength(2);
    expect(pt.repeats[0]!.warmup?.ok).toBeGreaterThan(0);
  });

  it('a 1 s stall shows in the corrected p99 and not in the raw one (coordinated omission)', async () => {
    // 10 connections, like a closed-loop tool: during the stall the rest of the schedule waits client-side.
    const start = runLoad({
      target: server.url,
      protocol: http('/stalling?ms=5'),
      load: { mode: 'open', rate: 400, connections: 10 },
      warmupMs: 300,
      windowMs: 1000,
      maxWindows: 4,
      stability: false,
      threads: 2,
    });
    const stall = await server.stall(1500, 1000);
    const pt = (await start).points[0]!;
    const { corrected, raw } = pt.summary.latencyMs;
    // Truth: a quarter of the 4 s run falls in the stall, so p99 ≈ 5 + 0.96 × 1000 ms.
    expect(corrected.p99!).toBeGreaterThan(700);
    expect(corrected.max!).toBeGreaterThan(900);
    expect(raw.p99!).toBeLessThan(200);
    expect(raw.max!).toBeGreaterThan(900); // the requests caught in the stall itself
    expect(stall.end - stall.start).toBe(1000);
    expect(pt.summary.connectionWaits).toBeGreaterThan(100);
    expect(pt.validity.warnings.join(' ')).toMatch(/waited/);
  });

  it('an absurd rate for this machine is marked invalid, with the reason', async () => {
    const pt = await one({ protocol: http('/'), load: { mode: 'open', rate: 400_000, connections: 64 }, warmupMs: 0, maxWindows: 1, timeoutMs: 1000 });
    expect(pt.validity.valid).toBe(false);
    const codes = pt.validity.reasons.map((r) => r.code);
    expect(codes.some((c) => ['send-lag', 'generator-cpu', 'dropped', 'rate-shortfall'].includes(c))).toBe(true);
    expect(pt.validity.reasons[0]!.message.length).toBeGreaterThan(20);
  });

  it('closed loop keeps exactly N requests in flight', async () => {
    await server.reset();
    const pt = await one({ protocol: http('/fixed?ms=30'), load: { mode: 'closed', concurrency: 6 }, warmupMs: 200, maxWindows: 1 });
    const stats = await server.stats();
    expect(stats.maxInFlight).toBe(6);
    // 6 users × ~30 ms service: close to 200 req/s, and never more.
    expect(pt.summary.throughput).toBeLessThanOrEqual(200);
    expect(pt.summary.throughput).toBeGreaterThan(120);
    expect(pt.summary.latencyMs.raw.min!).toBeGreaterThanOrEqual(30);
  });

  it('gamma arrivals with burstiness < 1 reach the server burstier than Poisson (same seed)', async () => {
    const cvs: number[] = [];
    for (const load of [
      { mode: 'open', process: 'poisson', rate: 300, seed: 11 },
      { mode: 'open', process: 'gamma', burstiness: 0.2, rate: 300, seed: 11 },
    ] as const) {
      await server.reset();
      await one({ protocol: http('/'), load, warmupMs: 0, maxWindows: 2 });
      cvs.push(cv([...(await server.stats()).arrivals].sort((a, b) => a - b)));
    }
    expect(cvs[0]!).toBeGreaterThan(0.7);
    expect(cvs[0]!).toBeLessThan(1.3);
    expect(cvs[1]!).toBeGreaterThan(cvs[0]! * 1.4);
  });

  it('times a scripted SSE stream: TTFT, chunk ITL, token ITL, TPOT, tokens from usage', async () => {
    // First content at 60 ms, then a chunk every 25 ms, 2 tokens per chunk, 12 tokens in all.
    const pt = await one({
      protocol: { kind: 'openai-completions', model: 'tiny', path: '/v1/completions?ttft=60&itl=25&tokens=12&perchunk=2' },
      load: { mode: 'closed', concurrency: 4 },
      slo: { ttftMs: 1000 },
    });
    const llm = pt.summary.llm!;
    expect(pt.summary.requests.failed).toBe(0);
    expect(llm.streams).toBeGreaterThan(10);
    expect(llm.streamsWithUsage).toBe(llm.streams);
    expect(llm.outputTokens).toBe(12 * llm.streams);
    // TTFT also carries the request's trip to the server, which a busy shared machine stretches;
    // chunk gaps do not (both ends of a gap pay the same wake-up).
    expect(llm.ttftMs.p50!).toBeGreaterThanOrEqual(60);
    expect(llm.ttftMs.p50!).toBeLessThan(90);
    expect(llm.itlChunkMs.p50!).toBeGreaterThan(22);
    expect(llm.itlChunkMs.p50!).toBeLessThan(28);
    expect(llm.itlTokenMs.p50!).toBeGreaterThan(11);
    expect(llm.itlTokenMs.p50!).toBeLessThan(14);
    // TPOT = (E2E − TTFT) / (tokens − 1) = 5 × 25 / 11 ≈ 11.4 ms.
    expect(llm.tpotMs.p50!).toBeGreaterThan(10.5);
    expect(llm.tpotMs.p50!).toBeLessThan(13);
    expect(llm.goodRequests).toBe(llm.streams);
    expect(llm.e2eMs.p50!).toBeGreaterThanOrEqual(60 + 5 * 25);
    expect(llm.streamsBunched).toBe(0);
    expect(pt.validity.warnings.join('\n')).not.toMatch(/in one read/);
  });

  it('says so when a stream arrives in one read (a buffering proxy): no ITL to trust', async () => {
    const pt = await one({
      protocol: { kind: 'openai-completions', model: 'tiny', path: '/v1/completions?ttft=30&tokens=8&bunched=1' },
      load: { mode: 'closed', concurrency: 2 },
    });
    const llm = pt.summary.llm!;
    expect(llm.streams).toBeGreaterThan(5);
    expect(llm.streamsBunched).toBe(llm.streams);
    expect(llm.itlChunkMs.max).toBe(0);
    // A warning, never a reason to call the run invalid (whether the run is valid depends on how busy
    // the shared machine is, which is not what this test is about).
    expect(pt.validity.reasons.map((r) => r.message).join('\n')).not.toMatch(/in one read/);
    expect(pt.validity.warnings.join('\n')).toMatch(new RegExp(`^${llm.streams} of ${llm.streams} streams arrived in one read`, 'm'));
  });

  it('classifies failures: refused, reset, timeout, 4xx, 5xx, protocol', async () => {
    const closedPort = await (async () => {
      const probe = await startScriptedServer();
      const url = probe.url;
      await probe.close();
      return url;
    })();
    const cases: { name: string; target?: string; protocol: ProtocolSpec; payloads?: LoadOptions['payloads']; timeoutMs?: number; cls: string }[] = [
      { name: 'nothing listening', target: closedPort, protocol: http('/'), cls: 'refused' },
      { name: 'connection destroyed', protocol: http('/reset'), cls: 'reset' },
      { name: 'too slow', protocol: http('/fixed?ms=3000'), timeoutMs: 200, cls: 'timeout' },
      { name: '404', protocol: http('/status/404'), cls: 'http4xx' },
      { name: '503', protocol: http('/status/503'), cls: 'http5xx' },
      { name: 'not HTTP', protocol: http('/garbage'), cls: 'protocol' },
      { name: 'OIP 200 without outputs', protocol: { kind: 'oip-v2', model: 'broken' }, payloads: { kind: 'signature', inputs: [{ name: 'x', dtype: 'FLOAT', shape: ['batch', 4] }] }, cls: 'protocol' },
    ];
    for (const c of cases) {
      const pt = await one({ ...(c.target ? { target: c.target } : {}), ...(c.payloads ? { payloads: c.payloads } : {}), protocol: c.protocol, load: { mode: 'closed', concurrency: 1 }, warmupMs: 0, windowMs: 500, maxWindows: 1, threads: 0, ...(c.timeoutMs ? { timeoutMs: c.timeoutMs } : {}) });
      const errors = pt.summary.errors;
      expect(errors[c.cls as keyof typeof errors], c.name).toBeGreaterThan(0);
      expect(pt.summary.requests.failed, c.name).toBe(errors[c.cls as keyof typeof errors]);
      expect(pt.summary.requests.ok, c.name).toBe(0);
      expect(pt.summary.errorSamples.length, c.name).toBeGreaterThan(0);
    }
    // A well-formed OIP model answers without error.
    const inputs = [{ name: 'x', dtype: 'FLOAT', shape: ['batch', 4] }];
    const good = await one({ target: server.url, protocol: { kind: 'oip-v2', model: 'm' }, payloads: { kind: 'signature', inputs }, load: { mode: 'closed', concurrency: 1 }, warmupMs: 0, windowMs: 500, maxWindows: 1, threads: 0 });
    expect(good.summary.requests.failed).toBe(0);
    expect(good.summary.requests.ok).toBeGreaterThan(0);
  });
});
