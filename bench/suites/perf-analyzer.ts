// The load generator beside Triton's perf_analyzer (Open Inference Protocol v2 over HTTP) and NVIDIA's
// AIPerf (an OpenAI completions stream) on the same server with the same load, interleaved round by
// round: the p50 and p99 each tool reports must agree within 5%. perf_analyzer does not correct for
// coordinated omission, so Ferry's raw latency (send → last byte) is the figure compared.
//
// The server is a small one of this file, run as its own process (`node perf-analyzer.ts serve 5`): a
// model with a known 5 ms service time that answers what perf_analyzer reads at start-up (server
// metadata, model metadata and the Triton model configuration, which `ferry serve` does not serve), and
// an OpenAI completions stream shaped as the OpenAI API shapes it (AIPerf ignores chunks without
// `object`, which the tests' scripted server leaves out). Responses are timed by @ferry/bench's
// PreciseTimer (a helper thread in Atomics.wait), so 5 ms is 5 ms, never less.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { monotonicMs, PreciseTimer, runLoad, type LoadOptions, type LoadPointResult } from '@ferry/bench';
import { errorRow, type Row } from '../lib/report.ts';
import { runTool, type ToolRun } from '../lib/spawn.ts';
import type { DetailTable, Suite, SuiteContext, SuiteResult } from '../lib/suite.ts';

const SUITE = 'perf-analyzer';

/** Installed by scripts/install-bench-tools.sh (pins there): tritonclient 2.51.0's bundled perf_analyzer, aiperf 0.13.0. */
const VENV = process.env['FERRY_BENCH_VENV'] ?? '/var/cache/ferry/bench-venv';
const PERF_ANALYZER = join(VENV, 'bin', 'ferry-perf-analyzer');
const AIPERF = join(VENV, 'bin', 'aiperf');
const TOKENIZER = join(VENV, 'ferry-tokenizer');
const INSTALL = 'sudo bash scripts/install-bench-tools.sh';

/** perf_analyzer's windows last 1.2 × `-p`; Ferry measures three windows of the same length after a 1 s warm-up. */
const PLANS = {
  full: { rounds: 3, paIntervalMs: 2000, sseSeconds: 8 },
  quick: { rounds: 1, paIntervalMs: 1000, sseSeconds: 4 },
};

const SERVICE_MS = 5;
const MODEL = 'mlp';
const LLM = 'bench-llm';
const SSE = { ttft: 50, itl: 20, tokens: 20, concurrency: 8 };
const SSE_PATH = `/v1/completions?ttft=${SSE.ttft}&itl=${SSE.itl}&tokens=${SSE.tokens}`;
/** Agreement goal: Ferry's figure within 5% of the anchor's. */
const TOLERANCE = 0.05;

/** The request perf_analyzer sends for `--input-data` below with JSON tensors; Ferry sends the same bytes' worth. */
// Not whole numbers: JSON writes 2.0 as 2, and perf_analyzer then finds no float data for an FP32 input.
const FEATURES = [0.5, -1.25, 2.5, 0.75];
const OIP_BODY = { id: '', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: FEATURES }], outputs: [{ name: 'logits', parameters: { binary_data: false } }] };

interface OipScenario {
  readonly id: string;
  readonly label: string;
  readonly ferry: LoadOptions['load'];
  readonly perfAnalyzer: readonly string[];
  /** Open loop: the rate both must send, checked on perf_analyzer's side as Ferry's self-check does on its own. */
  readonly rate?: number;
}

const OIP_SCENARIOS: readonly OipScenario[] = [
  {
    id: 'rate',
    label: 'constant 200 req/s',
    ferry: { mode: 'open', process: 'constant', rate: 200 },
    perfAnalyzer: ['--request-rate-range', '200', '--request-distribution', 'constant'],
    rate: 200,
  },
  { id: 'concurrency', label: 'concurrency 8', ferry: { mode: 'closed', concurrency: 8 }, perfAnalyzer: ['--concurrency-range', '8'] },
];

// ---------------------------------------------------------------------------------------- server

interface ServerStats {
  readonly byAgent: Record<string, { requests: number; bodyBytes: number }>;
}

