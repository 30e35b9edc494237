// Runs every configured gate and returns their results in a stable order: metrics, fairness,
// drift (one per feature), model card. A failed gate is a result; only bad input throws.
import type { GateResult } from '@ferry/core';
import { GATES_CONFIG_PATH, type GatesConfig } from './config.js';
import { evaluateDriftGate } from './drift.js';
import { evaluateFairnessGates } from './fairness.js';
import { evaluateMetricGates } from './metrics.js';
import { evaluateModelCardGate } from './model-card.js';
import { readEvaluationResults, type EvaluationResults } from './results.js';

export interface GateRunOptions {
  /** Directory that relative paths in the configuration are resolved against. */
  readonly cwd: string;
  /** The model file or directory (where the model card is looked for). */
  readonly modelPath: string;
  /** Key path of the configuration, for messages (default validate-model.gates). */
  readonly path?: string;
  /** Metrics the step computed itself (smoke-eval): metric gates read them when the results file lacks a metric. */
  readonly computed?: EvaluationResults;
}

export async function runGates(config: GatesConfig, options: GateRunOptions): Promise<GateResult[]> {
  const out: GateResult[] = [];
  const read = (file: string): Promise<EvaluationResults> => readEvaluationResults(file, options.cwd);
  const needsResults = config.metrics.length > 0 || (config.fairness.length > 0 && config.slices === undefined);
  const results = config.results !== undefined && needsResults ? await read(config.results) : undefined;
  if (config.metrics.length > 0) {
    const sources = [results, options.computed].filter((s): s is EvaluationResults => s !== undefined);
    const needsBaseline = config.metrics.some((g) => g.kind === 'baseline');
    const baseline = needsBaseline && config.baseline !== undefined ? await read(config.baseline) : undefined;
    out.push(...evaluateMetricGates(config.metrics, sources, baseline));
  }
  if (config.fairness.length > 0) {
    const slices = config.slices !== undefined ? await read(config.slices) : results;
    if (slices !== undefined) out.push(...evaluateFairnessGates(config.fairness, slices));
  }
  if (config.drift !== undefined) {
    out.push(...(await evaluateDriftGate(config.drift, { cwd: options.cwd, path: `${options.path ?? GATES_CONFIG_PATH}.drift` })));
  }
  if (config.modelCard !== undefined) {
    out.push(await evaluateModelCardGate(config.modelCard, { modelPath: options.modelPath, cwd: options.cwd }));
  }
  return out;
}
