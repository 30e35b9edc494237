// GPU telemetry for benchmark-on-gpu-runner: readiness (nvidia-smi), readings from nvidia-smi or
// dcgm-exporter while the load runs, and the per-GPU summary over the measurement window.
export {
  summarizeGpu,
  validateSampleInterval,
  MIN_SAMPLE_INTERVAL_MS,
  MAX_SAMPLE_INTERVAL_MS,
  MAX_CHART_POINTS,
  type GpuTelemetrySource,
  type GpuSample,
  type GpuSampler,
  type GpuWindow,
  type GpuTelemetry,
  type GpuSummary,
  type GpuChartPoint,
  type MetricStat,
  type SummarizeGpuOptions,
} from './telemetry.js';
export {
  parseQueryCsv,
  canonicalField,
  decodeThrottleReasons,
  parseCudaVersion,
  parseDriverVersion,
  checkGpus,
  startNvidiaSmiSampler,
  THROTTLE_REASON_BITS,
  GPU_LIST_FIELDS,
  SAMPLER_FIELDS,
  type QueryValue,
  type QueryRow,
  type GpuInfo,
  type GpuReadiness,
  type NvidiaSmiRunOptions,
  type CheckGpusOptions,
  type NvidiaSmiSamplerOptions,
  type NvidiaSmiSampler,
} from './nvidia-smi.js';
export { parsePrometheusText, parseDcgmMetrics, startDcgmScraper, type PrometheusSample, type DcgmGpuMetrics, type DcgmScraperOptions } from './dcgm.js';