/** The server both tools load; runs in its own process and prints {"port":N} once listening. */
function serve(serviceMs: number): void {
  // A response due at t goes out at t, never before and at most tens of microseconds after.
  const deadlines: { at: number; fn: () => void }[] = [];
  const timer = new PreciseTimer(() => {
    const now = monotonicMs();
    while (deadlines.length > 0 && deadlines[0]!.at <= now) deadlines.shift()!.fn();
    if (deadlines.length > 0) timer.armAt(deadlines[0]!.at);
  });
  const at = (when: number, fn: () => void): void => {
    let i = deadlines.length;
    while (i > 0 && deadlines[i - 1]!.at > when) i--;
    deadlines.splice(i, 0, { at: when, fn });
    if (i === 0) timer.armAt(when);
  };

  let stats: ServerStats = { byAgent: {} };
  const count = (req: http.IncomingMessage, bytes: number): void => {
    const agent = req.headers['user-agent'] ?? '(none)';
    const s = (stats.byAgent[agent] ??= { requests: 0, bodyBytes: 0 });
    s.requests++;
    s.bodyBytes += bytes;
  };
  const json = (res: http.ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  // Open Inference Protocol v2, with the Triton model configuration perf_analyzer reads at start-up.
  // No `statistics` extension is announced, so perf_analyzer asks for no server-side statistics.
  const metadata = { name: MODEL, versions: ['1'], platform: 'ferry_bench', inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 3] }] };
  const config = {
    name: MODEL,
    platform: 'ferry_bench',
    max_batch_size: 0,
    input: [{ name: 'features', data_type: 'TYPE_FP32', dims: [-1, 4] }],
    output: [{ name: 'logits', data_type: 'TYPE_FP32', dims: [-1, 3] }],
  };
  const inferResponse = JSON.stringify({ model_name: MODEL, model_version: '1', outputs: [{ name: 'logits', datatype: 'FP32', shape: [1, 3], data: [0.25, 0.5, 0.25] }] });

  // OpenAI completions, streamed: the first chunk `ttft` after the request arrived, then one every `itl`.
  function completions(res: http.ServerResponse, arrived: number, q: URLSearchParams, body: string): void {
    const ttft = Number(q.get('ttft') ?? SSE.ttft);
    const itl = Number(q.get('itl') ?? SSE.itl);
    const tokens = Number(q.get('tokens') ?? SSE.tokens);
    let usage = false;
    try {
      usage = (JSON.parse(body) as { stream_options?: { include_usage?: boolean } }).stream_options?.include_usage === true;
    } catch {
      json(res, 400, { error: { message: 'the body is not JSON' } });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): string =>
      `data: ${JSON.stringify({ id: 'cmpl-bench', object: 'text_completion', created: 0, model: LLM, choices, ...extra })}\n\n`;
    for (let i = 0; i < tokens; i++) {
      at(arrived + ttft + i * itl, () => {
        const last = i === tokens - 1;
        res.write(chunk([{ index: 0, text: 'tok ', logprobs: null, finish_reason: last ? 'length' : null }]));
        if (!last) return;
        if (usage) res.write(chunk([], { usage: { prompt_tokens: 8, completion_tokens: tokens, total_tokens: tokens + 8 } }));
        res.end('data: [DONE]\n\n');
      });
    }
  }

  const server = http.createServer((req, res) => {
    const arrived = monotonicMs();
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/\/versions\/1(?=\/|$)/, '');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (path === `/v2/models/${MODEL}/infer` && req.method === 'POST') {
        count(req, body.length);
        at(arrived + serviceMs, () => {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(inferResponse) });
          res.end(inferResponse);
        });
      } else if (path === '/v1/completions' && req.method === 'POST') {
        count(req, body.length);
        completions(res, arrived, url.searchParams, body.toString('utf8'));
      } else if (path === '/v2') json(res, 200, { name: 'ferry-bench', version: '1', extensions: [] });
      else if (path === '/v2/health/ready' || path === '/v2/health/live' || path === `/v2/models/${MODEL}/ready`) json(res, 200, {});
      else if (path === `/v2/models/${MODEL}`) json(res, 200, metadata);
      else if (path === `/v2/models/${MODEL}/config`) json(res, 200, config);
      else if (path === '/v1/models') json(res, 200, { object: 'list', data: [{ id: LLM, object: 'model', created: 0, owned_by: 'ferry' }] });
      else if (path === '/__stats') json(res, 200, stats);
      else if (path === '/__reset') {
        stats = { byAgent: {} };
        json(res, 200, {});
      } else json(res, 404, { error: `no such endpoint: ${req.method} ${url.pathname}` });
    });
  });
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 130_000;
  server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    process.stdout.write(`${JSON.stringify({ port: typeof a === 'object' && a ? a.port : 0 })}\n`);
  });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      server.closeAllConnections();
      server.close(() => process.exit(0));
      setTimeout(() => process.exit(0), 1000).unref();
    });
  }
}

interface BenchServer {
  readonly url: string;
  readonly port: number;
  reset(): Promise<void>;
  stats(): Promise<ServerStats>;
  close(): Promise<void>;
}

