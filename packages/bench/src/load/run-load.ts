// runLoad: the coordinator. It starts one engine per worker thread, walks the load points (a sweep)
// and their repeats, merges every thread's windows exactly, stops a repeat once its windows are
// stable (or at the window limit), and judges each run with the generator's self-check.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { CancelledError, InfrastructureError } from '@ferry/core';
import { monotonicMs } from '../clock.js';
import { LoadEngine } from './engine.js';
import { isStable, tInterval } from './measure.js';
import type { EngineConfig, FromEngine, RunPlan, ThreadLoad, ThreadRunSummary, ToEngine } from './messages.js';
import { normalizeOptions, type LoadOptions, type LoadPoint, type NormalizedOptions } from './options.js';
import { serializeHistograms, summarize, type LoadPointResult, type LoadResult, type RepeatResult, type ThreadUsage, type WindowSummary } from './result.js';
import { selfCheck } from './self-check.js';
import { WindowAggregate, type WindowRecord } from './window.js';

/** How far ahead of "now" a run is scheduled, so every thread has its plan before time 0. */
const START_LEAD_MS = 100;

/** A thread running an engine, or the engine on the calling thread (threads: 0). */
interface EngineHost {
  post(m: ToEngine): void;
  terminate(): Promise<void>;
}

/**
 * The compiled worker entry: workers run JavaScript, so from the TypeScript sources use the built
 * copy; inside an action bundle (one index.js) the worker is bundled beside it as load-worker/.
 */
function workerEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const candidates = here.endsWith('.ts')
    ? [here.replace(/[\\/]src[\\/]load[\\/]run-load\.ts$/, '/dist/load/worker.js')]
    : here.endsWith('run-load.js')
      ? [here.replace(/run-load\.js$/, 'worker.js')]
      : [join(dirname(here), 'load-worker', 'index.js')];
  const path = candidates.find((p) => existsSync(p));
  if (!path) throw new InfrastructureError(`the load generator's worker script ${candidates[0]} is missing: build the packages (bash scripts/build.sh) or run with threads: 0`);
  return path;
}

function startHosts(o: NormalizedOptions, onMessage: (thread: number, m: FromEngine) => void): EngineHost[] {
  const threads = Math.max(1, o.threads);
  const hosts: EngineHost[] = [];
  for (let t = 0; t < threads; t++) {
    const config: EngineConfig = {
      target: o.target,
      protocol: o.protocol,
      payloads: o.payloads,
      timeoutMs: o.timeoutMs,
      histogram: o.histogram,
      slo: o.slo,
      // Shard i owns arrivals k ≡ i (mod shards); its threads split those, so shards may run different thread counts.
      share: { index: t * o.shard.count + o.shard.index, count: o.shard.count * threads },
      maxConnections: Math.max(1, Math.floor(o.connections / threads) + (t < o.connections % threads ? 1 : 0)),
    };
    if (o.threads === 0) {
      const engine = new LoadEngine(config, (record) => onMessage(t, { type: 'window', record }));
      queueMicrotask(() => onMessage(t, { type: 'ready' }));
      hosts.push({
        post: (m) => {
          if (m.type === 'run') {
            engine.start(m.plan).then(
              (summary) => onMessage(t, { type: 'done', summary }),
              (err: unknown) => onMessage(t, { type: 'failed', message: String(err) }),
            );
          } else if (m.type === 'stop') engine.stop(m.run, m.lastWindow);
        },
        terminate: () => engine.close(),
      });
      continue;
    }
    const worker = new Worker(workerEntry(), { workerData: config });
    worker.on('message', (m: FromEngine) => onMessage(t, m));
    worker.on('error', (err) => onMessage(t, { type: 'failed', message: err.message }));
    hosts.push({
      post: (m) => worker.postMessage(m),
      terminate: async () => {
        worker.postMessage({ type: 'close' } satisfies ToEngine);
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        const timer = setTimeout(() => void worker.terminate(), 2000);
        await exited;
        clearTimeout(timer);
      },
    });
  }
  return hosts;
}

function threadLoad(point: LoadPoint, thread: number, threads: number): ThreadLoad {
  if (point.mode === 'open') {
    return { mode: 'open', arrival: { process: point.process, rate: point.rate, seed: point.seed, ...(point.burstiness !== undefined ? { burstiness: point.burstiness } : {}) } };
  }
  const users = Math.floor(point.concurrency / threads) + (thread < point.concurrency % threads ? 1 : 0);
  return { mode: 'closed', users, thinkTimeMs: point.thinkTimeMs };
}

function describe(point: LoadPoint): string {
  return point.mode === 'open' ? `${point.process} ${point.rate} req/s${point.burstiness !== undefined ? ` (burstiness ${point.burstiness})` : ''}` : `concurrency ${point.concurrency}`;
}

