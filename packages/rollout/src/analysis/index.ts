// Analysis sources: where the canary judge's data comes from. A Prometheus-compatible backend read
// per version, or Ferry's own paired synthetic load against both versions.
export * from './types.js';
export { PrometheusSource, PROMETHEUS_DEFAULTS, PROMETHEUS_PRESETS, type PrometheusPreset, type PrometheusQueries, type PrometheusSourceOptions } from './prometheus.js';
export { SyntheticPairedSource, SYNTHETIC_DEFAULTS, type SyntheticPairedSourceOptions, type SyntheticProtocol } from './synthetic.js';
export { escapePromqlString, renderTemplate, VERSION_PLACEHOLDER } from './promql.js';
export { counterIncrease } from './series.js';
export { MirroredPairsSource, type MirrorLog } from './mirrored.js';