async function startServer(): Promise<BenchServer> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'serve', String(SERVICE_MS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the bench server exited (${code}) before listening`)));
  });
  const { port } = JSON.parse(first) as { port: number };
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    reset: async () => {
      await (await fetch(`${url}/__reset`, { method: 'POST' })).json();
    },
    stats: async () => (await (await fetch(`${url}/__stats`)).json()) as ServerStats,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------------------- tools


/** The exit status and the last lines of stderr (of stdout when stderr is empty), for an error message. */
function tail(r: ToolRun, lines = 2): string {
  const nonEmpty = (t: string): string[] => t.split('\n').filter((l) => l.trim() !== '');
  const text = nonEmpty(r.stderr).length > 0 ? nonEmpty(r.stderr) : nonEmpty(r.stdout);
  return `exit ${r.code}${text.length > 0 ? `: ${text.slice(-lines).join(' | ')}` : ''}`;
}

/** Latency percentiles in ms. */
interface Figures {
  count?: number | undefined;
  rps?: number | undefined;
  min?: number | undefined;
  p50?: number | undefined;
  p90?: number | undefined;
  p99?: number | undefined;
}

function nearestRank(sorted: readonly number[], p: number): number | undefined {
  return sorted.length === 0 ? undefined : sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1];
}

function figuresOf(latenciesMs: number[]): Figures {
  const sorted = latenciesMs.sort((a, b) => a - b);
  return { count: sorted.length, min: sorted[0], p50: nearestRank(sorted, 50), p90: nearestRank(sorted, 90), p99: nearestRank(sorted, 99) };
}

interface PerfAnalyzerResult {
  /** As perf_analyzer reports them (its CSV, microseconds; its stdout for the request count). */
  reported?: Figures;
  /** Recomputed here from its --profile-export-file: every request that ended in the last three windows (the ones it merged). */
  records?: Figures;
  windows?: number;
  error?: string;
}

async function perfAnalyzer(server: BenchServer, scenario: OipScenario, intervalMs: number, dir: string): Promise<PerfAnalyzerResult> {
  const csv = join(dir, `${scenario.id}.csv`);
  const exported = join(dir, `${scenario.id}.json`);
  const input = join(dir, 'input-data.json');
  rmSync(csv, { force: true });
  rmSync(exported, { force: true });
  writeFileSync(input, JSON.stringify({ data: [{ features: { content: FEATURES, shape: [1, 4] } }] }));
  const args = [
    '-m', MODEL, '-u', `127.0.0.1:${server.port}`, '-i', 'http', '--service-kind', 'triton',
    '--input-tensor-format', 'json', '--output-tensor-format', 'json', '--input-data', input,
    ...scenario.perfAnalyzer, '--measurement-interval', String(intervalMs),
    // Three windows, then stop, as Ferry measures here: the stability gate (max/min of throughput and
    // mean latency over the last three windows ≤ 1 + s/100, default 10%) opened wide. With the default,
    // a busy 2-core machine can keep perf_analyzer from ever settling (exit 2, nothing reported), and
    // a gate that keeps only calm windows would filter perf_analyzer's figures and not Ferry's.
    '--stability-percentage', '10000', '--max-trials', '10',
    '-f', csv, '--profile-export-file', exported,
  ];
  const r = await runTool(PERF_ANALYZER, args, 180_000);
  if (r.code !== 0 || !existsSync(csv)) return { error: `perf_analyzer ${tail(r)}` };
  const [head, values] = readFileSync(csv, 'utf8').trim().split('\n').map((l) => l.split(','));
  const col = (name: string): number | undefined => {
    const i = head!.indexOf(name);
    return i < 0 || values?.[i] === undefined ? undefined : Number(values[i]);
  };
  const us = (name: string): number | undefined => {
    const v = col(name);
    return v === undefined ? undefined : v / 1000;
  };
  const count = /Request count: (\d+)/.exec(r.stdout);
  const out: PerfAnalyzerResult = {
    reported: { count: count ? Number(count[1]) : undefined, rps: col('Inferences/Second'), p50: us('p50 latency'), p90: us('p90 latency'), p99: us('p99 latency') },
  };
  try {
    const doc = JSON.parse(readFileSync(exported, 'utf8')) as { experiments: { window_boundaries: number[]; requests: { timestamp: number; response_timestamps: number[] }[] }[] };
    const experiment = doc.experiments.at(-1)!;
    const b = experiment.window_boundaries;
    // Boundaries are contiguous (start of the first window, then each window's end); perf_analyzer
    // reports the last three windows merged, counting a request in the window its last response fell in.
    // Timestamps are epoch nanoseconds, past 2^53: as doubles they keep 256 ns, plenty for milliseconds.
    const lo = b[Math.max(0, b.length - 4)]!;
    const hi = b.at(-1)!;
    const latencies: number[] = [];
    for (const req of experiment.requests) {
      const end = req.response_timestamps.at(-1);
      if (end !== undefined && end >= lo && end <= hi) latencies.push((end - req.timestamp) / 1e6);
    }
    out.records = figuresOf(latencies);
    out.windows = b.length - 1;
  } catch (err: unknown) {
    out.error = `perf_analyzer's --profile-export-file could not be read: ${err instanceof Error ? err.message : String(err)}`;
  }
  return out;
}

