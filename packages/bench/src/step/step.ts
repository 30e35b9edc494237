// The benchmark-on-gpu-runner step: check the GPU, start (or adopt) the server and time its start,
// send one real request, run the load while sampling the GPU, always stop what was started, then
// judge: validity first (an invalid run is never a regression), SLO gates, the baseline comparison.
import { benchmarkDefinition, implementStep, InputError } from '@ferry/core';
import type { GateResult, OutputValues, ReportSection, StepContext, StepResult } from '@ferry/core';
import { compareWithBaseline, type BaselineComparison } from '../compare/index.js';
import { checkGpus, startDcgmScraper, startNvidiaSmiSampler, type GpuReadiness, type GpuSampler, type GpuTelemetry } from '../gpu/index.js';
import { monotonicMs } from '../clock.js';
import { mergeLoadResults } from '../load/merge.js';
import { loadPayloads, type LoadOptions } from '../load/options.js';
import type { LoadPointResult, LoadResult } from '../load/result.js';
import { runLoad } from '../load/run-load.js';
import { createProtocol } from '../protocols/index.js';
import { firstInference, ServerStartError, startServer, type RunningServer } from '../server/lifecycle.js';
import { baselineSection } from './baseline-report.js';
import { fmtMs, num, pct, pointLabel } from './format.js';
import { evaluateGates } from './gates.js';
import { gpuSection } from './gpu-report.js';
import { payloadSource, planBenchmark, type BenchInputs, type BenchPlan } from './plan.js';
import { costBlock, costFigures, llmSection, loadSection, serverLogBlock, validitySection, type CostFigures } from './report.js';
import { BENCHMARK_SCHEMA, readBenchmarkFile, writeBenchmarkFile, type BenchmarkFile, type ServerFacts } from './results-file.js';

type Outputs = OutputValues<(typeof benchmarkDefinition)['outputs']>;
type BenchResult = StepResult<Outputs>;

interface Measured {
  readonly load: LoadResult;
  readonly server: ServerFacts | undefined;
  readonly gpu: GpuReadiness | undefined;
  readonly telemetry: GpuTelemetry | undefined;
  readonly logTail: readonly string[];
  /** How a started server ended during the run, when it did. */
  readonly died?: string;
}

function emptyOutputs(): Outputs {
  return {
    'p50-ms': '',
    'p95-ms': '',
    'p99-ms': '',
    'throughput-rps': '',
    'error-rate': '',
    'ttft-p95-ms': '',
    'time-to-ready-ms': '',
    'time-to-first-inference-ms': '',
    valid: '',
    'baseline-outcome': '',
    'cost-per-1k-requests': '',
    'results-path': '',
    verdict: '',
    'report-path': '',
  };
}

/** The started server never came up (or never answered a request): the candidate cannot serve. */
function startFailure(err: ServerStartError, plan: BenchPlan, gpu: GpuReadiness | undefined, durationMs: number): BenchResult {
  const sections: ReportSection[] = [
    { heading: 'Server did not start', blocks: [{ kind: 'paragraph', text: err.message }, serverLogBlock(err.logTail)] },
  ];
  if (gpu) sections.push(gpuSection(gpu, undefined, undefined));
  return {
    step: 'benchmark-on-gpu-runner',
    verdict: 'fail',
    headline: err.message,
    outputs: { ...emptyOutputs(), valid: 'false', verdict: 'fail' },
    report: sections,
    findings: [{ severity: 'high', rule: 'benchmark/server-start', message: err.message }],
    gates: plan.gates.maxTimeToReadyMs !== undefined ? [{ name: 'time to ready', passed: false, value: 'never ready', threshold: `≤ ${fmtMs(plan.gates.maxTimeToReadyMs)}` }] : [],
    metrics: {},
    durationMs,
  };
}

async function gpuReadiness(ctx: StepContext, inputs: BenchInputs): Promise<GpuReadiness> {
  const { logger, env, signal } = ctx;
  const gpu = await logger.group('GPU readiness', () => checkGpus({ env: env as NodeJS.ProcessEnv, signal }));
  if (gpu.available) {
    logger.info(`driver ${gpu.driverVersion ?? '?'}, CUDA ${gpu.cudaVersion ?? '?'}`);
    for (const g of gpu.gpus) logger.info(`GPU ${g.index}: ${g.name}${g.memoryTotalMiB !== undefined ? `, ${g.memoryTotalMiB} MiB` : ''}`);
  } else if (inputs['require-gpu']) {
    throw new InputError(`require-gpu is set, but this runner has no usable GPU: ${gpu.reason ?? 'none found'}. Run the job on a GPU runner (runs-on labels or GitLab tags), or unset require-gpu.`, {
      subject: 'require-gpu',
    });
  } else {
    logger.info(`no usable GPU (${gpu.reason ?? 'none found'}): benchmarking without GPU figures`);
  }
  return gpu;
}

