// validate-model gates: metric thresholds and baseline deltas, fairness across slices, data drift,
// and the model card. The step parses the `gates` input with parseGatesConfig and runs runGates.
export { GATES_CONFIG_PATH, hasGates, parseGatesConfig, type GatesConfig, type GatesConfigOptions } from './config.js';
export { runGates, type GateRunOptions } from './run.js';
export { parseEvaluationResults, readEvaluationResults, type EvaluationResults } from './results.js';
export type { BaselineGateConfig, MetricGateConfig, MetricGateResult, ThresholdGateConfig } from './metrics.js';
export type { FairnessGateConfig, FairnessGateResult } from './fairness.js';
export { DRIFT_DEFAULTS, type DriftFeatureResult, type DriftGateConfig } from './drift.js';
export { MODEL_CARD_DEFAULT_FIELDS, type ModelCardConfig, type ModelCardResult } from './model-card.js';
