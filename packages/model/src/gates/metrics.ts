// Metric gates on evaluation results: absolute thresholds (`accuracy >= 0.92`) and limits on how
// much worse than the production model's results a metric may get. A metric a gate names but the
// results lack fails the gate: missing data never reads as a pass.
import type { GateResult } from '@ferry/core';
import { configError, isRecord, optionalNumber, readEnum, readFraction, readNumber, readRecord, readString } from './config-reader.js';
import { formatValue } from './format.js';
import type { EvaluationResults } from './results.js';

export const COMPARISON_OPERATORS = ['>=', '>', '<=', '<', '=='] as const;
export type ComparisonOperator = (typeof COMPARISON_OPERATORS)[number];

/** `metric op threshold`, e.g. accuracy >= 0.92. */
export interface ThresholdGateConfig {
  readonly kind: 'threshold';
  readonly metric: string;
  readonly op: ComparisonOperator;
  readonly threshold: number;
}

export type MetricDirection = 'higher-is-better' | 'lower-is-better';

/**
 * How much worse than the baseline a metric may get. `maxChange` is in the metric's own units
 * (`max-drop: 0.005` is "half a point" of AUC); `maxRelativeChange` is a fraction of the baseline
 * value (`max-increase-relative: 10%`). With both, both must hold; with neither, no worsening at all.
 */
export interface BaselineGateConfig {
  readonly kind: 'baseline';
  readonly metric: string;
  readonly direction: MetricDirection;
  readonly maxChange?: number;
  readonly maxRelativeChange?: number;
}

export type MetricGateConfig = ThresholdGateConfig | BaselineGateConfig;

export interface MetricGateResult extends GateResult {
  readonly metric: string;
  /** The metric in the results, when present as a number. */
  readonly actual?: number;
  /** The metric in the baseline results (baseline gates). */
  readonly baseline?: number;
}

const EXPRESSION = /^\s*(.+?)\s*(>=|<=|==|>|<)\s*(\S+)\s*$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Parses `accuracy >= 0.92` (operators >=, >, <=, <, ==). */
export function parseThresholdExpression(text: string, path: string): ThresholdGateConfig {
  const m = EXPRESSION.exec(text);
  if (!m || !DECIMAL.test(m[3] as string)) {
    throw configError(path, `expected "<metric> <op> <number>" with op one of ${COMPARISON_OPERATORS.join(' ')}, got ${JSON.stringify(text)}`);
  }
  return { kind: 'threshold', metric: m[1] as string, op: m[2] as ComparisonOperator, threshold: Number(m[3]) };
}

const THRESHOLD_KEYS = ['metric', 'op', 'threshold'];
const BASELINE_KEYS = ['metric', 'direction', 'max-drop', 'max-drop-relative', 'max-increase', 'max-increase-relative'];

/**
 * One metric gate: a string expression, `{metric, op, threshold}`, or a baseline gate
 * `{metric, max-drop | max-drop-relative | max-increase | max-increase-relative, direction?}`.
 */
export function parseMetricGate(raw: unknown, path: string): MetricGateConfig {
  if (typeof raw === 'string') return parseThresholdExpression(raw, path);
  if (!isRecord(raw)) throw configError(path, 'must be an expression like "accuracy >= 0.92" or a mapping with "metric"');
  if ('op' in raw || 'threshold' in raw) {
    const o = readRecord(raw, path, THRESHOLD_KEYS);
    return {
      kind: 'threshold',
      metric: readString(o.metric, `${path}.metric`),
      op: readEnum(o.op, `${path}.op`, COMPARISON_OPERATORS),
      threshold: readNumber(o.threshold, `${path}.threshold`),
    };
  }
  const o = readRecord(raw, path, BASELINE_KEYS);
  const metric = readString(o.metric, `${path}.metric`);
  const drop = optionalNumber(o['max-drop'], `${path}.max-drop`, { min: 0 });
  const dropRel = o['max-drop-relative'] === undefined ? undefined : readFraction(o['max-drop-relative'], `${path}.max-drop-relative`);
  const rise = optionalNumber(o['max-increase'], `${path}.max-increase`, { min: 0 });
  const riseRel =
    o['max-increase-relative'] === undefined ? undefined : readFraction(o['max-increase-relative'], `${path}.max-increase-relative`);
  const declared = o.direction === undefined ? undefined : readEnum(o.direction, `${path}.direction`, ['higher-is-better', 'lower-is-better'] as const);
  const dropping = drop !== undefined || dropRel !== undefined;
  const rising = rise !== undefined || riseRel !== undefined;
  if (dropping && rising) throw configError(path, 'give max-drop* (higher is better) or max-increase* (lower is better), not both');
  if (!dropping && !rising && declared === undefined) {
    throw configError(path, 'needs "op" and "threshold" (an absolute gate) or one of max-drop, max-drop-relative, max-increase, max-increase-relative (a baseline gate)');
  }
  const direction: MetricDirection = declared ?? (dropping ? 'higher-is-better' : 'lower-is-better');
  if ((dropping && direction === 'lower-is-better') || (rising && direction === 'higher-is-better')) {
    throw configError(`${path}.direction`, `${direction} contradicts ${dropping ? 'max-drop' : 'max-increase'}: a drop only hurts a metric where higher is better`);
  }
  const maxChange = drop ?? rise;
  const maxRelativeChange = dropRel ?? riseRel;
  return {
    kind: 'baseline',
    metric,
    direction,
    ...(maxChange === undefined ? {} : { maxChange }),
    ...(maxRelativeChange === undefined ? {} : { maxRelativeChange }),
  };
}

