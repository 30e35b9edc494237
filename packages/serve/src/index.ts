// @ferry/serve: Ferry's embedded runtime, an Open Inference Protocol v2 server over onnxruntime-node.
export { serve, type ServeEvent, type ServeIo } from './run.js';
export { SERVE_OPTIONS, OPTION_GROUP, OPTION_GROUPS, serveSettings, defaultModelName, type OptionGroup, type ServeOptionValues, type ServeSettings } from './options.js';
export { InferenceServer, type ShutdownReport } from './server.js';
export { startEngine, type InferenceEngine } from './engine.js';
export { MetricsRegistry, Counter, Gauge, Histogram, negotiateFormat, CONTENT_TYPES, type ExpositionFormat } from './metrics.js';
export { LATENCY_BUCKETS } from './server-metrics.js';
export { FaultInjector, SeededRandom } from './faults.js';
export { InferenceSlots } from './limiter.js';
export { V2_DATATYPES, type V2Datatype } from './datatypes.js';
export type { TensorSignature } from './tensors.js';
