// Ferry's own paired load: the same payload to stable and to canary, pair after pair on an open-loop
// schedule, so the judge gets latency, errors and model outputs request by request with no user
// traffic and no metrics stack. Within a pair the two requests go one after the other, in an order
// drawn per pair, so neither version always runs first (on a warm cache, or beside the other's work).
//
// Outcomes: an HTTP status is counted as it came. A failure with no HTTP answer is counted as a
// gateway in front of the version would report it, so that the judge's "5xx" errors include it:
// 504 for no answer within timeoutMs, 502 for no connection, a broken connection, or a 2xx answer
// that carries no usable model output. Latency samples are of successful requests only (2xx with a
// model output): a refused connection answers in microseconds and a timeout at the timeout, so
// either would make a failing version look faster, or its latency look made up; failures are
// judged by the error rate. Paired outputs are the pairs where both versions succeeded.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { performance } from 'node:perf_hooks';
import { CancelledError, InputError } from '@ferry/core';
import { createProtocol, readJsonl, SeededRandom, signaturePayloads, type HttpRequestSpec, type ProtocolAdapter } from '@ferry/bench';
import type { CountData, JudgeWindow, PairedOutput, VersionData } from '../judge/types.js';
import type { VersionRef } from '../target/types.js';
import { exchange, oipOutput, type Agents, type Exchange } from './oip-exchange.js';
import { AnalysisUnavailableError, COUNTS_KEY, LATENCY_KEY, PAIRED_KEY, type AnalysisSource, type AnalysisVersions, type TimeWindow } from './types.js';

/** The serving protocols the pairs can speak. */
export type SyntheticProtocol = 'oip-v2';

export interface SyntheticPairedSourceOptions {
  /** Model name on both versions (OIP v2: /v2/models/<model>/infer). */
  readonly model: string;
  /** Default `oip-v2` (Open Inference Protocol v2 REST, as `ferry serve`, KServe, Triton and MLServer speak it). */
  readonly protocol?: SyntheticProtocol;
  /** Pairs per second (each pair is one request per version); default 10. */
  readonly rate?: number;
  /**
   * JSONL file of request bodies (OIP v2: `{"inputs": [...]}` per line), sent in a seeded random
   * order. Default: `payloadCount` bodies generated from the model signature that stable reports
   * at GET /v2/models/<model>.
   */
  readonly dataset?: string;
  /** Distinct generated payloads (default 16); ignored with a dataset. */
  readonly payloadCount?: number;
  /** Per request, from sending to the last byte of the answer; default 10 000 ms. */
  readonly timeoutMs?: number;
  /** Seeds the payload order, the order within each pair and generated payloads; default 1. */
  readonly seed?: number;
  /** Sent with every request (Authorization for a gateway). Never logged. */
  readonly headers?: Readonly<Record<string, string>>;
}

export const SYNTHETIC_DEFAULTS = { rate: 10, payloadCount: 16, timeoutMs: 10_000, seed: 1 } as const;

type Side = 'stable' | 'canary';

/** One request of a pair, once it has an outcome. */
interface Outcome {
  readonly sentAtMs: number;
  readonly status: string;
  /** 2xx with a usable model output. */
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly output?: PairedOutput;
}

interface Pair {
  readonly startedAtMs: number;
  stable?: Outcome;
  canary?: Outcome;
  done?: Promise<void>;
}

function bad(option: string, message: string): never {
  throw new InputError(`synthetic paired load: ${option} ${message}`, { subject: option });
}

function checkEndpoints(side: Side, version: VersionRef): URL[] {
  if (!version || !Array.isArray(version.endpoints) || version.endpoints.length === 0) bad(`${side}.endpoints`, `of version ${JSON.stringify(version?.name)} is empty: there is nothing to send to`);
  return version.endpoints.map((e) => {
    try {
      const u = new URL(e);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
      return u;
    } catch {
      return bad(`${side}.endpoints`, `of version ${JSON.stringify(version.name)} holds ${JSON.stringify(e)}, which is not an http(s) base URL`);
    }
  });
}