/** A list of metric gates. */
export function parseMetricGates(raw: unknown, path: string): MetricGateConfig[] {
  if (!Array.isArray(raw)) throw configError(path, 'must be a list of gates, e.g. ["accuracy >= 0.92", {metric: auc, max-drop: 0.005}]');
  return raw.map((g, i) => parseMetricGate(g, `${path}[${i}]`));
}

function compare(actual: number, op: ComparisonOperator, threshold: number): boolean {
  switch (op) {
    case '>=':
      return actual >= threshold;
    case '>':
      return actual > threshold;
    case '<=':
      return actual <= threshold;
    case '<':
      return actual < threshold;
    case '==':
      return actual === threshold;
  }
}

/** A metric's number from the first source that has one, or why none does. */
type Lookup = { readonly value: number; readonly source: EvaluationResults } | { readonly why: string };

function lookup(metric: string, sources: readonly EvaluationResults[]): Lookup {
  for (const source of sources) {
    const value = source.metrics.get(metric);
    if (value !== undefined) return { value, source };
  }
  if (sources.length === 0) return { why: `no evaluation results were given for "${metric}"` };
  const reasons = sources.map((s) => {
    const what = s.unusable.get(metric);
    if (what !== undefined) return `${s.source} has ${what} for it`;
    const known = [...s.metrics.keys()];
    const listed = known.length === 0 ? 'no metrics' : `${known.slice(0, 12).join(', ')}${known.length > 12 ? ', …' : ''}`;
    return `${s.source} has ${listed}`;
  });
  return { why: `"${metric}" has no number (${reasons.join('; ')})` };
}

function thresholdGate(g: ThresholdGateConfig, sources: readonly EvaluationResults[]): MetricGateResult {
  const name = `metric: ${g.metric}`;
  const threshold = `${g.op} ${g.threshold}`;
  const found = lookup(g.metric, sources);
  if ('why' in found) {
    return { name, metric: g.metric, passed: false, value: 'missing', threshold, detail: `${found.why}; a gate on a missing metric fails.` };
  }
  const actual = found.value;
  return {
    name,
    metric: g.metric,
    actual,
    passed: compare(actual, g.op, g.threshold),
    value: formatValue(actual),
    threshold,
    detail: `${g.metric} = ${actual} from ${found.source.source}; required ${g.metric} ${g.op} ${g.threshold}.`,
  };
}

function baselineGate(g: BaselineGateConfig, sources: readonly EvaluationResults[], baseline: EvaluationResults | undefined): MetricGateResult {
  const name = `baseline: ${g.metric}`;
  const worse = g.direction === 'higher-is-better' ? 'drop' : 'increase';
  const limits: string[] = [];
  if (g.maxChange !== undefined) limits.push(`${worse} ≤ ${g.maxChange}`);
  if (g.maxRelativeChange !== undefined) limits.push(`${worse} ≤ ${formatValue(g.maxRelativeChange * 100)}% of baseline`);
  if (limits.length === 0) limits.push(`no ${worse}`);
  const threshold = limits.join(' and ');
  const current = lookup(g.metric, sources);
  const base = baseline === undefined ? { why: 'no baseline results were given' } : lookup(g.metric, [baseline]);
  if ('why' in current || 'why' in base) {
    const actual = 'why' in current ? undefined : current.value;
    const baseValue = 'why' in base ? undefined : base.value;
    const why = ['why' in current ? current.why : '', 'why' in base ? `baseline: ${base.why}` : ''].filter((t) => t !== '').join('; ');
    return {
      name,
      metric: g.metric,
      ...(actual === undefined ? {} : { actual }),
      ...(baseValue === undefined ? {} : { baseline: baseValue }),
      passed: false,
      value: `${actual === undefined ? 'missing' : formatValue(actual)} vs ${baseValue === undefined ? 'missing' : formatValue(baseValue)}`,
      threshold,
      detail: `${why}; a gate that cannot compare fails.`,
    };
  }
  const actual = current.value;
  const baseValue = base.value;
  // Worsening in the metric's own units: positive means worse than the baseline.
  const worsening = g.direction === 'higher-is-better' ? baseValue - actual : actual - baseValue;
  // Decimal inputs like 0.975 − 0.970 land a few ulps above 0.005; an exact-limit change must pass.
  const slack = 1e-12 * Math.max(1, Math.abs(baseValue), Math.abs(actual));
  const absolute = g.maxChange ?? (g.maxRelativeChange === undefined ? 0 : Infinity);
  const relative = g.maxRelativeChange === undefined ? Infinity : g.maxRelativeChange * Math.abs(baseValue);
  const limit = Math.min(absolute, relative);
  const delta = actual - baseValue;
  const percent = baseValue !== 0 ? ` (${delta >= 0 ? '+' : ''}${formatValue((delta / Math.abs(baseValue)) * 100)}%)` : '';
  return {
    name,
    metric: g.metric,
    actual,
    baseline: baseValue,
    passed: worsening <= limit + slack,
    value: `${formatValue(actual)} vs ${formatValue(baseValue)}`,
    threshold,
    detail:
      `${g.metric} = ${actual} from ${current.source.source}, ${baseValue} in the baseline ${base.source.source}: ` +
      `change ${delta >= 0 ? '+' : ''}${formatValue(delta)}${percent}; ${g.direction}, so the allowed ${worse} is ${formatValue(limit)}.`,
  };
}

/**
 * Evaluates metric gates. Each metric is read from the first of `sources` that has it as a number
 * (the results file first, then the metrics smoke-eval computed); baseline gates compare with `baseline`.
 */
export function evaluateMetricGates(
  gates: readonly MetricGateConfig[],
  sources: readonly EvaluationResults[],
  baseline?: EvaluationResults,
): MetricGateResult[] {
  return gates.map((g) => (g.kind === 'threshold' ? thresholdGate(g, sources) : baselineGate(g, sources, baseline)));
}
