// @ferry/bench: the engine of benchmark-on-gpu-runner: the step (server lifecycle, GPU telemetry,
// gates, baseline comparison, reports) and the load generator: open and
// closed loop load on worker threads, latency from the intended send time (coordinated-omission
// safe) and from the actual send, HDR-style histograms that merge exactly, serving protocols.
export {
  LatencyHistogram,
  DEFAULT_HISTOGRAM_CONFIG,
  REPORT_PERCENTILES,
  type HistogramConfig,
  type HistogramSummary,
  type SerializedHistogram,
} from './histogram/histogram.js';
export { SeededRandom } from './schedule/random.js';
export { arrivalSequence, shareOf, DEFAULT_SEED, type ArrivalProcess, type ArrivalSpec, type ArrivalSequence } from './schedule/arrivals.js';
export { monotonicMs, PreciseTimer, threadCpuMs } from './clock.js';
export { ERROR_CLASSES, ERROR_CLASS_TITLES, type ErrorCounts, type RequestErrorClass } from './errors.js';
export { createProtocol, PROTOCOL_KINDS, SseParser, type HttpRequestSpec, type ProtocolAdapter, type ProtocolSpec, type StreamOutcome } from './protocols/index.js';
export { parseJsonl, readJsonl } from './payload/dataset.js';
export { signaturePayloads, generateTensors, oipDatatype, concreteShape, type TensorSpecLike, type SignaturePayloadOptions } from './payload/signature.js';
export { runLoad } from './load/run-load.js';
export { mergeLoadResults } from './load/merge.js';
export { isStable, studentTCdf, studentTQuantile, tInterval } from './load/measure.js';
export { chunkTokens } from './load/llm-metrics.js';
export type { LoadOptions, OpenLoad, ClosedLoad, PayloadSource, StabilityOptions, SelfCheckOptions, ProgressEvent, LoadPoint } from './load/options.js';
export type { LlmSlo } from './load/messages.js';
export type {
  LoadResult,
  LoadPointResult,
  RepeatResult,
  WindowSummary,
  MeasurementSummary,
  LlmSummary,
  Validity,
  ValidityReason,
  Interval,
  ThreadUsage,
  SerializedHistograms,
} from './load/result.js';
export { startServer, firstInference, freePort, pickContainerRuntime, ServerStartError, type ServerSpec, type RunningServer, type StartOptions } from './server/lifecycle.js';
export { benchmarkStep } from './step/step.js';
export { readBenchmarkFile, writeBenchmarkFile, BENCHMARK_SCHEMA, type BenchmarkFile, type ServerFacts } from './step/results-file.js';
export { xyChart } from './step/report.js';
export * from './gpu/index.js';
export * from './compare/index.js';
