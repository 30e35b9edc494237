// The `gates` settings of validate-model as one typed object, parsed from ferry.yml (or an input
// holding YAML/JSON) with errors naming the exact key path.
import { configError, readRecord, readString } from './config-reader.js';
import { parseDriftGate, type DriftGateConfig } from './drift.js';
import { parseFairnessGates, type FairnessGateConfig } from './fairness.js';
import { parseMetricGates, type MetricGateConfig } from './metrics.js';
import { parseModelCardConfig, type ModelCardConfig } from './model-card.js';

export const GATES_CONFIG_PATH = 'validate-model.gates';

export interface GatesConfig {
  /** Evaluation results of the candidate model (JSON or CSV), for metric and fairness gates. */
  readonly results?: string;
  /** Results of the production model in the same layout, for baseline gates. */
  readonly baseline?: string;
  /** Per-slice results in a file of their own; by default the slices inside `results`. */
  readonly slices?: string;
  readonly metrics: readonly MetricGateConfig[];
  readonly fairness: readonly FairnessGateConfig[];
  readonly drift?: DriftGateConfig;
  readonly modelCard?: ModelCardConfig;
}

export interface GatesConfigOptions {
  /** Key path of the mapping, for messages (default validate-model.gates). */
  readonly path?: string;
  /** Results file given by its own input (eval-results): replaces `results`. */
  readonly results?: string;
  /** Baseline file given by its own input (baseline-results): replaces `baseline`. */
  readonly baseline?: string;
  /**
   * Metrics the step computes itself (smoke-eval), which metric gates may read when no results
   * file is given. Undefined when nothing is computed.
   */
  readonly computedMetrics?: readonly string[];
}

const KEYS = ['results', 'baseline', 'slices', 'metrics', 'fairness', 'drift', 'model-card'];

/**
 * Parses the gates mapping (`undefined`/null means no gates) and checks that every gate has the data
 * it needs. Paths stay as written: they are resolved against the working directory when read.
 */
export function parseGatesConfig(raw: unknown, options: GatesConfigOptions = {}): GatesConfig {
  const path = options.path ?? GATES_CONFIG_PATH;
  const o = raw === undefined || raw === null ? {} : readRecord(raw, path, KEYS);
  const results = options.results ?? (o.results === undefined ? undefined : readString(o.results, `${path}.results`));
  const baseline = options.baseline ?? (o.baseline === undefined ? undefined : readString(o.baseline, `${path}.baseline`));
  const slices = o.slices === undefined ? undefined : readString(o.slices, `${path}.slices`);
  const metrics = o.metrics === undefined ? [] : parseMetricGates(o.metrics, `${path}.metrics`);
  const fairness = o.fairness === undefined ? [] : parseFairnessGates(o.fairness, `${path}.fairness`);
  if (results === undefined) {
    const computed = options.computedMetrics;
    metrics.forEach((g, i) => {
      if (computed === undefined) {
        throw configError(
          `${path}.results`,
          `is required by ${path}.metrics[${i}] ("${g.metric}"): the evaluation results file (JSON or CSV), or the eval-results input`,
          'for accuracy or F1 of an ONNX classifier, smoke-eval can compute them from a labelled CSV',
        );
      }
      if (!computed.includes(g.metric)) {
        throw configError(
          `${path}.metrics[${i}]`,
          `"${g.metric}" is not computed by smoke-eval (it computes ${computed.join(', ')}); give an evaluation results file in ${path}.results or the eval-results input`,
        );
      }
    });
  }
  const baselineGate = metrics.findIndex((g) => g.kind === 'baseline');
  if (baselineGate >= 0 && baseline === undefined) {
    throw configError(`${path}.baseline`, `is required by ${path}.metrics[${baselineGate}], which compares with the production model's results (or give the baseline-results input)`);
  }
  if (fairness.length > 0 && results === undefined && slices === undefined) {
    throw configError(`${path}.slices`, 'is required by the fairness gates: per-slice results (or put a "slices" section in the results file)');
  }
  const drift = o.drift === undefined || o.drift === null ? undefined : parseDriftGate(o.drift, `${path}.drift`);
  const modelCard = parseModelCardConfig(o['model-card'], `${path}.model-card`);
  return {
    ...(results === undefined ? {} : { results }),
    ...(baseline === undefined ? {} : { baseline }),
    ...(slices === undefined ? {} : { slices }),
    metrics,
    fairness,
    ...(drift === undefined ? {} : { drift }),
    ...(modelCard === undefined ? {} : { modelCard }),
  };
}

/** Whether the configuration holds any gate at all. */
export function hasGates(config: GatesConfig): boolean {
  return config.metrics.length > 0 || config.fairness.length > 0 || config.drift !== undefined || config.modelCard !== undefined;
}
