// The canary judge's analysis sources against real components: `ferry serve` processes (a stable
// version; canaries that are the same model, 40 ms slower, failing 5% of requests, or a model whose
// predictions disagree) scraped by a real Prometheus, and Ferry's paired synthetic load sent to
// them. Each test asserts what a rollout would see: exact request counts, and the judge's verdict.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LatencyHistogram } from '@ferry/bench';
import {
  AnalysisUnavailableError,
  COUNTS_KEY,
  judgeCanary,
  LATENCY_KEY,
  PAIRED_KEY,
  PrometheusSource,
  SyntheticPairedSource,
  type AnalysisVersions,
  type JudgeConfig,
  type JudgeWindow,
  type MissingPolicy,
  type SyntheticPairedSourceOptions,
  type TimeWindow,
  type VersionRef,
} from '@ferry/rollout';
import { InputError } from '@ferry/core';
import { freePort, pollUntil, startPrometheus, stopAll, type PrometheusComponent } from '../support/components/index.js';
import { makeSmokeModel, startFerryServe, stopFerryServes, type ServeProcess } from '../support/ferry-serve.js';
import { requirePython } from '../support/python.js';
import { REPO_ROOT, requireBuilt, run } from '../support/repo.js';

const MODEL = 'classifier';
const LOOK = { index: 1, count: 1 } as const;

/**
 * Latency and error rate, as a rollout judges a canary from metrics. The latency floor tolerates a
 * shift under 5 ms (or 25% of stable's p50): two identical servers on two shared CI cores differ by
 * a few milliseconds, which is not what this judge is for; 40 ms is.
 */
const judgeConfig = (missing?: MissingPolicy): JudgeConfig => ({
  metrics: [
    { kind: 'latency', name: 'latency', source: LATENCY_KEY, floor: { relative: 0.25, absoluteMs: 5 }, ...(missing ? { missing } : {}) },
    { kind: 'error-rate', name: 'errors', source: COUNTS_KEY, ...(missing ? { missing } : {}) },
  ],
});
const QUALITY_CONFIG: JudgeConfig = { metrics: [...judgeConfig().metrics, { kind: 'quality', name: 'outputs', source: PAIRED_KEY }] };

let dir: string;
const servers: Record<string, ServeProcess> = {};
let prometheus: PrometheusComponent;
/** The smoke model's evaluation rows: realistic inputs, so predictions spread over the classes. */
let rows: number[][];

const ref = (name: string): VersionRef => ({ name, endpoints: [servers[name]!.url] });
const versions = (canary: string | VersionRef): AnalysisVersions => ({ stable: ref('v1'), canary: typeof canary === 'string' ? ref(canary) : canary });
const never = (): AbortSignal => new AbortController().signal;

beforeAll(async () => {
  requireBuilt();
  dir = mkdtempSync(join(tmpdir(), 'ferry-analysis-'));
  const model = await makeSmokeModel(dir);
  const made = await run(requirePython(), [join(REPO_ROOT, 'test/fixtures/make_canary_models.py'), dir], { timeoutMs: 60_000 });
  if (made.code !== 0) throw new Error(`make_canary_models.py failed:\n${made.stderr}`);
  rows = readFileSync(join(dir, 'eval.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(',').slice(0, 4).map(Number));

  const rotated = join(dir, 'canary-rotated/model.onnx');
  const specs: Record<string, { path: string; extra: string[] }> = {
    v1: { path: model, extra: [] },
    'v2-same': { path: model, extra: [] },
    'v3-slow': { path: model, extra: ['--inject-latency-ms', '40'] },
    'v4-errors': { path: model, extra: ['--inject-error-rate', '0.05', '--inject-seed', '7'] },
    'v5-rotated': { path: rotated, extra: [] },
    'v7-restarted': { path: model, extra: [] },
  };
  const started = await Promise.all(
    Object.entries(specs).map(([version, { path, extra }]) => startFerryServe(['--model-path', path, '--model-name', MODEL, '--model-version', version, '--port', '0', '--quiet', ...extra])),
  );
  Object.keys(specs).forEach((version, i) => (servers[version] = started[i]!));
  prometheus = await startPrometheus({ scrapeTargets: started.map((s) => `127.0.0.1:${s.port}`), scrapeInterval: '1s' });
}, 120_000);

afterAll(async () => {
  await stopFerryServes();
  await stopAll();
});

const inferBody = (row: readonly number[]): string => JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: row }] });