function startSampler(ctx: StepContext, inputs: BenchInputs, gpu: GpuReadiness): GpuSampler | undefined {
  const intervalMs = inputs['gpu-sample-interval'];
  if (inputs['dcgm-url']) return startDcgmScraper({ url: inputs['dcgm-url'], intervalMs, signal: ctx.signal });
  if (gpu.available) return startNvidiaSmiSampler({ intervalMs, env: ctx.env as NodeJS.ProcessEnv, signal: ctx.signal });
  return undefined;
}

async function measure(ctx: StepContext, inputs: BenchInputs, plan: BenchPlan): Promise<Measured | BenchResult> {
  const { logger, signal } = ctx;
  const t0 = performance.now();
  const gpu = await gpuReadiness(ctx, inputs);
  const spec = plan.server!;
  let server: RunningServer;
  try {
    server = await logger.group('Server', () =>
      startServer(spec.kind === 'container' ? { ...spec, gpus: gpu.available } : spec, {
        healthPath: plan.healthPath,
        readyTimeoutMs: inputs['ready-timeout'],
        logLines: inputs['log-lines'],
        logger,
        signal,
        env: ctx.env,
      }),
    );
  } catch (err) {
    if (err instanceof ServerStartError) return startFailure(err, plan, gpu, performance.now() - t0);
    throw err;
  }
  let sampler: GpuSampler | undefined;
  try {
    if (server.started) logger.info(`${server.description}: ready after ${fmtMs(server.timeToReadyMs)}`);
    const source = await payloadSource(plan, server.url, signal);
    const payloads = loadPayloads(source, plan.protocol);
    const adapter = createProtocol(plan.protocol);
    const first = adapter.build(payloads[0], 0);
    try {
      await firstInference(server, { ...first, path: first.path }, { timeoutMs: server.started ? Math.max(30_000, inputs['ready-timeout'] - (server.timeToReadyMs ?? 0)) : 30_000, signal });
    } catch (err) {
      if (err instanceof ServerStartError) return startFailure(err, plan, gpu, performance.now() - t0);
      throw err;
    }
    if (server.timeToFirstInferenceMs !== undefined) logger.info(`first inference after ${fmtMs(server.timeToFirstInferenceMs)}`);

    sampler = gpu.available || inputs['dcgm-url'] ? startSampler(ctx, inputs, gpu) : undefined;
    const windowMs = inputs.window;
    const maxWindows = Math.max(1, Math.floor(inputs.duration / windowMs));
    const options: LoadOptions = {
      target: server.url,
      protocol: plan.protocol,
      payloads: { kind: 'items', items: payloads },
      load: plan.load,
      warmupMs: inputs.warmup,
      windowMs,
      minWindows: Math.min(3, maxWindows),
      maxWindows,
      // Shards must measure the same windows to merge them; stability is judged on the merge.
      stability: plan.shard.count > 1 ? false : {},
      repeats: inputs.repeats,
      ...(inputs.threads > 0 ? { threads: inputs.threads } : {}),
      timeoutMs: inputs.timeout,
      ...(plan.slo ? { slo: plan.slo } : {}),
      shard: plan.shard,
      selfCheck: { maxLagP99Ms: inputs['max-send-lag-ms'], maxLagP50Ms: Math.max(1, inputs['max-send-lag-ms'] / 10) },
      signal,
      onProgress: (e) => logger.info(e.message),
    };
    const load = await logger.group('Load', () => runLoad(options));
    const telemetry = await stopSampler(sampler, load, monotonicMs());
    sampler = undefined;
    const died = await server.exited();
    const logTail = server.started ? await server.logTail() : [];
    return {
      ...(died ? { died } : {}),
      load,
      server: { description: server.description, started: server.started, timeToReadyMs: server.timeToReadyMs, timeToFirstInferenceMs: server.timeToFirstInferenceMs },
      gpu,
      telemetry,
      logTail,
    };
  } finally {
    if (sampler) await sampler.stop().catch(() => undefined);
    if (server.started) await logger.group('Stop server', () => server.stop());
  }
}

/** Stops the sampler and keeps the GPU figures of the measurement windows only (warm-up left out). */
async function stopSampler(sampler: GpuSampler | undefined, load: LoadResult, endMs: number): Promise<GpuTelemetry | undefined> {
  if (!sampler) return undefined;
  const fromMs = Math.min(...load.points.flatMap((pt) => pt.repeats.map((r) => r.measureStartMonotonicMs)));
  return sampler.stop({ fromMs, toMs: endMs });
}

