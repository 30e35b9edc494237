// The options of a load run, their defaults, and their checks (bad values are input errors that
// name the option).
import { availableParallelism } from 'node:os';
import { InputError } from '@ferry/core';
import { DEFAULT_HISTOGRAM_CONFIG, type HistogramConfig } from '../histogram/histogram.js';
import { readJsonl } from '../payload/dataset.js';
import { signaturePayloads, type SignaturePayloadOptions } from '../payload/signature.js';
import type { ProtocolSpec } from '../protocols/types.js';
import type { ArrivalProcess } from '../schedule/arrivals.js';
import type { LlmSlo } from './messages.js';

export type OpenLoad = {
  readonly mode: 'open';
  /** Arrival process (default `constant`). */
  readonly process?: ArrivalProcess;
  /** Requests per second; or `rates` for a sweep. */
  readonly rate?: number;
  readonly rates?: readonly number[];
  /** Gamma shape for `gamma` arrivals (1 = Poisson, < 1 burstier). */
  readonly burstiness?: number;
  readonly seed?: number;
  /** Most connections open at once over all threads (default 1000); arrivals beyond wait for one. */
  readonly connections?: number;
};

export type ClosedLoad = {
  readonly mode: 'closed';
  /** Users, each with one connection, sending back to back; or `concurrencies` for a sweep. */
  readonly concurrency?: number;
  readonly concurrencies?: readonly number[];
  /** Pause between a response and the user's next request (default 0). */
  readonly thinkTimeMs?: number;
};

export type PayloadSource =
  | { readonly kind: 'jsonl'; readonly path: string }
  | { readonly kind: 'items'; readonly items: readonly unknown[] }
  | ({ readonly kind: 'signature' } & SignaturePayloadOptions);

export interface StabilityOptions {
  /** How many successive windows must agree (default 3). */
  readonly windows?: number;
  /** Largest (max − min) / min of throughput, p50 and p99 over those windows (default 0.10). */
  readonly tolerance?: number;
}

export interface SelfCheckOptions {
  /** Send lag (dispatch − intended) p50 above this marks the run invalid (default 1 ms). */
  readonly maxLagP50Ms?: number;
  /** Send lag p99 above this marks the run invalid (default 10 ms). */
  readonly maxLagP99Ms?: number;
  /** Open loop: requests sent short of those scheduled by more than this fraction (default 0.01). */
  readonly maxRateShortfall?: number;
  /** A generator thread busy more than this fraction of the wall time (default 0.9). */
  readonly maxThreadCpu?: number;
}

export interface ProgressEvent {
  readonly type: 'point-start' | 'warmup-done' | 'window' | 'repeat-done' | 'point-done';
  readonly point: number;
  readonly repeat?: number;
  readonly window?: import('./result.js').WindowSummary;
  readonly message: string;
}

export interface LoadOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8080 (a path prefix is kept). */
  readonly target: string;
  readonly protocol: ProtocolSpec;
  /** Default: the protocol's own default payload where it has one (a fixed prompt for OpenAI, none for templates). */
  readonly payloads?: PayloadSource;
  readonly load: OpenLoad | ClosedLoad;
  /** Excluded from results; before the first repeat of each load point (default 2000 ms). */
  readonly warmupMs?: number;
  /** Measurement window length (default 5000 ms). */
  readonly windowMs?: number;
  /** Windows measured at least (default 3) and at most (default 6) per repeat. */
  readonly minWindows?: number;
  readonly maxWindows?: number;
  /** Stop early once successive windows agree; false measures maxWindows windows every time. */
  readonly stability?: StabilityOptions | false;
  /** Repeats per load point (default 1); with 2 or more, 95% confidence intervals over them. */
  readonly repeats?: number;
  /** Worker threads (default: every core); 0 runs the engine on the calling thread. */
  readonly threads?: number;
  /** Per-request timeout (default 30000 ms). */
  readonly timeoutMs?: number;
  readonly histogram?: HistogramConfig;
  readonly slo?: LlmSlo;
  readonly selfCheck?: SelfCheckOptions;
  /** This runner's part of a sharded run: it sends every `count`-th arrival of the global schedule from `index`. */
  readonly shard?: { readonly index: number; readonly count: number };
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: ProgressEvent) => void;
}

export type LoadPoint = { readonly mode: 'open'; readonly process: ArrivalProcess; readonly rate: number; readonly burstiness?: number; readonly seed: number } | { readonly mode: 'closed'; readonly concurrency: number; readonly thinkTimeMs: number };

export interface NormalizedOptions {
  readonly target: { host: string; port: number; secure: boolean; hostHeader: string; basePath: string; url: string };
  readonly protocol: ProtocolSpec;
  readonly payloads: unknown[];
  readonly points: LoadPoint[];
  readonly connections: number;
  readonly warmupMs: number;
  readonly windowMs: number;
  readonly minWindows: number;
  readonly maxWindows: number;
  readonly stability: Required<StabilityOptions> | false;
  readonly repeats: number;
  readonly threads: number;
  readonly timeoutMs: number;
  readonly histogram: HistogramConfig;
  readonly slo: LlmSlo | undefined;
  readonly selfCheck: Required<SelfCheckOptions>;
  readonly shard: { index: number; count: number };
}

function positive(name: string, v: number | undefined, fallback: number, integer = false): number {
  const x = v ?? fallback;
  if (!(x > 0) || !Number.isFinite(x) || (integer && !Number.isInteger(x))) throw new InputError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${String(v)}`, { subject: name });
  return x;
}

function parseTarget(url: string): NormalizedOptions['target'] {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InputError(`target ${JSON.stringify(url)} is not a URL`, { subject: 'target' });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InputError(`target must be http:// or https://, got ${u.protocol}`, { subject: 'target' });
  const secure = u.protocol === 'https:';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return { host, port: u.port ? Number(u.port) : secure ? 443 : 80, secure, hostHeader: u.host, basePath: u.pathname.replace(/\/+$/, ''), url: u.href };
}