/** Sends `n` inference requests to a version, four at a time; returns the statuses it got. */
async function drive(version: string, n: number): Promise<Record<string, number>> {
  const statuses: Record<string, number> = {};
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < n; i = next++) {
      const res = await fetch(`${servers[version]!.url}/v2/models/${MODEL}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: inferBody(rows[i % rows.length]!) });
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return statuses;
}

describe('PrometheusSource on ferry serve metrics', () => {
  const N = 150;
  const DRIVEN = ['v1', 'v2-same', 'v3-slow', 'v4-errors'];
  const sent: Record<string, Record<string, number>> = {};
  let window: TimeWindow;
  // An auth header goes with every query and must never show in a message.
  const source = (options: Partial<ConstructorParameters<typeof PrometheusSource>[0]> = {}): PrometheusSource =>
    new PrometheusSource({ url: prometheus.url, headers: { authorization: 'Bearer s3cr3t-token' }, step: '2s', ...options });

  beforeAll(async () => {
    // Every server scraped before the window opens, so the window's first evaluation sees its series.
    await pollUntil(async () => ((await prometheus.query('up{job="ferry-test"} == 1')).length === Object.keys(servers).length ? true : undefined), {
      what: 'Prometheus to scrape every ferry serve',
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    const startMs = Date.now();
    // A scrape stamped just before the window may still be reading /metrics: let it finish first,
    // so that no request of the window lands in a sample from before it.
    await sleep(100);
    // All versions at once, so that the stable and the same-model canary share the machine alike.
    const results = await Promise.all(DRIVEN.map((v) => drive(v, N)));
    DRIVEN.forEach((v, i) => (sent[v] = results[i]!));
    // The window closes once the last request of every version has been scraped.
    await pollUntil(
      async () => {
        const totals = await prometheus.query('sum by (version) (ferry_serve_inference_requests_total)');
        return DRIVEN.every((v) => totals.find((s) => s.metric['version'] === v)?.value === N) ? true : undefined;
      },
      { what: `Prometheus to count ${N} requests per version`, timeoutMs: 30_000, intervalMs: 200 },
    );
    window = { startMs, endMs: Date.now() };
  }, 90_000);

  it('counts the requests each version answered, exactly, by status code', async () => {
    expect(sent['v4-errors']!['500']).toBeGreaterThan(0);
    for (const canary of ['v2-same', 'v3-slow', 'v4-errors']) {
      const data = await source().collect(versions(canary), window, never());
      for (const [side, version] of [['stable', 'v1'], ['canary', canary]] as const) {
        expect(data[side].counts?.[COUNTS_KEY], `${version} counts`).toEqual({ requests: N, statusCodes: sent[version] });
        // Every request, failed ones included, is observed in the latency histogram.
        expect((data[side].latency?.[LATENCY_KEY] as LatencyHistogram).count, `${version} latency`).toBe(N);
      }
    }
  });

  it.each([
    { canary: 'v3-slow', what: 'a canary 40 ms slower is aborted on latency', aborted: true },
    { canary: 'v2-same', what: 'a canary serving the same model is not aborted', aborted: false },
  ])('$what', async ({ canary, aborted }) => {
    const data = await source().collect(versions(canary), window, never());
    const judgement = judgeCanary(judgeConfig(), LOOK, data);
    const failed = judgement.rows.filter((r) => r.outcome === 'fail').map((r) => `${r.metric} ${r.check}`);
    if (aborted) {
      expect(judgement.decision).toBe('abort');
      expect(failed).toContain('latency shift');
      expect(failed.filter((f) => !f.startsWith('latency'))).toEqual([]);
    } else {
      expect(judgement.decision, judgement.headline).not.toBe('abort');
      expect(failed).toEqual([]);
    }
  });

  it('shows the 500s of a canary failing 5% of requests in its counts and error rate', async () => {
    const data = await source().collect(versions('v4-errors'), window, never());
    const codes = data.canary.counts?.[COUNTS_KEY]?.statusCodes;
    expect(codes?.['500']).toBe(sent['v4-errors']!['500']);
    expect(codes?.['200']).toBe(N - sent['v4-errors']!['500']!);
    const row = judgeCanary(judgeConfig(), LOOK, data).rows.find((r) => r.metric === 'errors')!;
    expect(row.canary).toBeCloseTo(sent['v4-errors']!['500']! / N, 12);
    expect(row.stable).toBe(0);
  });

  it.each([
    { missing: 'extend' as const, decision: 'extend' },
    { missing: 'inconclusive' as const, decision: 'inconclusive' },
    { missing: 'fail' as const, decision: 'abort' },
  ])('leaves out a version with no series; the judge does not continue (missing: $missing)', async ({ missing, decision }) => {
    const data = await source().collect(versions({ name: 'v9-never-deployed', endpoints: ['http://127.0.0.1:1'] }), window, never());
    expect(data.canary).toEqual({});
    expect(data.stable.counts?.[COUNTS_KEY]?.requests).toBe(N);
    const judgement = judgeCanary(judgeConfig(missing), LOOK, data);
    expect(judgement.decision).toBe(decision);
    expect(judgement.rows.every((r) => r.outcome === 'missing')).toBe(true);
  });

  it('escapes the version name, so a name cannot rewrite the query into another version', async () => {
    // Unescaped, this would read version="v1",version!="" and find stable's series as the canary's.
    const data = await source().collect(versions({ name: 'v1",version!="', endpoints: ['http://127.0.0.1:1'] }), window, never());
    expect(data.canary).toEqual({});
  });

  it('reads the router preset and custom queries the same way', async () => {
    // No router runs here: its series are absent, so its keys are left out, never read as zero.
    const router = await source({ preset: 'ferry-router' }).collect(versions('v2-same'), window, never());
    expect(router).toEqual({ stable: {}, canary: {} });
    const custom = source({ queries: { latency: null, counts: 'ferry_serve_inference_requests_total{job="ferry-test",version="{{version}}"}' } });
    const data = await custom.collect(versions('v2-same'), window, never());
    expect(data.canary).toEqual({ counts: { [COUNTS_KEY]: { requests: N, statusCodes: { '200': N } } } });
  });

  it('turns a PromQL error into AnalysisUnavailableError naming the URL and the query, never the header', async () => {
    const broken = source({ queries: { latency: 'sum(ferry_serve_inference_request_duration_seconds_bucket{version="{{version}}"}' } });
    const error = await broken.collect(versions('v2-same'), window, never()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AnalysisUnavailableError);
    expect((error as Error).message).toContain(prometheus.url);
    expect((error as Error).message).toContain('sum(ferry_serve_inference_request_duration_seconds_bucket{version="v');
    expect((error as Error).message).toMatch(/bad_data/);
    expect((error as Error).message).not.toContain('s3cr3t');
  });

  it('counts across a restarted server: a counter that drops started again from zero', async () => {
    const port = servers['v7-restarted']!.port;
    const total = async (): Promise<number | undefined> => (await prometheus.query('sum(ferry_serve_inference_requests_total{version="v7-restarted"})'))[0]?.value;
    const startMs = Date.now();
    await sleep(100);
    await drive('v7-restarted', 30);
    await pollUntil(async () => ((await total()) === 30 ? true : undefined), { what: 'Prometheus to count 30 requests', timeoutMs: 20_000, intervalMs: 100 });
    await servers['v7-restarted']!.stop();
    servers['v7-restarted'] = await startFerryServe(['--model-path', join(dir, 'model.onnx'), '--model-name', MODEL, '--model-version', 'v7-restarted', '--port', String(port), '--quiet']);
    await drive('v7-restarted', 20);
    await pollUntil(async () => ((await total()) === 20 ? true : undefined), { what: 'Prometheus to count 20 requests after the restart', timeoutMs: 20_000, intervalMs: 100 });
    // A step shorter than the restart, so that an evaluation sees the counter before it drops.
    const data = await source({ step: 0.5 }).collect(versions('v7-restarted'), { startMs, endMs: Date.now() }, never());
    expect(data.canary.counts?.[COUNTS_KEY]).toEqual({ requests: 50, statusCodes: { '200': 50 } });
    expect((data.canary.latency?.[LATENCY_KEY] as LatencyHistogram).count).toBe(50);
  });

  // Last: it stops the Prometheus the other tests read.
  it('turns a stopped Prometheus into AnalysisUnavailableError naming the URL, never a pass', async () => {
    await prometheus.stop();
    const error = await source({ retries: 1 }).collect(versions('v2-same'), window, never()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AnalysisUnavailableError);
    expect((error as Error).message).toContain(`Prometheus at ${prometheus.url}`);
    expect((error as Error).message).toMatch(/failed \(2 attempts\): cannot be reached \(.*ECONNREFUSED/);
    expect((error as Error).message).not.toContain('s3cr3t');
  });
});

describe('SyntheticPairedSource against ferry serve', () => {
  /** Runs paired load against stable v1 and `canary` for `ms`, and collects that window. */
  async function pairedWindow(canary: string | VersionRef, options: Partial<SyntheticPairedSourceOptions>, ms: number): Promise<JudgeWindow> {
    const source = new SyntheticPairedSource({ model: MODEL, rate: 50, seed: 3, timeoutMs: 5_000, ...options });
    const v = versions(canary);
    const startMs = Date.now();
    try {
      await source.start(v, never());
      await sleep(ms);
      return await source.collect(v, { startMs, endMs: Date.now() }, never());
    } finally {
      await source.close();
    }
  }

  it('finds a canary serving the same model in full agreement, and does not abort it', async () => {
    // Payloads generated from the signature stable reports at GET /v2/models/classifier.
    const data = await pairedWindow('v2-same', {}, 2_000);
    const paired = data.paired?.[PAIRED_KEY];
    expect(paired?.stable.length).toBeGreaterThanOrEqual(60);
    expect(paired?.canary).toEqual(paired?.stable);
    expect((paired?.stable[0] as number[]).length).toBe(3);
    for (const side of ['stable', 'canary'] as const) {
      const counts = data[side].counts?.[COUNTS_KEY];
      expect(counts?.statusCodes).toEqual({ '200': counts?.requests });
      expect(data[side].latency?.[LATENCY_KEY]).toHaveLength(counts!.requests!);
    }
    const judgement = judgeCanary(QUALITY_CONFIG, LOOK, data);
    const agreement = judgement.rows.find((r) => r.check === 'agreement')!;
    expect(agreement.canary).toBe(1);
    expect(judgement.decision, judgement.headline).not.toBe('abort');
  });

  it('fails the quality metric of a model whose predictions disagree', async () => {
    // Payloads from a JSONL dataset of the model's evaluation rows.
    const dataset = join(dir, 'payloads.jsonl');
    writeFileSync(dataset, rows.map((r) => inferBody(r)).join('\n') + '\n');
    const data = await pairedWindow('v5-rotated', { dataset }, 1_500);
    const judgement = judgeCanary(QUALITY_CONFIG, LOOK, data);
    const agreement = judgement.rows.find((r) => r.check === 'agreement')!;
    expect(agreement.canary).toBe(0);
    expect(agreement.outcome).toBe('fail');
    expect(judgement.decision).toBe('abort');
    // It answers as fast and as often as stable: only the outputs give it away.
    expect(data.canary.counts?.[COUNTS_KEY]?.statusCodes).toEqual({ '200': data.canary.counts?.[COUNTS_KEY]?.requests });
  });

  it.each([
    { what: 'an unreachable canary', canary: async (): Promise<VersionRef> => ({ name: 'v6-down', endpoints: [`http://127.0.0.1:${await freePort()}`] }), timeoutMs: 5_000, code: '502' },
    // 40 ms injected against a 25 ms timeout: every canary request times out.
    { what: 'a canary slower than the timeout', canary: async (): Promise<VersionRef> => ref('v3-slow'), timeoutMs: 25, code: '504' },
  ])('counts $what as errors for the canary ($code), never as a pass', async ({ canary: version, timeoutMs, code }) => {
    const data = await pairedWindow(await version(), { timeoutMs }, 1_500);
    const canary = data.canary.counts?.[COUNTS_KEY];
    expect(canary?.requests).toBeGreaterThanOrEqual(40);
    expect(canary?.statusCodes).toEqual({ [code]: canary?.requests });
    expect(data.canary.latency).toBeUndefined();
    expect(data.paired).toBeUndefined();
    const judgement = judgeCanary(QUALITY_CONFIG, LOOK, data);
    expect(judgement.decision).toBe('abort');
    expect(judgement.rows.find((r) => r.metric === 'errors')?.outcome).toBe('fail');
  });

  it.each([
    { what: 'the stable endpoint that has no model signature', options: {}, stable: 'http://127.0.0.1:1', error: AnalysisUnavailableError, names: 'http://127.0.0.1:1/v2/models/classifier' },
    { what: 'the dataset line that is not an OIP v2 request', options: { dataset: 'bad.jsonl' }, stable: undefined, error: InputError, names: 'bad.jsonl: payload 2' },
  ])('refuses to start, naming $what', async ({ options, stable, error, names }) => {
    const dataset = join(dir, 'bad.jsonl');
    writeFileSync(dataset, `${inferBody(rows[0]!)}\n{"instances": [[1, 2, 3, 4]]}\n`);
    const source = new SyntheticPairedSource({ model: MODEL, ...options, ...(options.dataset ? { dataset } : {}) });
    const v = versions('v2-same');
    const started = source.start(stable ? { ...v, stable: { name: 'v1', endpoints: [stable] } } : v, never());
    await expect(started).rejects.toThrow(error);
    await expect(started).rejects.toThrow(names);
    await source.close();
  });

  it('stops sending on abort and on close, and leaves nothing running', async () => {
    const handles = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'Timeout').length;
    const before = handles();
    const source = new SyntheticPairedSource({ model: MODEL, rate: 100, seed: 5 });
    const controller = new AbortController();
    const startMs = Date.now();
    await source.start(versions('v2-same'), controller.signal);
    await sleep(300);
    controller.abort();
    const window = { startMs, endMs: Date.now() + 10_000 };
    const first = await source.collect(versions('v2-same'), window, never());
    await sleep(300);
    const second = await source.collect(versions('v2-same'), window, never());
    expect(first.stable.counts?.[COUNTS_KEY]?.requests).toBeGreaterThan(0);
    expect(second).toEqual(first);
    await source.close();
    await source.close();
    expect(handles()).toBeLessThanOrEqual(before);
  });
});
