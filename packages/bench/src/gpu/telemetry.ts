// GPU telemetry taken while the load generator runs: one sample shape for both sources (nvidia-smi
// and dcgm-exporter), and the per-GPU summary a benchmark report shows for the measurement window.
import { InputError } from '@ferry/core';

export type GpuTelemetrySource = 'nvidia-smi' | 'dcgm';

/** One reading of one GPU. Fields a source did not report (or reported as N/A) are undefined. */
export interface GpuSample {
  /** When the reading arrived, on the monotonicMs() clock of clock.ts (the load generator's clock). */
  readonly tMs: number;
  /** GPU index as the driver numbers it (nvidia-smi `index`, dcgm-exporter label `gpu`). */
  readonly gpu: number;
  readonly name?: string | undefined;
  readonly uuid?: string | undefined;
  /** Percent of time at least one kernel ran (NVML utilization.gpu, DCGM_FI_DEV_GPU_UTIL). */
  readonly utilizationPct?: number | undefined;
  /** Percent of time device memory was read or written (utilization.memory, DCGM_FI_DEV_MEM_COPY_UTIL). */
  readonly memoryUtilizationPct?: number | undefined;
  readonly memoryUsedMiB?: number | undefined;
  readonly memoryTotalMiB?: number | undefined;
  readonly powerW?: number | undefined;
  readonly smClockMHz?: number | undefined;
  readonly temperatureC?: number | undefined;
  /** Fraction (0..1) of cycles an SM had at least one warp resident (DCGM_FI_PROF_SM_ACTIVE). */
  readonly smActive?: number | undefined;
  /** Decoded clock event (throttle) reasons active at the reading; [] when none. */
  readonly throttleReasons?: readonly string[] | undefined;
}

/** The measurement window on the monotonicMs() clock; either end left out means "from the first / to the last sample". */
export interface GpuWindow {
  readonly fromMs?: number | undefined;
  readonly toMs?: number | undefined;
}

export interface GpuSampler {
  readonly source: GpuTelemetrySource;
  /** The readings taken so far (a copy). */
  samples(): GpuSample[];
  /** Stops sampling and summarises the readings inside `window`. */
  stop(window?: GpuWindow): Promise<GpuTelemetry>;
}

export interface MetricStat {
  readonly mean: number;
  readonly peak: number;
}

/** One point of the chart series: means over a slice of the window; `tS` is seconds since the window start. */
export interface GpuChartPoint {
  readonly tS: number;
  readonly utilizationPct?: number | undefined;
  readonly smActive?: number | undefined;
  readonly memoryUsedMiB?: number | undefined;
  readonly powerW?: number | undefined;
}

export interface GpuSummary {
  readonly gpu: number;
  readonly name?: string | undefined;
  readonly uuid?: string | undefined;
  readonly samples: number;
  /** Achieved mean time between readings; larger than the requested interval when the source could not keep up. */
  readonly meanIntervalMs?: number | undefined;
  readonly utilizationPct?: MetricStat | undefined;
  readonly memoryUtilizationPct?: MetricStat | undefined;
  readonly memoryUsedMiB?: MetricStat | undefined;
  readonly memoryTotalMiB?: number | undefined;
  readonly powerW?: MetricStat | undefined;
  readonly smClockMHz?: MetricStat | undefined;
  readonly temperatureC?: MetricStat | undefined;
  readonly smActive?: MetricStat | undefined;
  /** Throttle reason → fraction of readings (that reported reasons) in which it was active. */
  readonly throttle: Readonly<Record<string, number>>;
  /** Power integrated over time (trapezoid rule) between the first and last reading in the window. */
  readonly energyJoules?: number | undefined;
  /** At most MAX_CHART_POINTS points. */
  readonly series: readonly GpuChartPoint[];
}

export interface GpuTelemetry {
  readonly source: GpuTelemetrySource;
  /** The requested sample interval. */
  readonly intervalMs: number;
  readonly fromMs?: number | undefined;
  readonly toMs?: number | undefined;
  readonly gpus: readonly GpuSummary[];
  readonly warnings: readonly string[];
}