interface AiperfResult {
  /** As AIPerf reports them (profile_export_aiperf.json; its percentiles interpolate). */
  ttft?: Figures;
  e2e?: Figures;
  itl?: Figures;
  /** Recomputed here, nearest rank, from its per-request records of the profiling phase (profile_export.jsonl). */
  recordsTtft?: Figures;
  recordsE2e?: Figures;
  requests?: number;
  error?: string;
}

async function aiperf(server: BenchServer, seconds: number, dir: string): Promise<AiperfResult> {
  const out = join(dir, `aiperf-${Date.now()}`);
  const args = [
    'profile', '-m', LLM, '--tokenizer', TOKENIZER, '--url', server.url, '--endpoint-type', 'completions',
    '--custom-endpoint', SSE_PATH, '--streaming', '--concurrency', String(SSE.concurrency),
    '--benchmark-duration', String(seconds), '--warmup-duration', '1', '--prompt-input-tokens-mean', '8',
    '--prompt-output-tokens-mean', String(SSE.tokens), '--use-server-token-count', '--random-seed', '1',
    '--output-artifact-dir', out, '--ui-type', 'none', '--no-server-metrics', '--no-gpu-telemetry',
  ];
  const r = await runTool(AIPERF, args, (seconds + 180) * 1000);
  const summaryFile = join(out, 'profile_export_aiperf.json');
  if (r.code !== 0 || !existsSync(summaryFile)) return { error: `aiperf ${tail(r)}` };
  type Stat = { p50?: number; p90?: number; p99?: number; min?: number; count?: number };
  const s = JSON.parse(readFileSync(summaryFile, 'utf8')) as Record<string, Stat | undefined> & { request_count?: { avg?: number } };
  const fig = (st: Stat | undefined): Figures => ({ count: st?.count, min: st?.min, p50: st?.p50, p90: st?.p90, p99: st?.p99 });
  const result: AiperfResult = { ttft: fig(s['time_to_first_token']), e2e: fig(s['request_latency']), itl: fig(s['inter_token_latency']), requests: s.request_count?.avg };
  try {
    const ttft: number[] = [];
    const e2e: number[] = [];
    for (const line of readFileSync(join(out, 'profile_export.jsonl'), 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const rec = JSON.parse(line) as { metadata?: { benchmark_phase?: string }; metrics?: Record<string, { value?: number }>; error?: unknown };
      if (rec.metadata?.benchmark_phase !== 'profiling' || rec.error) continue;
      const t = rec.metrics?.['time_to_first_token']?.value;
      const e = rec.metrics?.['request_latency']?.value;
      if (t !== undefined) ttft.push(t);
      if (e !== undefined) e2e.push(e);
    }
    result.recordsTtft = figuresOf(ttft);
    result.recordsE2e = figuresOf(e2e);
  } catch (err: unknown) {
    result.error = `AIPerf's profile_export.jsonl could not be read: ${err instanceof Error ? err.message : String(err)}`;
  }
  rmSync(out, { recursive: true, force: true });
  return result;
}

async function version(command: string, args: readonly string[]): Promise<string | undefined> {
  const r = await runTool(command, args, 60_000);
  // perf_analyzer prints its version on stderr, aiperf on stdout (its stderr may carry warnings).
  const last = (text: string): string | undefined => text.split('\n').map((l) => l.trim()).filter((l) => l !== '').at(-1);
  return r.code === 0 ? (last(r.stdout) ?? last(r.stderr)) : undefined;
}

// ---------------------------------------------------------------------------------------- rows

const f = (v: number | undefined, digits = 2): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits));

function median(xs: readonly (number | undefined)[]): number | undefined {
  const v = xs.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1]! + v[mid]!) / 2;
}