/** Joins a base URL (which may carry a path prefix) and an API path. */
function join(base: URL, path: string): URL {
  const u = new URL(base.href);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}${path}`;
  return u;
}

export class SyntheticPairedSource implements AnalysisSource {
  readonly kind = 'synthetic';
  readonly description: string;
  private readonly protocol: ProtocolAdapter;
  private readonly rate: number;
  private readonly timeoutMs: number;
  private readonly seed: number;
  private readonly payloadCount: number;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly datasetPath: string | undefined;
  private readonly pairs: Pair[] = [];
  private readonly inFlight = new Set<Exchange>();
  private agents: Agents | undefined;
  private timer: NodeJS.Timeout | undefined;
  private started: AnalysisVersions | undefined;
  private stopped = false;
  private detach: (() => void) | undefined;

  constructor(private readonly options: SyntheticPairedSourceOptions) {
    const protocol = options.protocol ?? 'oip-v2';
    if (protocol !== 'oip-v2') bad('protocol', `must be "oip-v2", got ${JSON.stringify(protocol)}`);
    if (typeof options.model !== 'string' || options.model === '') bad('model', 'must name the model the versions serve');
    this.protocol = createProtocol({ kind: 'oip-v2', model: options.model, checkResponse: false });
    this.rate = options.rate ?? SYNTHETIC_DEFAULTS.rate;
    if (!(Number.isFinite(this.rate) && this.rate > 0 && this.rate <= 10_000)) bad('rate', `must be pairs per second in (0, 10000], got ${JSON.stringify(options.rate)}`);
    this.timeoutMs = options.timeoutMs ?? SYNTHETIC_DEFAULTS.timeoutMs;
    if (!(Number.isFinite(this.timeoutMs) && this.timeoutMs > 0)) bad('timeoutMs', `must be a number of ms > 0, got ${JSON.stringify(options.timeoutMs)}`);
    this.seed = options.seed ?? SYNTHETIC_DEFAULTS.seed;
    if (!Number.isInteger(this.seed)) bad('seed', `must be an integer, got ${JSON.stringify(options.seed)}`);
    this.payloadCount = options.payloadCount ?? SYNTHETIC_DEFAULTS.payloadCount;
    if (!(Number.isInteger(this.payloadCount) && this.payloadCount > 0)) bad('payloadCount', `must be an integer > 0, got ${JSON.stringify(options.payloadCount)}`);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (typeof value !== 'string') bad('headers', `${name} must be a string`);
      headers[name] = value;
    }
    this.headers = headers;
    this.datasetPath = options.dataset;
    const payloads = this.datasetPath === undefined ? 'payloads generated from the model signature' : `payloads from ${this.datasetPath}`;
    this.description = `paired synthetic load, ${this.rate} pairs/s (OIP v2 model "${options.model}", ${payloads})`;
  }

  async start(versions: AnalysisVersions, signal: AbortSignal): Promise<void> {
    if (this.started || this.stopped) throw new Error('synthetic paired load: start() must be called once, before close()');
    this.started = versions;
    const stable = checkEndpoints('stable', versions.stable);
    const canary = checkEndpoints('canary', versions.canary);
    if (signal.aborted) throw new CancelledError('cancelled before the paired load started');
    this.agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };
    const onAbort = (): void => void this.close();
    signal.addEventListener('abort', onAbort, { once: true });
    this.detach = () => signal.removeEventListener('abort', onAbort);
    let requests: HttpRequestSpec[];
    try {
      requests = (await this.payloads(stable[0]!)).map((p, i) => this.build(p, i));
    } catch (err: unknown) {
      await this.close();
      throw err;
    }
    if (this.stopped) throw new CancelledError('cancelled before the paired load started');
    this.schedule(requests, stable, canary);
  }

  async collect(versions: AnalysisVersions, window: TimeWindow, signal: AbortSignal): Promise<JudgeWindow> {
    const running = this.started;
    if (running && (running.stable.name !== versions.stable?.name || running.canary.name !== versions.canary?.name)) {
      // The load only knows the versions it was started on: other names must not get their data.
      throw new Error(`synthetic paired load: collect() asked for ${versions.stable?.name} / ${versions.canary?.name}, but the load runs against ${running.stable.name} / ${running.canary.name}`);
    }
    const { startMs, endMs } = window;
    if (!Number.isFinite(startMs) || !Number.isFinite(endMs) || endMs <= startMs) {
      throw new InputError(`synthetic paired load: the analysis window must end after it starts, got ${startMs}..${endMs}`, { subject: 'window' });
    }
    // Requests sent in the window may still be in flight: wait for them (at most two timeouts, as a
    // pair's requests go one after the other). Leaving them out would favour the slower version.
    const pending = this.pairs.filter((p) => p.startedAtMs < endMs && p.done !== undefined).map((p) => p.done!);
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(new CancelledError('cancelled while collecting the paired load'));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      void Promise.all(pending).then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });

    const inWindow = (o: Outcome | undefined): o is Outcome => o !== undefined && o.sentAtMs >= startMs && o.sentAtMs < endMs;
    const side = (): { latency: number[]; codes: Record<string, number>; requests: number } => ({ latency: [], codes: {}, requests: 0 });
    const acc = { stable: side(), canary: side() };
    const paired: { stable: PairedOutput[]; canary: PairedOutput[] } = { stable: [], canary: [] };
    for (const pair of this.pairs) {
      for (const s of ['stable', 'canary'] as const) {
        const o = pair[s];
        if (!inWindow(o)) continue;
        const a = acc[s];
        a.requests++;
        a.codes[o.status] = (a.codes[o.status] ?? 0) + 1;
        if (o.ok) a.latency.push(o.latencyMs);
      }
      const { stable, canary } = pair;
      if (inWindow(stable) && inWindow(canary) && stable.output !== undefined && canary.output !== undefined) {
        paired.stable.push(stable.output);
        paired.canary.push(canary.output);
      }
    }
    const versionData = (a: (typeof acc)['stable']): VersionData => {
      // Nothing sent in the window: the keys stay out, so the judge's missing-data policy applies.
      const data: { latency?: Record<string, readonly number[]>; counts?: Record<string, CountData> } = {};
      if (a.latency.length > 0) data.latency = { [LATENCY_KEY]: a.latency };
      if (a.requests > 0) data.counts = { [COUNTS_KEY]: { requests: a.requests, statusCodes: a.codes } };
      return data;
    };
    return {
      stable: versionData(acc.stable),
      canary: versionData(acc.canary),
      ...(paired.stable.length > 0 ? { paired: { [PAIRED_KEY]: paired } } : {}),
    };
  }

  /** Stops the schedule, abandons requests in flight (they count for neither version) and closes connections. */
  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.detach?.();
    this.detach = undefined;
    const waiting = [...this.inFlight].map((x) => {
      x.cancel();
      return x.done;
    });
    await Promise.all(waiting);
    await Promise.all(this.pairs.map((p) => p.done));
    this.agents?.http.destroy();
    this.agents?.https.destroy();
  }

  private async payloads(stable: URL): Promise<unknown[]> {
    if (this.datasetPath !== undefined) return readJsonl(this.datasetPath);
    const url = join(stable, `/v2/models/${encodeURIComponent(this.options.model)}`);
    const shown = `${url.protocol}//${url.host}${url.pathname}`;
    const x = exchange(url, 'GET', { ...this.headers, accept: 'application/json' }, undefined, this.agents!, this.timeoutMs);
    this.inFlight.add(x);
    const r = await x.done;
    this.inFlight.delete(x);
    if (r.kind === 'cancelled') throw new CancelledError('cancelled while reading the model signature');
    if (r.kind === 'timeout') throw new AnalysisUnavailableError(`synthetic paired load: the model signature at ${shown} did not answer within ${this.timeoutMs} ms`);
    if (r.kind === 'network') throw new AnalysisUnavailableError(`synthetic paired load: cannot read the model signature at ${shown} (${r.error})`);
    if (r.status !== 200) throw new AnalysisUnavailableError(`synthetic paired load: the model signature at ${shown} answered HTTP ${r.status}`);
    let inputs: unknown;
    try {
      inputs = (JSON.parse(r.body.toString('utf8')) as { inputs?: unknown }).inputs;
    } catch {
      inputs = undefined;
    }
    const specs = Array.isArray(inputs) ? (inputs as { name?: unknown; datatype?: unknown; shape?: unknown }[]) : [];
    const valid = specs.length > 0 && specs.every((s) => typeof s?.name === 'string' && typeof s.datatype === 'string' && Array.isArray(s.shape));
    if (!valid) throw new AnalysisUnavailableError(`synthetic paired load: the model metadata at ${shown} has no usable "inputs" (name, datatype, shape)`);
    return signaturePayloads('oip-v2', {
      inputs: specs.map((s) => ({ name: s.name as string, dtype: s.datatype as string, shape: s.shape as (number | string)[] })),
      count: this.payloadCount,
      seed: this.seed,
    });
  }

  /** The request, built once here so that a bad dataset line fails at start, not as errors of both versions. */
  private build(payload: unknown, index: number): HttpRequestSpec {
    try {
      return this.protocol.build(payload, index);
    } catch (err: unknown) {
      const where = this.datasetPath === undefined ? `generated payload ${index + 1}` : `${this.datasetPath}: payload ${index + 1}`;
      throw new InputError(`synthetic paired load: ${where} is not an OIP v2 request (${(err as Error).message})`, { subject: this.datasetPath ?? 'payload' });
    }
  }

  /** Open loop: pair k is due at k / rate seconds after the first, whatever earlier pairs are doing. */
  private schedule(requests: readonly HttpRequestSpec[], stable: readonly URL[], canary: readonly URL[]): void {
    const random = new SeededRandom(this.seed);
    const t0 = performance.now();
    let launched = 0;
    const tick = (): void => {
      if (this.stopped) return;
      const due = Math.floor(((performance.now() - t0) * this.rate) / 1000) + 1;
      for (; launched < due; launched++) {
        const spec = requests[Math.floor(random.uniform() * requests.length)]!;
        const first: Side = random.uniform() < 0.5 ? 'stable' : 'canary';
        // Round robin over each version's replicas.
        const targets = { stable: join(stable[launched % stable.length]!, spec.path), canary: join(canary[launched % canary.length]!, spec.path) };
        this.launchPair(first, targets, { ...spec.headers, ...this.headers }, spec.body);
      }
      this.timer = setTimeout(tick, Math.max(0, t0 + (launched * 1000) / this.rate - performance.now()));
    };
    tick();
  }

  private launchPair(first: Side, targets: Readonly<Record<Side, URL>>, headers: Readonly<Record<string, string>>, body: string | Buffer | undefined): void {
    const pair: Pair = { startedAtMs: Date.now() };
    const second: Side = first === 'stable' ? 'canary' : 'stable';
    const one = async (side: Side): Promise<void> => {
      if (this.stopped) return;
      const sentAtMs = Date.now();
      const x = exchange(targets[side], 'POST', headers, body, this.agents!, this.timeoutMs);
      this.inFlight.add(x);
      const r = await x.done;
      this.inFlight.delete(x);
      switch (r.kind) {
        case 'cancelled':
          return;
        case 'timeout':
          pair[side] = { sentAtMs, status: '504', ok: false, latencyMs: r.latencyMs };
          return;
        case 'network':
          pair[side] = { sentAtMs, status: '502', ok: false, latencyMs: r.latencyMs };
          return;
        case 'response': {
          if (r.status < 200 || r.status > 299) {
            pair[side] = { sentAtMs, status: String(r.status), ok: false, latencyMs: r.latencyMs };
            return;
          }
          const out = oipOutput(r.body);
          pair[side] = 'output' in out ? { sentAtMs, status: String(r.status), ok: true, latencyMs: r.latencyMs, output: out.output } : { sentAtMs, status: '502', ok: false, latencyMs: r.latencyMs };
        }
      }
    };
    pair.done = one(first).then(() => one(second));
    this.pairs.push(pair);
  }
}