function defaultPayloads(protocol: ProtocolSpec): unknown[] {
  if (protocol.kind === 'openai-completions' || protocol.kind === 'openai-chat') return ['Write one sentence about ferries.'];
  if (protocol.kind === 'http') return [{}];
  throw new InputError(`the ${protocol.kind} protocol needs payloads: a JSONL dataset or a model signature`, { subject: 'payloads' });
}

/** The payloads a run cycles through (the same list runLoad would use). */
export function loadPayloads(source: PayloadSource | undefined, protocol: ProtocolSpec): unknown[] {
  if (source === undefined) return defaultPayloads(protocol);
  if (source.kind === 'jsonl') return readJsonl(source.path);
  if (source.kind === 'items') {
    if (source.items.length === 0) throw new InputError('payloads.items is empty', { subject: 'payloads' });
    return [...source.items];
  }
  if (protocol.kind !== 'oip-v2' && protocol.kind !== 'kserve-v1' && protocol.kind !== 'torchserve') {
    throw new InputError(`payloads generated from a model signature need a tensor protocol (oip-v2, kserve-v1, torchserve), not ${protocol.kind}`, { subject: 'payloads' });
  }
  return signaturePayloads(protocol.kind, source);
}

export function normalizeOptions(o: LoadOptions): NormalizedOptions {
  const target = parseTarget(o.target);
  const points: LoadPoint[] = [];
  if (o.load.mode === 'open') {
    const process = o.load.process ?? 'constant';
    if (!['constant', 'poisson', 'gamma'].includes(process)) throw new InputError(`unknown arrival process ${process} (constant, poisson, gamma)`, { subject: 'load.process' });
    const rates = o.load.rates ?? (o.load.rate !== undefined ? [o.load.rate] : []);
    if (rates.length === 0) throw new InputError('an open-loop load needs `rate` or `rates`', { subject: 'load.rate' });
    const burstiness = process === 'gamma' ? positive('load.burstiness', o.load.burstiness, 1) : undefined;
    for (const r of rates) points.push({ mode: 'open', process, rate: positive('load.rate', r, 0), ...(burstiness !== undefined ? { burstiness } : {}), seed: o.load.seed ?? 0x5eed });
  } else if (o.load.mode === 'closed') {
    const cs = o.load.concurrencies ?? (o.load.concurrency !== undefined ? [o.load.concurrency] : []);
    if (cs.length === 0) throw new InputError('a closed-loop load needs `concurrency` or `concurrencies`', { subject: 'load.concurrency' });
    const think = o.load.thinkTimeMs ?? 0;
    if (!(think >= 0)) throw new InputError(`load.thinkTimeMs must be ≥ 0, got ${think}`, { subject: 'load.thinkTimeMs' });
    for (const c of cs) points.push({ mode: 'closed', concurrency: positive('load.concurrency', c, 0, true), thinkTimeMs: think });
  } else {
    throw new InputError(`load.mode must be open or closed`, { subject: 'load.mode' });
  }
  const minWindows = positive('minWindows', o.minWindows, Math.min(3, o.maxWindows ?? 3), true);
  const maxWindows = positive('maxWindows', o.maxWindows, Math.max(6, minWindows), true);
  if (maxWindows < minWindows) throw new InputError(`maxWindows (${maxWindows}) is below minWindows (${minWindows})`, { subject: 'maxWindows' });
  const threads = o.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 0) throw new InputError(`threads must be an integer ≥ 0, got ${threads}`, { subject: 'threads' });
  const warmupMs = o.warmupMs ?? 2000;
  if (!(warmupMs >= 0)) throw new InputError(`warmupMs must be ≥ 0, got ${warmupMs}`, { subject: 'warmupMs' });
  const shard = o.shard ?? { index: 0, count: 1 };
  if (!Number.isInteger(shard.count) || shard.count < 1 || !Number.isInteger(shard.index) || shard.index < 0 || shard.index >= shard.count) {
    throw new InputError(`shard must be {index, count} with 0 ≤ index < count, got ${JSON.stringify(shard)}`, { subject: 'shard' });
  }
  const stability =
    o.stability === false
      ? false
      : { windows: positive('stability.windows', o.stability?.windows, 3, true), tolerance: positive('stability.tolerance', o.stability?.tolerance, 0.1) };
  return {
    target,
    protocol: o.protocol,
    payloads: loadPayloads(o.payloads, o.protocol),
    points,
    connections: o.load.mode === 'open' ? positive('load.connections', o.load.connections, 1000, true) : 0,
    warmupMs,
    windowMs: positive('windowMs', o.windowMs, 5000),
    minWindows,
    maxWindows,
    stability,
    repeats: positive('repeats', o.repeats, 1, true),
    threads,
    timeoutMs: positive('timeoutMs', o.timeoutMs, 30_000),
    histogram: o.histogram ?? DEFAULT_HISTOGRAM_CONFIG,
    slo: o.slo,
    selfCheck: {
      maxLagP50Ms: o.selfCheck?.maxLagP50Ms ?? 1,
      maxLagP99Ms: o.selfCheck?.maxLagP99Ms ?? 10,
      maxRateShortfall: o.selfCheck?.maxRateShortfall ?? 0.01,
      maxThreadCpu: o.selfCheck?.maxThreadCpu ?? 0.9,
    },
    shard,
  };
}
