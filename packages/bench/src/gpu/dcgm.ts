// dcgm-exporter as the GPU source of benchmark-on-gpu-runner: its Prometheus /metrics text read into
// per-GPU readings (SM active above all: utilization.gpu overstates load), and a scraper that polls it.
import { InfrastructureError, InputError, errorMessage } from '@ferry/core';
import { monotonicMs } from '../clock.js';
import { decodeThrottleReasons } from './nvidia-smi.js';
import { summarizeGpu, validateSampleInterval, type GpuSample, type GpuSampler, type GpuTelemetry, type GpuWindow } from './telemetry.js';

export interface PrometheusSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One GPU as a single /metrics scrape describes it. */
export interface DcgmGpuMetrics {
  readonly gpu: number;
  readonly uuid?: string | undefined;
  readonly modelName?: string | undefined;
  readonly hostname?: string | undefined;
  /** 0..1 (DCGM_FI_PROF_SM_ACTIVE). */
  readonly smActive?: number | undefined;
  /** % (DCGM_FI_DEV_GPU_UTIL). */
  readonly utilizationPct?: number | undefined;
  /** % (DCGM_FI_DEV_MEM_COPY_UTIL). */
  readonly memoryUtilizationPct?: number | undefined;
  readonly memoryUsedMiB?: number | undefined;
  readonly memoryTotalMiB?: number | undefined;
  readonly powerW?: number | undefined;
  readonly smClockMHz?: number | undefined;
  readonly temperatureC?: number | undefined;
  readonly throttleReasons?: readonly string[] | undefined;
}