/** Ferry's figure over the anchor's, from the medians over the rounds: PASS within 5% either way. */
function agreementRow(measurement: string, ferry: number | undefined, anchorLabel: string, anchor: number | undefined, digits = 2): Row {
  if (ferry === undefined || anchor === undefined) return errorRow(SUITE, measurement, `no figure from ${ferry === undefined ? 'ferry' : anchorLabel}`);
  const ratio = ferry / anchor;
  return {
    suite: SUITE,
    measurement,
    ferry: `${f(ferry, digits)} ms`,
    anchor: `${anchorLabel} ${f(anchor, digits)} ms`,
    ratio: `${ratio.toFixed(3)}×`,
    goal: `${(1 - TOLERANCE).toFixed(2)}×–${(1 + TOLERANCE).toFixed(2)}×`,
    status: Math.abs(ratio - 1) <= TOLERANCE ? 'PASS' : 'MISS',
    values: { ferryMs: ferry, anchorMs: anchor, ratio, tolerance: TOLERANCE },
  };
}

function agentCounts(stats: ServerStats): string {
  return Object.entries(stats.byAgent)
    .map(([agent, s]) => `${agent === '(none)' ? 'no User-Agent (ferry)' : agent}: ${s.requests} req, ${Math.round(s.bodyBytes / Math.max(1, s.requests))} B each`)
    .join('; ');
}

// ---------------------------------------------------------------------------------------- suite

interface OipRound {
  round: number;
  /** Why the round is left out of the medians: a tool that did not deliver the load (absent: counted). */
  notCounted?: string;
  ferry?: { raw: Figures; corrected: Figures; valid: string; server: string };
  perfAnalyzer?: PerfAnalyzerResult & { server: string };
  ferryError?: string;
}

async function ferryOip(server: BenchServer, scenario: OipScenario, windowMs: number): Promise<LoadPointResult> {
  const r = await runLoad({
    target: server.url,
    protocol: { kind: 'oip-v2', model: MODEL },
    payloads: { kind: 'items', items: [OIP_BODY] },
    load: scenario.ferry,
    warmupMs: 1000,
    windowMs,
    minWindows: 3,
    maxWindows: 3,
    stability: false,
  });
  return r.points[0]!;
}

const validity = (pt: LoadPointResult): string => (pt.validity.valid ? 'valid' : `invalid: ${pt.validity.reasons.map((r) => r.code).join(', ')}`);