function merged(ctx: StepContext, plan: BenchPlan): Measured {
  const files = plan.merge!.map((path) => readBenchmarkFile(path, 'merge'));
  ctx.logger.info(`merging ${files.length} shard result(s): ${plan.merge!.join(', ')}`);
  const load = mergeLoadResults(files.map((f) => f.load));
  return { load, server: files[0]!.server, gpu: undefined, telemetry: undefined, logTail: [] };
}

/** The point outputs and gates describe: the last (highest) load of a sweep. */
function headPoint(load: LoadResult): LoadPointResult {
  return load.points[load.points.length - 1]!;
}

function headlineOf(load: LoadResult, failedGates: readonly GateResult[], comparison: BaselineComparison | undefined, serverFailed: string | undefined): string {
  const pt = headPoint(load);
  const s = pt.summary;
  const figures = `p95 ${fmtMs(s.latencyMs.corrected.p95)}, p99 ${fmtMs(s.latencyMs.corrected.p99)}, ${s.throughput.toFixed(1)} req/s, ${pct(s.errorRate)} errors at ${pointLabel(pt.load)}`;
  if (!load.valid) {
    const first = load.points.flatMap((p) => p.validity.reasons)[0];
    if (first?.code === 'stalled') return `inconclusive: ${first.message}`;
    return `invalid run, not a server regression: ${first?.message ?? 'the generator fell behind'}`;
  }
  if (serverFailed) return `${serverFailed}; ${figures}`;
  if (failedGates.length > 0) return `${failedGates.length} gate(s) failed: ${failedGates.map((g) => `${g.name} ${g.value} (${g.threshold})`).join('; ')}`;
  if (comparison && comparison.counts.regression > 0) return comparison.headline;
  if (comparison) return `${figures}; baseline: ${comparison.headline}`;
  return figures;
}

function metricsOf(load: LoadResult, server: ServerFacts | undefined, telemetry: GpuTelemetry | undefined, cost: CostFigures | undefined): Record<string, number> {
  const pt = headPoint(load);
  const s = pt.summary;
  const c = s.latencyMs.corrected;
  const m: Record<string, number> = {};
  const put = (k: string, v: number | undefined): void => {
    if (v !== undefined && Number.isFinite(v)) m[k] = v;
  };
  put('latency_p50_ms', c.p50);
  put('latency_p90_ms', c.p90);
  put('latency_p95_ms', c.p95);
  put('latency_p99_ms', c.p99);
  put('latency_max_ms', c.max);
  put('raw_latency_p99_ms', s.latencyMs.raw.p99);
  put('throughput_rps', s.throughput);
  put('error_rate', s.errorRate);
  put('requests_total', s.requests.sent);
  put('run_valid', load.valid ? 1 : 0);
  put('time_to_ready_ms', server?.timeToReadyMs);
  put('time_to_first_inference_ms', server?.timeToFirstInferenceMs);
  if (s.llm) {
    put('ttft_p50_ms', s.llm.ttftMs.p50);
    put('ttft_p95_ms', s.llm.ttftMs.p95);
    put('tpot_p50_ms', s.llm.tpotMs.p50);
    put('itl_p50_ms', s.llm.itlChunkMs.p50);
    put('output_tokens_per_second', s.llm.outputTokensPerSecond);
    put('goodput_rps', s.llm.goodput);
  }
  const g = telemetry?.gpus[0];
  if (g) {
    put('gpu_utilization_mean_pct', g.utilizationPct?.mean);
    put('gpu_sm_active_mean', g.smActive?.mean);
    put('gpu_memory_used_peak_mib', g.memoryUsedMiB?.peak);
    put('gpu_power_mean_w', g.powerW?.mean);
  }
  put('cost_per_1k_requests', cost?.perThousandRequests);
  put('cost_per_1m_tokens', cost?.perMillionTokens);
  return m;
}