export interface SummarizeGpuOptions extends GpuWindow {
  readonly source: GpuTelemetrySource;
  readonly intervalMs: number;
  /** Warnings the sampler collected (scrape failures, a restarted nvidia-smi); kept first. */
  readonly warnings?: readonly string[] | undefined;
}

export const MIN_SAMPLE_INTERVAL_MS = 20;
export const MAX_SAMPLE_INTERVAL_MS = 200;
export const MAX_CHART_POINTS = 60;

/** Reasons that mean the clocks were held below what the load asked for (idle and user settings are not). */
const LIMITING_REASONS = new Set(['sw_power_cap', 'hw_slowdown', 'sw_thermal_slowdown', 'hw_thermal_slowdown', 'hw_power_brake_slowdown']);

/** Throws InputError unless `intervalMs` is a whole number of ms in [20, 200]. */
export function validateSampleInterval(intervalMs: number): void {
  if (!Number.isInteger(intervalMs) || intervalMs < MIN_SAMPLE_INTERVAL_MS || intervalMs > MAX_SAMPLE_INTERVAL_MS) {
    throw new InputError(
      `gpu-sample-interval must be a whole number of milliseconds from ${MIN_SAMPLE_INTERVAL_MS} to ${MAX_SAMPLE_INTERVAL_MS}, got ${intervalMs}`,
      {
        subject: 'gpu-sample-interval',
        hint: 'coarser sampling misses the bursts a benchmark is about; finer sampling costs the driver more than it measures',
      },
    );
  }
}

type NumericField = 'utilizationPct' | 'memoryUtilizationPct' | 'memoryUsedMiB' | 'powerW' | 'smClockMHz' | 'temperatureC' | 'smActive';
const STAT_FIELDS: readonly NumericField[] = ['utilizationPct', 'memoryUtilizationPct', 'memoryUsedMiB', 'powerW', 'smClockMHz', 'temperatureC', 'smActive'];
const CHART_FIELDS = ['utilizationPct', 'smActive', 'memoryUsedMiB', 'powerW'] as const;

function stat(samples: readonly GpuSample[], field: NumericField): MetricStat | undefined {
  let sum = 0;
  let n = 0;
  let peak = Number.NEGATIVE_INFINITY;
  for (const s of samples) {
    const v = s[field];
    if (v === undefined || !Number.isFinite(v)) continue;
    sum += v;
    n++;
    if (v > peak) peak = v;
  }
  return n === 0 ? undefined : { mean: sum / n, peak };
}

function mean(values: readonly (number | undefined)[]): number | undefined {
  let sum = 0;
  let n = 0;
  for (const v of values) {
    if (v === undefined || !Number.isFinite(v)) continue;
    sum += v;
    n++;
  }
  return n === 0 ? undefined : sum / n;
}

/** Trapezoid rule over consecutive readings that both report power; undefined with fewer than two. */
function energyJoules(samples: readonly GpuSample[]): number | undefined {
  let joules = 0;
  let readings = 0;
  let prev: { tMs: number; powerW: number } | undefined;
  for (const s of samples) {
    if (s.powerW === undefined || !Number.isFinite(s.powerW)) continue;
    if (prev !== undefined) joules += ((prev.powerW + s.powerW) / 2) * ((s.tMs - prev.tMs) / 1000);
    prev = { tMs: s.tMs, powerW: s.powerW };
    readings++;
  }
  return readings < 2 ? undefined : joules;
}

function chart(samples: readonly GpuSample[], fromMs: number, toMs: number): GpuChartPoint[] {
  const buckets = Math.min(MAX_CHART_POINTS, samples.length);
  if (buckets === 0) return [];
  const width = (toMs - fromMs) / buckets;
  const groups: GpuSample[][] = Array.from({ length: buckets }, () => []);
  for (const s of samples) {
    const i = width > 0 ? Math.min(buckets - 1, Math.max(0, Math.floor((s.tMs - fromMs) / width))) : 0;
    groups[i]!.push(s);
  }
  const points: GpuChartPoint[] = [];
  for (const g of groups) {
    if (g.length === 0) continue;
    const point: Record<string, number | undefined> = { tS: (mean(g.map((s) => s.tMs))! - fromMs) / 1000 };
    for (const f of CHART_FIELDS) {
      const m = mean(g.map((s) => s[f]));
      if (m !== undefined) point[f] = m;
    }
    points.push(point as unknown as GpuChartPoint);
  }
  return points;
}

