// The judge's data from a Prometheus-compatible backend (Prometheus, Thanos, Mimir, VictoriaMetrics):
// one range query per version and key over the analysis window, each series' increase computed
// from the raw points (series.ts), summed per status code or per latency bucket.
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledError, errorMessage, InputError, parseDuration } from '@ferry/core';
import type { CountData, JudgeWindow, LatencyData, VersionData } from '../judge/types.js';
import type { VersionRef } from '../target/types.js';
import { checkTemplate, renderTemplate } from './promql.js';
import { bucketsToHistogram, countsByCode, type RangeSeries } from './series.js';
import { AnalysisUnavailableError, COUNTS_KEY, LATENCY_KEY, type AnalysisSource, type AnalysisVersions, type TimeWindow } from './types.js';

/** Query templates per key; `{{version}}` stands for the version's name inside a double-quoted label value. */
export interface PrometheusQueries {
  /** Cumulative latency histogram buckets (series with an `le` label); null: not collected. */
  readonly latency?: string | null;
  /** A request counter with the status code label; null: not collected. */
  readonly counts?: string | null;
}

export type PrometheusPreset = 'ferry-serve' | 'ferry-router';

/** Ferry's own metrics: `ferry serve` per server, or the local router per version it routes to. */
export const PROMETHEUS_PRESETS: Readonly<Record<PrometheusPreset, { readonly latency: string; readonly counts: string }>> = {
  'ferry-serve': {
    latency: 'ferry_serve_inference_request_duration_seconds_bucket{version="{{version}}"}',
    counts: 'ferry_serve_inference_requests_total{version="{{version}}"}',
  },
  'ferry-router': {
    latency: 'ferry_router_request_duration_seconds_bucket{version="{{version}}"}',
    counts: 'ferry_router_requests_total{version="{{version}}"}',
  },
};

export interface PrometheusSourceOptions {
  /** Base URL of the query API (http://prometheus:9090, or with a path prefix: https://mimir/prometheus). */
  readonly url: string;
  /** Sent with every query (Authorization, X-Scope-OrgID). Never logged, never in a message. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Default `ferry-serve`. */
  readonly preset?: PrometheusPreset;
  /** Templates that replace the preset's, per key. */
  readonly queries?: PrometheusQueries;
  /** Unit of the latency buckets' `le` bounds; default `seconds` (the Prometheus convention). */
  readonly latencyUnit?: 'seconds' | 'milliseconds';
  /** Label holding the HTTP status code on the counter; default `code`. */
  readonly codeLabel?: string;
  /** Evaluation step of the range queries: a duration ("5s", "1m") or seconds; default 5 s. */
  readonly step?: string | number;
  /** Per-query timeout, default 10 000 ms. */
  readonly timeoutMs?: number;
  /** Further attempts after an unreachable backend, a timeout or an HTTP 5xx; default 2. */
  readonly retries?: number;
}

export const PROMETHEUS_DEFAULTS = { preset: 'ferry-serve' as PrometheusPreset, stepMs: 5_000, timeoutMs: 10_000, retries: 2, codeLabel: 'code', latencyUnit: 'seconds' } as const;

/** Prometheus answers at most 11 000 points per series; stay below with some room. */
const MAX_POINTS = 10_000;
const RETRY_DELAY_MS = 500;

type QueryResponse =
  | { status: 'success'; data: { resultType: string; result: unknown } }
  | { status: 'error'; errorType?: string; error?: string };

function bad(option: string, message: string): never {
  throw new InputError(`Prometheus source: ${option} ${message}`, { subject: option });
}

/** The URL for messages: no user info (credentials), query or fragment. */
function displayUrl(u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}

/** A failed attempt, and whether another one could help. */
class QueryFailure extends Error {
  constructor(
    message: string,
    readonly retriable: boolean,
  ) {
    super(message);
  }
}

export class PrometheusSource implements AnalysisSource {
  readonly kind = 'prometheus';
  readonly description: string;
  private readonly base: string;
  private readonly shownUrl: string;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly templates: { readonly latency: string | null; readonly counts: string | null };
  private readonly unitMs: number;
  private readonly codeLabel: string;
  private readonly stepMs: number;
  private readonly timeoutMs: number;
  private readonly retries: number;