async function oipPart(ctx: SuiteContext, server: BenchServer, plan: (typeof PLANS)['full'], dir: string, rows: Row[], details: DetailTable[], data: Record<string, unknown>): Promise<void> {
  const windowMs = plan.paIntervalMs * 1.2;
  const byScenario = new Map<string, OipRound[]>(OIP_SCENARIOS.map((s) => [s.id, []]));
  for (let round = 1; round <= plan.rounds; round++) {
    for (const scenario of OIP_SCENARIOS) {
      const entry: OipRound = { round };
      const runFerry = async (): Promise<void> => {
        await server.reset();
        try {
          const pt = await ferryOip(server, scenario, windowMs);
          const raw = pt.summary.latencyMs.raw;
          const c = pt.summary.latencyMs.corrected;
          entry.ferry = {
            raw: { count: raw.count, rps: pt.summary.throughput, min: raw.min, p50: raw.p50, p90: raw.p90, p99: raw.p99 },
            corrected: { p50: c.p50, p99: c.p99 },
            valid: validity(pt),
            server: agentCounts(await server.stats()),
          };
        } catch (err: unknown) {
          entry.ferryError = err instanceof Error ? err.message : String(err);
        }
      };
      const runPa = async (): Promise<void> => {
        await server.reset();
        entry.perfAnalyzer = { ...(await perfAnalyzer(server, scenario, plan.paIntervalMs, dir)), server: agentCounts(await server.stats()) };
      };
      // Interleaved: who goes first alternates from round to round.
      for (const step of round % 2 === 1 ? [runFerry, runPa] : [runPa, runFerry]) await step();
      const faults: string[] = [];
      if (entry.ferry && entry.ferry.valid !== 'valid') faults.push(`ferry ${entry.ferry.valid}`);
      const paRate = entry.perfAnalyzer?.reported?.rps;
      if (scenario.rate !== undefined && paRate !== undefined && paRate < scenario.rate * 0.99) faults.push(`perf_analyzer sent ${f(paRate, 1)} of ${scenario.rate} req/s`);
      if (faults.length > 0) entry.notCounted = faults.join('; ');
      byScenario.get(scenario.id)!.push(entry);
      const pa = entry.perfAnalyzer?.reported;
      ctx.log(`OIP v2 ${scenario.label} round ${round}: ferry raw p50 ${f(entry.ferry?.raw.p50)} p99 ${f(entry.ferry?.raw.p99)} ms, perf_analyzer p50 ${f(pa?.p50)} p99 ${f(pa?.p99)} ms${entry.perfAnalyzer?.error ? ` (${entry.perfAnalyzer.error})` : ''}`);
    }
  }

  for (const scenario of OIP_SCENARIOS) {
    const all = byScenario.get(scenario.id)!;
    // Rounds where a tool did not deliver the load (Ferry's self-check failed, or perf_analyzer fell
    // behind its rate) are not the same load: left out of the medians, unless no round is left.
    const counted = all.filter((r) => r.notCounted === undefined);
    const rounds = counted.length > 0 ? counted : all;
    const what = `OIP v2 ${SERVICE_MS} ms, ${scenario.label}`;
    const paError = rounds.every((r) => r.perfAnalyzer?.reported === undefined) ? (rounds.map((r) => r.perfAnalyzer?.error).find((e) => e !== undefined) ?? 'perf_analyzer gave no figure') : undefined;
    const ferryError = rounds.every((r) => r.ferry === undefined) ? (rounds[0]?.ferryError ?? 'no runs') : undefined;
    for (const p of ['p50', 'p99'] as const) {
      const measurement = `${what}: raw ${p}`;
      if (ferryError !== undefined) rows.push(errorRow(SUITE, measurement, `ferry: ${ferryError}`));
      else if (paError !== undefined) rows.push(errorRow(SUITE, measurement, paError));
      else rows.push(agreementRow(measurement, median(rounds.map((r) => r.ferry?.raw[p])), 'perf_analyzer', median(rounds.map((r) => r.perfAnalyzer?.reported?.[p]))));
    }
    const line = (label: string, round: string, x: Figures | undefined, note: string): string[] => [label, round, f(x?.count, 0), f(x?.rps, 1), f(x?.min), f(x?.p50), f(x?.p90), f(x?.p99), note];
    const table: string[][] = [];
    for (const r of all) {
      if (r.notCounted !== undefined) table.push([rounds === all ? '(counted: no round delivered the load)' : '(left out of the medians)', String(r.round), '', '', '', '', '', '', r.notCounted]);
      table.push(line('ferry raw (send → last byte)', String(r.round), r.ferry?.raw, r.ferry ? `${r.ferry.valid}; corrected p50 ${f(r.ferry.corrected.p50)}, p99 ${f(r.ferry.corrected.p99)}; server saw ${r.ferry.server}` : (r.ferryError ?? '')));
      const pa = r.perfAnalyzer;
      table.push(line('perf_analyzer (its report)', String(r.round), pa?.reported, pa?.error ?? `${pa?.windows ?? '?'} windows, last 3 merged; server saw ${pa?.server ?? '?'}`));
      table.push(line('perf_analyzer raw records', String(r.round), pa?.records, 'recomputed here: nearest rank over its --profile-export-file, last 3 windows'));
    }
    const med = (pick: (r: OipRound) => Figures | undefined): Figures => ({
      count: median(rounds.map((r) => pick(r)?.count)),
      rps: median(rounds.map((r) => pick(r)?.rps)),
      min: median(rounds.map((r) => pick(r)?.min)),
      p50: median(rounds.map((r) => pick(r)?.p50)),
      p90: median(rounds.map((r) => pick(r)?.p90)),
      p99: median(rounds.map((r) => pick(r)?.p99)),
    });
    table.push(line('ferry raw', 'median', med((r) => r.ferry?.raw), ''));
    table.push(line('perf_analyzer (its report)', 'median', med((r) => r.perfAnalyzer?.reported), ''));
    details.push({
      title: `${what}: latency in ms, ${rounds.length} of ${all.length} round(s) counted (ferry ${scenario.ferry.mode} loop, 1 s warm-up + 3 × ${windowMs / 1000} s; perf_analyzer -p ${plan.paIntervalMs}: 3 × ${windowMs / 1000} s, no warm-up)`,
      header: ['contender', 'round', 'requests', 'req/s', 'min', 'p50', 'p90', 'p99', 'note'],
      rightAligned: [false, true, true, true, true, true, true, true, false],
      rows: table,
    });
    data[`oip-${scenario.id}`] = all;
  }
}

interface SseRound {
  round: number;
  ferry?: { ttft: Figures; e2e: Figures; itlChunkP50?: number | undefined; tpotP50?: number | undefined; requests: number; server: string };
  aiperf?: AiperfResult & { server: string };
  ferryError?: string;
}