/**
 * Runs the load described by `options` and returns its measured result. Throws InputError for bad
 * options, InfrastructureError when the generator cannot run, CancelledError on `signal`.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const o = normalizeOptions(options);
  const startedAt = new Date();
  const t0 = monotonicMs();
  const threads = Math.max(1, o.threads);

  // Messages are routed to whatever the coordinator is waiting for right now.
  let onWindow: (thread: number, r: WindowRecord & { run: number }) => void = () => {};
  let onDone: (s: ThreadRunSummary) => void = () => {};
  let failure: ((message: string) => void) | undefined;
  let readyCount = 0;
  let readyResolve: () => void = () => {};
  const ready = new Promise<void>((resolve) => (readyResolve = resolve));
  let lastFailure: string | undefined;
  const hosts = startHosts(o, (thread, m) => {
    if (m.type === 'ready' && ++readyCount === threads) readyResolve();
    else if (m.type === 'window') onWindow(thread, m.record);
    else if (m.type === 'done') onDone(m.summary);
    else if (m.type === 'failed') {
      lastFailure = m.message;
      failure?.(m.message);
      readyResolve();
    }
  });

  const abortError = (): CancelledError => new CancelledError('the load run was cancelled');
  try {
    await ready;
    if (lastFailure !== undefined) throw new InfrastructureError(`a load generator thread failed to start: ${lastFailure}`);
    let run = 0;
    const points: LoadPointResult[] = [];
    for (let p = 0; p < o.points.length; p++) {
      const point = o.points[p]!;
      options.onProgress?.({ type: 'point-start', point: p, message: `load point ${p + 1}/${o.points.length}: ${describe(point)}` });
      const repeats: RepeatResult[] = [];
      const totals: WindowAggregate[] = [];
      for (let r = 0; r < o.repeats; r++) {
        if (options.signal?.aborted) throw abortError();
        const warmupMs = r === 0 ? o.warmupMs : 0;
        const startAt = monotonicMs() + START_LEAD_MS;
        const plan = (thread: number): RunPlan => ({
          run,
          startAt,
          warmupMs,
          windowMs: o.windowMs,
          maxWindows: o.maxWindows,
          load: threadLoad(point, thread, threads),
        });
        const { result, total } = await measure(run, plan, startAt + warmupMs, warmupMs, point, p, r);
        repeats.push(result);
        totals.push(total);
        run++;
      }
      points.push(pointResult(point, repeats, totals, o));
      options.onProgress?.({ type: 'point-done', point: p, message: `load point ${p + 1} done: ${describe(point)}` });
    }
    return {
      schema: 'ferry-load/1',
      target: o.target.url,
      protocol: o.protocol.kind,
      startedAt: startedAt.toISOString(),
      durationMs: monotonicMs() - t0,
      generator: { threads: o.threads, node: process.version, shard: o.shard },
      points,
      valid: points.every((pt) => pt.validity.valid),
    };
  } finally {
    await Promise.all(hosts.map((h) => h.terminate()));
  }

  /** One repeat: every thread runs the plan; windows are merged as they complete. */
  async function measure(runId: number, planFor: (thread: number) => RunPlan, measureStart: number, warmupMs: number, point: LoadPoint, p: number, r: number): Promise<{ result: RepeatResult; total: WindowAggregate }> {
    const windowAggs = new Map<number, WindowAggregate>();
    const pending = new Map<number, { agg: WindowAggregate; threads: number }>();
    const windows: WindowSummary[] = [];
    let warmup: WindowAggregate | undefined;
    const summaries: ThreadRunSummary[] = [];
    let stopReason: RepeatResult['stopReason'] = 'max-windows';
    let stoppedAt: number | undefined;
    let settle: () => void = () => {};
    let fail: (err: Error) => void = () => {};
    const finished = new Promise<void>((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    const onAbort = (): void => {
      stopReason = 'aborted';
      const last = Math.max(0, windows.length - 1);
      stoppedAt = last;
      for (const h of hosts) h.post({ type: 'stop', run: runId, lastWindow: last });
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    onWindow = (_thread, rec) => {
      if (rec.run !== runId) return;
      let entry = pending.get(rec.index);
      if (!entry) {
        entry = { agg: new WindowAggregate(o.histogram), threads: 0 };
        pending.set(rec.index, entry);
      }
      entry.agg.addRecord(rec);
      entry.threads++;
      if (entry.threads < threads) return;
      pending.delete(rec.index);
      if (rec.index < 0) {
        warmup = entry.agg;
        options.onProgress?.({ type: 'warmup-done', point: p, repeat: r, message: `warm-up done: ${entry.agg.ok} ok, ${entry.agg.sent - entry.agg.ok} not${entry.agg.errorSamples.length > 0 ? ` (${entry.agg.errorSamples[0]})` : ''}` });
        return;
      }
      if (stoppedAt !== undefined && rec.index > stoppedAt) return;
      const summary: WindowSummary = {
        index: rec.index,
        startMs: rec.index * o.windowMs,
        durationMs: o.windowMs,
        summary: summarize(entry.agg, o.windowMs),
        histograms: { corrected: entry.agg.corrected.toJSON(), raw: entry.agg.raw.toJSON() },
      };
      windows[rec.index] = summary;
      windowAggs.set(rec.index, entry.agg);
      options.onProgress?.({ type: 'window', point: p, repeat: r, window: summary, message: windowLine(summary) });
      const contiguous = windows.filter((w) => w !== undefined);
      if (
        stoppedAt === undefined &&
        o.stability !== false &&
        contiguous.length >= o.minWindows &&
        contiguous.length < o.maxWindows &&
        isStable(contiguous, o.stability.windows, o.stability.tolerance)
      ) {
        stopReason = 'stable';
        stoppedAt = rec.index;
        for (const h of hosts) h.post({ type: 'stop', run: runId, lastWindow: rec.index });
      }
    };
    onDone = (s) => {
      if (s.run !== runId) return;
      summaries.push(s);
      if (summaries.length === threads) settle();
    };
    failure = (message) => fail(new InfrastructureError(`a load generator thread failed: ${message}`));
    for (let t = 0; t < hosts.length; t++) hosts[t]!.post({ type: 'run', plan: planFor(t) });
    try {
      await finished;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      failure = undefined;
    }
    if (options.signal?.aborted) throw abortError();

    const lastWindow = Math.min(...summaries.map((s) => s.lastWindow));
    const kept = windows.filter((w) => w !== undefined && w.index <= lastWindow);
    const total = new WindowAggregate(o.histogram);
    for (const w of kept) total.addAggregate(windowAggs.get(w.index)!);
    const usage: ThreadUsage[] = summaries
      .sort((a, b) => a.thread - b.thread)
      .map((s) => ({
        thread: s.thread,
        cpuFraction: s.cpuMs !== undefined && s.wallMs > 0 ? s.cpuMs / s.wallMs : undefined,
        eventLoopUtilization: s.eventLoopUtilization,
        peakConnections: s.peakConnections,
        connectionsOpened: s.connectionsOpened,
      }));
    const summary = summarize(total, kept.length * o.windowMs);
    const result: RepeatResult = {
      repeat: r,
      measureStartMonotonicMs: measureStart,
      stopReason,
      warmup: warmup ? { durationMs: warmupMs, ok: warmup.ok, failed: warmup.sent - warmup.ok } : undefined,
      windows: kept,
      summary,
      threads: usage,
      validity: selfCheck({ load: point, summary, threads: usage, limits: o.selfCheck, connections: o.connections }),
    };
    options.onProgress?.({ type: 'repeat-done', point: p, repeat: r, message: `repeat ${r + 1} done (${stopReason}): ${summary.throughput.toFixed(1)} ok/s${result.validity.valid ? '' : `, INVALID: ${result.validity.reasons.map((x) => x.code).join(', ')}`}` });
    return { result, total };
  }
}

function windowLine(w: WindowSummary): string {
  const s = w.summary;
  const c = s.latencyMs.corrected;
  return `window ${w.index + 1}: ${s.throughput.toFixed(1)} ok/s, p50 ${c.p50?.toFixed(2) ?? '—'} ms, p99 ${c.p99?.toFixed(2) ?? '—'} ms, errors ${s.requests.failed}`;
}

function pointResult(point: LoadPoint, repeats: RepeatResult[], totals: WindowAggregate[], o: NormalizedOptions): LoadPointResult {
  const total = new WindowAggregate(o.histogram);
  for (const t of totals) total.addAggregate(t);
  const durationMs = repeats.reduce((a, r) => a + r.summary.durationMs, 0);
  const summary = summarize(total, durationMs);
  const threads = repeats.flatMap((r) => r.threads);
  const validity = selfCheck({ load: point, summary, threads, limits: o.selfCheck, connections: o.connections });
  const ci = (f: (r: RepeatResult) => number | undefined) => tInterval(repeats.map(f).filter((v): v is number => v !== undefined));
  const throughput = ci((r) => r.summary.throughput);
  const meanMs = ci((r) => r.summary.latencyMs.corrected.mean);
  const p50Ms = ci((r) => r.summary.latencyMs.corrected.p50);
  const p99Ms = ci((r) => r.summary.latencyMs.corrected.p99);
  return {
    load: point,
    repeats,
    summary,
    ...(throughput && meanMs && p50Ms && p99Ms ? { confidence: { level: 0.95, throughput, meanMs, p50Ms, p99Ms } } : {}),
    validity: repeats.some((r) => !r.validity.valid) && validity.valid ? { ...validity, valid: false, reasons: repeats.flatMap((r) => r.validity.reasons) } : validity,
    histograms: serializeHistograms(total),
  };
}