const SERIES = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?\s*$/;
const LABEL = /\s*([A-Za-z_]\w*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/y;

function unescapeLabel(v: string): string {
  return v.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function parseValue(v: string): number {
  if (v === '+Inf' || v === 'Inf') return Number.POSITIVE_INFINITY;
  if (v === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(v);
}

/** Reads the Prometheus text exposition format; comments, blank and malformed lines are skipped. */
export function parsePrometheusText(text: string): PrometheusSample[] {
  const out: PrometheusSample[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = SERIES.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    LABEL.lastIndex = 0;
    let ok = true;
    while (LABEL.lastIndex < body.length) {
      const at = LABEL.lastIndex;
      const l = LABEL.exec(body);
      if (l === null || LABEL.lastIndex === at) {
        ok = body.slice(at).trim() === '';
        break;
      }
      labels[l[1]!] = unescapeLabel(l[2]!);
    }
    const value = parseValue(m[3]!);
    if (ok && !Number.isNaN(value)) out.push({ name: m[1]!, labels, value });
  }
  return out;
}

// DCGM reports "no value" as large sentinels (DCGM_FP64_BLANK = 2^47, DCGM_INT64_BLANK ≈ 2^63 − 16).
const DCGM_BLANK = 2 ** 47;

type DcgmField = 'smActive' | 'utilizationPct' | 'memoryUtilizationPct' | 'memoryUsedMiB' | 'memoryTotalMiB' | 'powerW' | 'smClockMHz' | 'temperatureC' | 'throttle';
const METRIC_FIELDS: Readonly<Record<string, DcgmField>> = {
  DCGM_FI_PROF_SM_ACTIVE: 'smActive',
  DCGM_FI_DEV_GPU_UTIL: 'utilizationPct',
  DCGM_FI_DEV_MEM_COPY_UTIL: 'memoryUtilizationPct',
  DCGM_FI_DEV_FB_USED: 'memoryUsedMiB',
  DCGM_FI_DEV_FB_TOTAL: 'memoryTotalMiB',
  DCGM_FI_DEV_POWER_USAGE: 'powerW',
  DCGM_FI_DEV_SM_CLOCK: 'smClockMHz',
  DCGM_FI_DEV_GPU_TEMP: 'temperatureC',
  DCGM_FI_DEV_CLOCK_THROTTLE_REASONS: 'throttle',
  DCGM_FI_DEV_CLOCKS_EVENT_REASONS: 'throttle',
};

/**
 * Per-GPU readings from one dcgm-exporter scrape, ordered by GPU index. Series without a `gpu`
 * label are ignored. Where a GPU has several series for one metric (MIG instances, one per GPU
 * instance) their mean is taken.
 */
export function parseDcgmMetrics(text: string): DcgmGpuMetrics[] {
  const gpus = new Map<number, { info: Record<string, string>; values: Map<DcgmField, number[]> }>();
  for (const s of parsePrometheusText(text)) {
    const field = METRIC_FIELDS[s.name];
    const gpuLabel = s.labels.gpu;
    if (field === undefined || gpuLabel === undefined || !/^\d+$/.test(gpuLabel)) continue;
    if (!Number.isFinite(s.value) || Math.abs(s.value) >= DCGM_BLANK) continue;
    const gpu = Number(gpuLabel);
    let entry = gpus.get(gpu);
    if (entry === undefined) gpus.set(gpu, (entry = { info: {}, values: new Map() }));
    for (const [key, label] of [['uuid', 'UUID'], ['modelName', 'modelName'], ['hostname', 'Hostname']] as const) {
      const v = s.labels[label] ?? (label === 'Hostname' ? s.labels.hostname : undefined);
      if (v !== undefined && v !== '' && entry.info[key] === undefined) entry.info[key] = v;
    }
    const list = entry.values.get(field);
    if (list === undefined) entry.values.set(field, [s.value]);
    else list.push(s.value);
  }
  const avg = (xs: number[] | undefined): number | undefined => (xs === undefined ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length);
  return [...gpus]
    .sort((a, b) => a[0] - b[0])
    .map(([gpu, { info, values }]) => ({
      gpu,
      uuid: info.uuid,
      modelName: info.modelName,
      hostname: info.hostname,
      smActive: avg(values.get('smActive')),
      utilizationPct: avg(values.get('utilizationPct')),
      memoryUtilizationPct: avg(values.get('memoryUtilizationPct')),
      memoryUsedMiB: avg(values.get('memoryUsedMiB')),
      memoryTotalMiB: avg(values.get('memoryTotalMiB')),
      powerW: avg(values.get('powerW')),
      smClockMHz: avg(values.get('smClockMHz')),
      temperatureC: avg(values.get('temperatureC')),
      throttleReasons: values.has('throttle') ? decodeThrottleReasons(values.get('throttle')![0]!) : undefined,
    }));
}

export interface DcgmScraperOptions {
  /** dcgm-exporter's metrics URL (input dcgm-url), e.g. http://127.0.0.1:9400/metrics. */
  readonly url: string;
  /** Milliseconds between scrapes, 20..200 (input gpu-sample-interval). Default 200. */
  readonly intervalMs?: number | undefined;
  /** Per scrape. Default 2000. */
  readonly timeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Polls dcgm-exporter at the interval (one scrape at a time; a slow scrape delays the next).
 * Failed scrapes are counted and the first error is reported as a warning; if no scrape ever
 * succeeds, stop() rejects with InfrastructureError naming the URL.
 */
export function startDcgmScraper(options: DcgmScraperOptions): GpuSampler {
  const intervalMs = options.intervalMs ?? 200;
  validateSampleInterval(intervalMs);
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new InputError(`dcgm-url is not a URL: ${options.url}`, { subject: 'dcgm-url' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InputError(`dcgm-url must be http or https, got ${url.protocol}`, { subject: 'dcgm-url' });
  }
  const timeoutMs = options.timeoutMs ?? 2000;
  const samples: GpuSample[] = [];
  const halt = new AbortController();
  let attempts = 0;
  let successes = 0;
  let identical = 0;
  let firstError: string | undefined;
  let last: string | undefined;
  let wake: (() => void) | undefined;
  let stopping = false;

  const scrape = async (): Promise<void> => {
    attempts++;
    try {
      const res = await fetch(url, { signal: AbortSignal.any([halt.signal, AbortSignal.timeout(timeoutMs)]) });
      const text = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const tMs = monotonicMs();
      const gpus = parseDcgmMetrics(text);
      if (gpus.length === 0) throw new Error('the response has no DCGM_FI_* series with a gpu label');
      successes++;
      if (text === last) identical++;
      last = text;
      for (const g of gpus) {
        samples.push({
          tMs,
          gpu: g.gpu,
          name: g.modelName,
          uuid: g.uuid,
          utilizationPct: g.utilizationPct,
          memoryUtilizationPct: g.memoryUtilizationPct,
          memoryUsedMiB: g.memoryUsedMiB,
          memoryTotalMiB: g.memoryTotalMiB,
          powerW: g.powerW,
          smClockMHz: g.smClockMHz,
          temperatureC: g.temperatureC,
          smActive: g.smActive,
          throttleReasons: g.throttleReasons,
        });
      }
    } catch (err) {
      if (halt.signal.aborted) return;
      firstError ??= errorMessage(err);
    }
  };

  const loop = (async () => {
    while (!halt.signal.aborted && !stopping) {
      const started = monotonicMs();
      await scrape();
      const wait = started + intervalMs - monotonicMs();
      if (wait > 0 && !halt.signal.aborted && !stopping) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    }
  })();

  const abort = (): void => {
    halt.abort();
    wake?.();
  };
  if (options.signal?.aborted) abort();
  else options.signal?.addEventListener('abort', abort, { once: true });

  return {
    source: 'dcgm',
    samples: () => [...samples],
    async stop(window?: GpuWindow): Promise<GpuTelemetry> {
      options.signal?.removeEventListener('abort', abort);
      // Before the first success, let the scrape in flight finish (bounded by timeoutMs) rather than
      // cut it off and report a failure that was only ever our own stop.
      stopping = true;
      wake?.();
      if (successes > 0) halt.abort();
      await loop;
      if (successes === 0) {
        throw new InfrastructureError(
          `no scrape of ${url.href} succeeded (${attempts} tried)${firstError === undefined ? '' : `: ${firstError}`}`,
          { service: 'dcgm-exporter', hint: 'check dcgm-url, and that dcgm-exporter runs and is reachable from the runner' },
        );
      }
      const warnings: string[] = [];
      const failed = attempts - successes;
      if (failed > 0) warnings.push(`${failed} of ${attempts} scrapes of ${url.href} failed; first: ${firstError}`);
      if (successes >= 5 && identical / (successes - 1) >= 0.8) {
        warnings.push(
          `dcgm-exporter returned identical values in ${Math.round((identical / (successes - 1)) * 100)}% of consecutive scrapes: its collect interval (-c, default 30000 ms) is longer than gpu-sample-interval (${intervalMs} ms)`,
        );
      }
      return summarizeGpu(samples, { source: 'dcgm', intervalMs, ...window, warnings });
    },
  };
}