  constructor(options: PrometheusSourceOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      bad('url', `must be an http(s) URL, got ${JSON.stringify(options.url)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') bad('url', `must be an http(s) URL, got a ${url.protocol} URL`);
    this.shownUrl = displayUrl(url);
    url.search = '';
    url.hash = '';
    this.base = url.href.replace(/\/+$/, '');

    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      // The value is a secret: name the header only.
      if (typeof value !== 'string') bad('headers', `${name} must be a string`);
      headers[name] = value;
    }
    this.headers = headers;

    const preset = options.preset ?? PROMETHEUS_DEFAULTS.preset;
    const defaults = PROMETHEUS_PRESETS[preset];
    if (!defaults) bad('preset', `must be one of ${Object.keys(PROMETHEUS_PRESETS).join(', ')}, got ${JSON.stringify(preset)}`);
    const pick = (key: 'latency' | 'counts'): string | null => {
      const given = options.queries?.[key];
      const template = given === undefined ? defaults[key] : given;
      if (template !== null) checkTemplate(`queries.${key}`, template);
      return template;
    };
    this.templates = { latency: pick('latency'), counts: pick('counts') };
    if (this.templates.latency === null && this.templates.counts === null) bad('queries', 'turns off both latency and counts: nothing would be collected');

    const unit = options.latencyUnit ?? PROMETHEUS_DEFAULTS.latencyUnit;
    if (unit !== 'seconds' && unit !== 'milliseconds') bad('latencyUnit', `must be seconds or milliseconds, got ${JSON.stringify(unit)}`);
    this.unitMs = unit === 'seconds' ? 1000 : 1;
    this.codeLabel = options.codeLabel ?? PROMETHEUS_DEFAULTS.codeLabel;
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(this.codeLabel)) bad('codeLabel', `must be a label name, got ${JSON.stringify(this.codeLabel)}`);

    const step = options.step ?? PROMETHEUS_DEFAULTS.stepMs / 1000;
    const stepMs = typeof step === 'number' ? step * 1000 : parseDuration(step);
    if (stepMs === undefined || !Number.isFinite(stepMs) || stepMs < 1) bad('step', `must be a duration such as "5s" or a number of seconds > 0, got ${JSON.stringify(step)}`);
    this.stepMs = Math.round(stepMs);
    this.timeoutMs = options.timeoutMs ?? PROMETHEUS_DEFAULTS.timeoutMs;
    if (!(Number.isFinite(this.timeoutMs) && this.timeoutMs > 0)) bad('timeoutMs', `must be a number of ms > 0, got ${JSON.stringify(options.timeoutMs)}`);
    this.retries = options.retries ?? PROMETHEUS_DEFAULTS.retries;
    if (!(Number.isInteger(this.retries) && this.retries >= 0)) bad('retries', `must be an integer ≥ 0, got ${JSON.stringify(options.retries)}`);

    const custom = options.queries?.latency !== undefined || options.queries?.counts !== undefined;
    this.description = `Prometheus at ${this.shownUrl} (${preset} metrics${custom ? ', custom queries' : ''}, step ${this.stepMs / 1000} s)`;
  }

  /** Prometheus is only read: nothing to start. */
  async start(_versions: AnalysisVersions, _signal: AbortSignal): Promise<void> {}

  async collect(versions: AnalysisVersions, window: TimeWindow, signal: AbortSignal): Promise<JudgeWindow> {
    const { startMs, endMs } = window;
    if (!Number.isFinite(startMs) || !Number.isFinite(endMs) || endMs <= startMs) {
      throw new InputError(`Prometheus source: the analysis window must end after it starts, got ${startMs}..${endMs}`, { subject: 'window' });
    }
    const range = this.rangeFor(startMs, endMs);
    const [stable, canary] = await Promise.all([this.versionData(versions.stable, range, signal), this.versionData(versions.canary, range, signal)]);
    return { stable, canary };
  }

  async close(): Promise<void> {}

  /**
   * Evaluation times ending exactly at the window's end, so that the last scrape in the window
   * counts: the step is shortened to divide the window into whole steps, and the first evaluation
   * moves back by under a millisecond per step to keep whole milliseconds.
   */
  private rangeFor(startMs: number, endMs: number): { fromMs: number; toMs: number; stepMs: number } {
    const width = endMs - startMs;
    const wanted = Math.max(this.stepMs, Math.ceil(width / MAX_POINTS));
    const steps = Math.max(1, Math.ceil(width / wanted));
    const stepMs = Math.max(1, Math.ceil(width / steps));
    return { fromMs: endMs - steps * stepMs, toMs: endMs, stepMs };
  }

  private async versionData(version: VersionRef, range: { fromMs: number; toMs: number; stepMs: number }, signal: AbortSignal): Promise<VersionData> {
    const { latency: latencyTemplate, counts: countsTemplate } = this.templates;
    const [latencySeries, countSeries] = await Promise.all([
      latencyTemplate === null ? undefined : this.query(renderTemplate(latencyTemplate, version.name), range, signal),
      countsTemplate === null ? undefined : this.query(renderTemplate(countsTemplate, version.name), range, signal),
    ]);
    const data: { latency?: Record<string, LatencyData>; counts?: Record<string, CountData> } = {};
    if (latencySeries) {
      const where = `the latency query ${latencySeries.query}`;
      const histogram = bucketsToHistogram(latencySeries.series, range.fromMs, this.unitMs, where);
      // No series, or no request in the window: the key stays out and the judge's missing-data
      // policy decides; an empty histogram must never read as "no slow-down".
      if (histogram) data.latency = { [LATENCY_KEY]: histogram };
    }
    if (countSeries) {
      const counts = countsByCode(countSeries.series, range.fromMs, this.codeLabel, `the counts query ${countSeries.query}`);
      if (counts) data.counts = { [COUNTS_KEY]: counts };
    }
    return data;
  }

  private async query(query: string, range: { fromMs: number; toMs: number; stepMs: number }, signal: AbortSignal): Promise<{ query: string; series: RangeSeries[] }> {
    const body = new URLSearchParams({
      query,
      start: (range.fromMs / 1000).toFixed(3),
      end: (range.toMs / 1000).toFixed(3),
      step: (range.stepMs / 1000).toFixed(3),
    });
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) throw new CancelledError('cancelled while querying Prometheus');
      try {
        return { query, series: await this.attempt(body, signal) };
      } catch (err: unknown) {
        if (!(err instanceof QueryFailure)) throw err;
        if (!err.retriable || attempt >= this.retries) {
          const tries = attempt > 0 ? ` (${attempt + 1} attempts)` : '';
          throw new AnalysisUnavailableError(`Prometheus at ${this.shownUrl}: query ${query} failed${tries}: ${this.redact(err.message)}`);
        }
      }
      await sleep(RETRY_DELAY_MS * 2 ** attempt, undefined, { signal }).catch(() => undefined);
    }
  }

  /** A backend's answer can echo a request header (a proxy rejecting a token): never pass one on. */
  private redact(text: string): string {
    let out = text;
    for (const value of Object.values(this.headers)) if (value.length >= 4) out = out.split(value).join('***');
    return out;
  }

  private async attempt(body: URLSearchParams, signal: AbortSignal): Promise<RangeSeries[]> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.base}/api/v1/query_range`, {
        method: 'POST',
        headers: { ...this.headers, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        signal: AbortSignal.any([signal, timeout]),
      });
      text = await response.text();
    } catch (err: unknown) {
      if (signal.aborted) throw new CancelledError('cancelled while querying Prometheus');
      if (timeout.aborted) throw new QueryFailure(`no answer within ${this.timeoutMs} ms`, true);
      throw new QueryFailure(`cannot be reached (${errorMessage(err)})`, true);
    }
    let parsed: QueryResponse | undefined;
    try {
      parsed = JSON.parse(text) as QueryResponse;
    } catch {
      parsed = undefined;
    }
    if (parsed?.status === 'error') {
      // bad_data and execution errors are the query's fault: asking again gives the same answer.
      const retriable = response.status >= 500 && parsed.errorType !== 'bad_data' && parsed.errorType !== 'execution';
      throw new QueryFailure(`HTTP ${response.status}, ${parsed.errorType ?? 'error'}: ${parsed.error ?? '(no message)'}`, retriable);
    }
    if (!response.ok || parsed === undefined) {
      const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200);
      throw new QueryFailure(`HTTP ${response.status}${parsed === undefined ? ', not a JSON answer' : ''}${snippet ? `: ${snippet}` : ''}`, response.status >= 500 || response.status === 429);
    }
    if (parsed.status !== 'success' || parsed.data?.resultType !== 'matrix' || !Array.isArray(parsed.data.result)) {
      throw new QueryFailure(`the answer is not a range-query matrix (status ${JSON.stringify(parsed.status)}, resultType ${JSON.stringify(parsed.data?.resultType)})`, false);
    }
    return parsed.data.result as RangeSeries[];
  }
}