async function ssePart(ctx: SuiteContext, server: BenchServer, plan: (typeof PLANS)['full'], dir: string, rows: Row[], details: DetailTable[], data: Record<string, unknown>): Promise<void> {
  const rounds: SseRound[] = [];
  for (let round = 1; round <= plan.rounds; round++) {
    const entry: SseRound = { round };
    const runFerry = async (): Promise<void> => {
      await server.reset();
      try {
        const r = await runLoad({
          target: server.url,
          protocol: { kind: 'openai-completions', model: LLM, path: SSE_PATH },
          load: { mode: 'closed', concurrency: SSE.concurrency },
          warmupMs: 1000,
          windowMs: plan.sseSeconds * 1000,
          maxWindows: 1,
          stability: false,
        });
        const llm = r.points[0]!.summary.llm!;
        const pick = (h: typeof llm.ttftMs): Figures => ({ count: h.count, min: h.min, p50: h.p50, p90: h.p90, p99: h.p99 });
        entry.ferry = { ttft: pick(llm.ttftMs), e2e: pick(llm.e2eMs), itlChunkP50: llm.itlChunkMs.p50, tpotP50: llm.tpotMs.p50, requests: llm.streams, server: agentCounts(await server.stats()) };
      } catch (err: unknown) {
        entry.ferryError = err instanceof Error ? err.message : String(err);
      }
    };
    const runAiperf = async (): Promise<void> => {
      await server.reset();
      entry.aiperf = { ...(await aiperf(server, plan.sseSeconds, dir)), server: agentCounts(await server.stats()) };
    };
    for (const step of round % 2 === 1 ? [runFerry, runAiperf] : [runAiperf, runFerry]) await step();
    rounds.push(entry);
    ctx.log(`SSE round ${round}: ferry TTFT p50 ${f(entry.ferry?.ttft.p50)} ms, E2E p50 ${f(entry.ferry?.e2e.p50)} ms; aiperf TTFT p50 ${f(entry.aiperf?.ttft?.p50)} ms, E2E p50 ${f(entry.aiperf?.e2e?.p50)} ms${entry.aiperf?.error ? ` (${entry.aiperf.error})` : ''}`);
  }
  const what = `SSE c=${SSE.concurrency} (TTFT ${SSE.ttft}, ITL ${SSE.itl} ms)`;
  const aiError = rounds.every((r) => r.aiperf?.ttft === undefined) ? (rounds.map((r) => r.aiperf?.error).find((e) => e !== undefined) ?? 'aiperf gave no figure') : undefined;
  const ferryError = rounds.every((r) => r.ferry === undefined) ? (rounds[0]?.ferryError ?? 'no runs') : undefined;
  for (const [metric, label] of [
    ['ttft', 'TTFT'],
    ['e2e', 'E2E'],
  ] as const) {
    for (const p of ['p50', 'p99'] as const) {
      const measurement = `${what}: ${label} ${p}`;
      if (ferryError !== undefined) rows.push(errorRow(SUITE, measurement, `ferry: ${ferryError}`));
      else if (aiError !== undefined) rows.push(errorRow(SUITE, measurement, aiError));
      else rows.push(agreementRow(measurement, median(rounds.map((r) => r.ferry?.[metric][p])), 'aiperf', median(rounds.map((r) => r.aiperf?.[metric]?.[p])), 1));
    }
  }
  const truthE2e = SSE.ttft + (SSE.tokens - 1) * SSE.itl;
  const table: string[][] = [['scripted (server side)', '—', '—', f(SSE.ttft), '—', f(truthE2e), '—', f(SSE.itl), f(SSE.itl), 'what the server does; every client adds its trip and wake-up']];
  const line = (label: string, round: string, n: number | undefined, ttft: Figures | undefined, e2e: Figures | undefined, itl: number | undefined, tpot: number | undefined, note: string): string[] => [
    label,
    round,
    f(n, 0),
    f(ttft?.p50),
    f(ttft?.p99),
    f(e2e?.p50),
    f(e2e?.p99),
    f(itl),
    f(tpot),
    note,
  ];
  for (const r of rounds) {
    table.push(line('ferry', String(r.round), r.ferry?.requests, r.ferry?.ttft, r.ferry?.e2e, r.ferry?.itlChunkP50, r.ferry?.tpotP50, r.ferry ? `server saw ${r.ferry.server}` : (r.ferryError ?? '')));
    const a = r.aiperf;
    table.push(line('aiperf (its report)', String(r.round), a?.requests, a?.ttft, a?.e2e, undefined, a?.itl?.p50, a?.error ?? `server saw ${a?.server ?? '?'}`));
    table.push(line('aiperf raw records', String(r.round), a?.recordsE2e?.count, a?.recordsTtft, a?.recordsE2e, undefined, undefined, 'recomputed here: nearest rank over profile_export.jsonl (profiling phase)'));
  }
  details.push({
    title: `${what}: OpenAI completions stream, ${SSE.tokens} tokens, closed loop ${SSE.concurrency}, 1 s warm-up + ${plan.sseSeconds} s, ${plan.rounds} round(s); ms`,
    header: ['contender', 'round', 'requests', 'TTFT p50', 'TTFT p99', 'E2E p50', 'E2E p99', 'chunk ITL p50', 'TPOT p50', 'note'],
    rightAligned: [false, true, true, true, true, true, true, true, true, false],
    rows: table,
  });
  data['sse'] = rounds;
}