export const benchmarkStep = implementStep(benchmarkDefinition, async (ctx, inputs) => {
  const t0 = performance.now();
  const plan = planBenchmark(ctx, inputs);
  const outcome = plan.merge ? merged(ctx, plan) : await measure(ctx, inputs, plan);
  if ('step' in outcome) return outcome;
  const { load, server, gpu, telemetry, logTail, died } = outcome;

  // The results file lands first: it is the next run's baseline, or this shard's share of a merge.
  const file: BenchmarkFile = {
    schema: BENCHMARK_SCHEMA,
    createdAt: new Date().toISOString(),
    model: { name: inputs['model-name'], ...(inputs['model-version'] ? { version: inputs['model-version'] } : {}) },
    ...(server ? { server } : {}),
    ...(gpu || telemetry ? { gpu: { ...(gpu ? { readiness: gpu } : {}), ...(telemetry ? { telemetry } : {}) } } : {}),
    load,
  };
  writeBenchmarkFile(plan.resultsPath, file);
  ctx.logger.info(`results written to ${plan.resultsPath}`);

  let comparison: BaselineComparison | undefined;
  if (plan.baselinePath) {
    const baseline = readBenchmarkFile(plan.baselinePath, 'baseline');
    comparison = compareWithBaseline(load, baseline.load, { alpha: inputs['baseline-alpha'], latencyFloor: inputs['regression-threshold'], throughputFloor: inputs['regression-threshold'] });
    ctx.logger.info(`baseline ${plan.baselinePath}: ${comparison.outcome}: ${comparison.headline}`);
  }
  const gates = evaluateGates(plan.gates, load.points, server?.timeToReadyMs);
  const failedGates = gates.filter((g) => !g.passed);
  const cost = costFigures(inputs['gpu-hourly-price'], load.points);

  // A started server that died part-way fails the run, whatever the gates say; its log explains why.
  const pt = headPoint(load);
  // So does a load point where every request sent failed: there is no latency to judge, and no
  // gate may pass on an empty histogram.
  const silent = load.points.find((p) => p.summary.requests.sent > 0 && p.summary.requests.ok === 0);
  const serverFailed = died
    ? `the server ${died} during the run`
    : silent
      ? `no request succeeded at ${pointLabel(silent.load)}: all ${silent.summary.requests.sent} failed${silent.summary.errorSamples[0] ? ` (${silent.summary.errorSamples[0]})` : ''}`
      : undefined;

  const verdict: StepResult['verdict'] = !load.valid ? 'inconclusive' : failedGates.length > 0 || (comparison?.counts.regression ?? 0) > 0 || serverFailed ? 'fail' : 'pass';
  const report: ReportSection[] = [];
  const facts: [string, string][] = [
    ['protocol', `${load.protocol} → ${load.target}`],
    ['load generator', `${load.generator.threads || 'one per core'} thread(s), Node ${load.generator.node}${load.generator.shard.count > 1 ? `, ${load.generator.shard.count} shards merged` : ''}`],
  ];
  if (server) {
    facts.unshift(['server', server.description]);
    if (server.timeToReadyMs !== undefined) facts.push(['time to ready', `${fmtMs(server.timeToReadyMs)} (start → first 2xx health check)`]);
    if (server.timeToFirstInferenceMs !== undefined) facts.push(['time to first inference', `${fmtMs(server.timeToFirstInferenceMs)} (start → first successful request)`]);
  }
  report.push({ heading: 'Run', blocks: [{ kind: 'keyvalue', entries: facts }] });
  const validity = validitySection(load);
  if (validity && !load.valid) report.push(validity);
  report.push(loadSection(load));
  const llm = llmSection(load.points);
  if (llm) report.push(llm);
  if (gpu || telemetry || cost) report.push(gpuSection(gpu, telemetry, cost ? costBlock(cost) : undefined));
  if (comparison) report.push(baselineSection(comparison));
  if (validity && load.valid) report.push(validity);
  if (verdict !== 'pass' && logTail.length > 0) report.push({ heading: 'Server log (last lines)', blocks: [serverLogBlock(logTail)] });

  const s = pt.summary;
  const outputs: Outputs = {
    'p50-ms': num(s.latencyMs.corrected.p50, 4),
    'p95-ms': num(s.latencyMs.corrected.p95, 4),
    'p99-ms': num(s.latencyMs.corrected.p99, 4),
    'throughput-rps': num(s.throughput, 4),
    'error-rate': String(Number(s.errorRate.toPrecision(4))),
    'ttft-p95-ms': num(s.llm?.ttftMs.p95, 4),
    'time-to-ready-ms': num(server?.timeToReadyMs, 4),
    'time-to-first-inference-ms': num(server?.timeToFirstInferenceMs, 4),
    valid: String(load.valid),
    'baseline-outcome': comparison?.outcome ?? '',
    'cost-per-1k-requests': cost?.perThousandRequests !== undefined ? String(Number(cost.perThousandRequests.toPrecision(4))) : '',
    'results-path': plan.resultsPath,
    verdict,
    'report-path': '',
  };
  const c = s.latencyMs.corrected;
  const result: BenchResult = {
    step: 'benchmark-on-gpu-runner',
    verdict,
    headline: headlineOf(load, failedGates, comparison, serverFailed),
    outputs,
    report,
    findings: [],
    gates,
    metrics: metricsOf(load, server, telemetry, cost),
    loadPerformance:
      c.count > 0
        ? { p50Ms: c.p50!, p90Ms: c.p90!, p95Ms: c.p95!, maxMs: c.max!, avgMs: c.mean!, minMs: c.min!, rps: s.achievedRate, requests: s.requests.ok + s.requests.failed, failures: s.requests.failed }
        : undefined,
    durationMs: performance.now() - t0,
  };
  return result;
});