function label(s: GpuSummary): string {
  return s.name === undefined ? `GPU ${s.gpu}` : `GPU ${s.gpu} (${s.name})`;
}

function pct(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}

/** Summarises the readings inside the window, per GPU, with the warnings a reader of the report needs. */
export function summarizeGpu(samples: readonly GpuSample[], options: SummarizeGpuOptions): GpuTelemetry {
  const sorted = [...samples].sort((a, b) => a.tMs - b.tMs);
  const inWindow = sorted.filter(
    (s) => (options.fromMs === undefined || s.tMs >= options.fromMs) && (options.toMs === undefined || s.tMs <= options.toMs),
  );
  const warnings = [...(options.warnings ?? [])];
  if (inWindow.length === 0) {
    warnings.push(
      sorted.length === 0
        ? `${options.source} delivered no GPU readings`
        : `no GPU readings fell inside the measurement window (${sorted.length} outside it)`,
    );
  }
  const fromMs = options.fromMs ?? inWindow[0]?.tMs;
  const toMs = options.toMs ?? inWindow[inWindow.length - 1]?.tMs;

  const byGpu = new Map<number, GpuSample[]>();
  for (const s of inWindow) {
    const list = byGpu.get(s.gpu);
    if (list === undefined) byGpu.set(s.gpu, [s]);
    else list.push(s);
  }

  const gpus: GpuSummary[] = [];
  for (const [gpu, list] of [...byGpu].sort((a, b) => a[0] - b[0])) {
    const withReasons = list.filter((s) => s.throttleReasons !== undefined);
    const throttle: Record<string, number> = {};
    for (const s of withReasons) for (const r of s.throttleReasons!) throttle[r] = (throttle[r] ?? 0) + 1;
    for (const r of Object.keys(throttle)) throttle[r] = throttle[r]! / withReasons.length;

    const totals = list.map((s) => s.memoryTotalMiB).filter((v): v is number => v !== undefined);
    const summary: GpuSummary = {
      gpu,
      name: list.find((s) => s.name !== undefined)?.name,
      uuid: list.find((s) => s.uuid !== undefined)?.uuid,
      samples: list.length,
      meanIntervalMs: list.length > 1 ? (list[list.length - 1]!.tMs - list[0]!.tMs) / (list.length - 1) : undefined,
      ...Object.fromEntries(STAT_FIELDS.map((f) => [f, stat(list, f)])),
      memoryTotalMiB: totals.length > 0 ? Math.max(...totals) : undefined,
      throttle,
      energyJoules: energyJoules(list),
      series: chart(list, fromMs ?? list[0]!.tMs, toMs ?? list[list.length - 1]!.tMs),
    };
    gpus.push(summary);

    if (summary.meanIntervalMs !== undefined && summary.meanIntervalMs > 1.5 * options.intervalMs) {
      warnings.push(
        `${label(summary)}: one reading every ${Math.round(summary.meanIntervalMs)} ms on average, not the requested ${options.intervalMs} ms: ${options.source} could not keep up`,
      );
    }
    for (const [reason, fraction] of Object.entries(throttle)) {
      if (LIMITING_REASONS.has(reason)) warnings.push(`${label(summary)}: clocks held back by ${reason} in ${pct(fraction)} of readings`);
    }
  }

  if (options.source === 'nvidia-smi' && gpus.some((g) => g.utilizationPct !== undefined)) {
    warnings.push(
      'utilization.gpu counts the time any kernel ran, so it overstates load; give dcgm-url for SM active (DCGM_FI_PROF_SM_ACTIVE)',
    );
  }
  return { source: options.source, intervalMs: options.intervalMs, fromMs, toMs, gpus, warnings };
}