export const perfAnalyzerSuite: Suite = {
  name: SUITE,
  title: "load generator vs Triton's perf_analyzer (OIP v2) and AIPerf (OpenAI stream) on the same server: p50/p99 agreement",
  async run(ctx: SuiteContext): Promise<SuiteResult> {
    const plan = ctx.quick ? PLANS.quick : PLANS.full;
    const rows: Row[] = [];
    const details: DetailTable[] = [];
    const notes: string[] = [];
    const paVersion = existsSync(PERF_ANALYZER) ? await version(PERF_ANALYZER, ['--version']) : undefined;
    const aiVersion = existsSync(AIPERF) && existsSync(TOKENIZER) ? await version(AIPERF, ['--version']) : undefined;
    const data: Record<string, unknown> = { plan, serviceMs: SERVICE_MS, sse: SSE, venv: VENV, perfAnalyzer: paVersion, aiperf: aiVersion };
    const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-perf-analyzer-'));
    const server = await startServer();
    try {
      if (paVersion === undefined) {
        rows.push(errorRow(SUITE, `OIP v2 ${SERVICE_MS} ms: p50/p99 vs perf_analyzer`, `${PERF_ANALYZER} is missing or does not start: run "${INSTALL}" (tritonclient 2.51.0's bundled perf_analyzer)`));
      } else {
        await oipPart(ctx, server, plan, dir, rows, details, data);
      }
      if (aiVersion === undefined) {
        rows.push(errorRow(SUITE, `SSE c=${SSE.concurrency}: TTFT/E2E p50/p99 vs aiperf`, `${AIPERF} (or its tokenizer ${TOKENIZER}) is missing or does not start: run "${INSTALL}" (aiperf 0.13.0)`));
      } else {
        await ssePart(ctx, server, plan, dir, rows, details, data);
      }
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
    notes.push(
      `Tools: ${paVersion ?? 'perf_analyzer missing'} (from tritonclient 2.51.0's manylinux wheel, the last whose bundled binary runs on glibc 2.36), aiperf ${aiVersion ?? 'missing'}; both from ${VENV} (scripts/install-bench-tools.sh).`,
      `Server: this suite's own (bench/suites/perf-analyzer.ts), in its own process on loopback: OIP v2 model "${MODEL}" answering ${SERVICE_MS} ms after each request arrives (PreciseTimer, never less), with the /v2/models/${MODEL}/config perf_analyzer reads at start-up (ferry serve has none, so perf_analyzer cannot start against it); an OpenAI completions stream with its first chunk at ${SSE.ttft} ms, then one every ${SSE.itl} ms. Both tools send the same JSON tensor request (perf_analyzer --input-data with the same four values, JSON in and out); "server saw" counts every request of the run, warm-up included.`,
      'What is compared: perf_analyzer times each request on the client from just before it is sent to its last response byte, counts a request in the window its response ended in, and merges its last 3 windows (each 1.2 × -p; its stability gate is opened wide with -s 10000 so that it stops after 3, as Ferry does here), percentile = sorted[round(p/100 × (n−1))]. Ferry\'s raw latency is send → last byte (its corrected latency, from the intended send time, is shown in the notes column: perf_analyzer does not correct for coordinated omission). The "raw records" rows recompute perf_analyzer\'s figures from its per-request export to check they are what it says (nearest rank, as Ferry\'s histograms; perf_analyzer\'s rounding of p/100 × (n−1) can pick the neighbouring sample).',
      'AIPerf: TTFT is first content chunk − request start, request latency (E2E) the last chunk − request start, both client side; its percentiles interpolate; its TPOT ("inter token latency") is (E2E − TTFT) ÷ (tokens − 1), as Ferry\'s. It needs a tokenizer and nothing can be downloaded here, so the install script writes a byte-level one; token counts come from the server\'s usage (--use-server-token-count).',
      'Two cores shared by the server, the generator under test and its anchor: tails (p99) move with whatever else the machine does; the rounds interleave the tools so a burst lands on both alike, and the medians decide.',
    );
    return { rows, details, notes, data };
  },
};

if (import.meta.main && process.argv[2] === 'serve') serve(Number(process.argv[3] ?? SERVICE_MS));
