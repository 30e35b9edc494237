// Fairness gates over per-slice results: the largest gap in a metric between groups (max − min) and
// the worst-to-best ratio (min/max, e.g. the four-fifths rule at 0.8), reporting every group's value.
// Groups are the slices named `<by>=<value>` (e.g. sex=female), or an explicit list of slices.
import type { GateResult } from '@ferry/core';
import { configError, optionalNumber, readInteger, readRecord, readString, readStringList } from './config-reader.js';
import { formatValue } from './format.js';
import type { EvaluationResults } from './results.js';

export interface FairnessGateConfig {
  readonly metric: string;
  /** Attribute whose slices form the groups: slices named `<by>=<value>`. */
  readonly by?: string;
  /** Explicit slice names forming the groups (instead of `by`); all slices when neither is given. */
  readonly slices?: readonly string[];
  /** Largest allowed max − min across groups. */
  readonly maxGap?: number;
  /** Smallest allowed min/max across groups (0.8 is the four-fifths rule). */
  readonly minRatio?: number;
  /** Fewest groups needed to judge (default 2): fewer fails the gate. */
  readonly minGroups: number;
}

export interface FairnessGateResult extends GateResult {
  readonly metric: string;
  /** Each group's value of the metric; a group without a number is listed in `missingGroups`. */
  readonly groups: Readonly<Record<string, number>>;
  readonly missingGroups: readonly string[];
  readonly gap?: number;
  readonly ratio?: number;
}

const KEYS = ['metric', 'by', 'slices', 'max-gap', 'min-ratio', 'min-groups'];

export function parseFairnessGate(raw: unknown, path: string): FairnessGateConfig {
  const o = readRecord(raw, path, KEYS);
  const by = o.by === undefined ? undefined : readString(o.by, `${path}.by`);
  const slices = o.slices === undefined ? undefined : readStringList(o.slices, `${path}.slices`);
  if (by !== undefined && slices !== undefined) throw configError(path, 'give "by" (an attribute) or "slices" (a list), not both');
  const maxGap = optionalNumber(o['max-gap'], `${path}.max-gap`, { min: 0 });
  const minRatio = optionalNumber(o['min-ratio'], `${path}.min-ratio`, { min: 0, max: 1 });
  if (maxGap === undefined && minRatio === undefined) throw configError(path, 'needs "max-gap", "min-ratio" or both');
  return {
    metric: readString(o.metric, `${path}.metric`),
    ...(by === undefined ? {} : { by }),
    ...(slices === undefined ? {} : { slices }),
    ...(maxGap === undefined ? {} : { maxGap }),
    ...(minRatio === undefined ? {} : { minRatio }),
    minGroups: o['min-groups'] === undefined ? 2 : readInteger(o['min-groups'], `${path}.min-groups`, 2),
  };
}

export function parseFairnessGates(raw: unknown, path: string): FairnessGateConfig[] {
  if (!Array.isArray(raw)) throw configError(path, 'must be a list of gates, e.g. [{metric: accuracy, by: sex, max-gap: 0.05}]');
  return raw.map((g, i) => parseFairnessGate(g, `${path}[${i}]`));
}

/** The slice names that form the groups of a gate. */
function groupNames(g: FairnessGateConfig, results: EvaluationResults): string[] {
  if (g.slices !== undefined) return [...g.slices];
  const all = [...results.slices.keys()];
  if (g.by === undefined) return all;
  const prefix = `${g.by}=`;
  return all.filter((s) => s.startsWith(prefix));
}

function gateName(g: FairnessGateConfig): string {
  return `fairness: ${g.metric}${g.by === undefined ? '' : ` by ${g.by}`}`;
}

function evaluateOne(g: FairnessGateConfig, results: EvaluationResults): FairnessGateResult {
  const limits: string[] = [];
  if (g.maxGap !== undefined) limits.push(`gap ≤ ${g.maxGap}`);
  if (g.minRatio !== undefined) limits.push(`ratio ≥ ${g.minRatio}`);
  const threshold = limits.join(', ');
  const names = groupNames(g, results);
  const groups: Record<string, number> = {};
  const missingGroups: string[] = [];
  for (const name of names) {
    const v = results.slices.get(name)?.get(g.metric);
    if (v === undefined) missingGroups.push(name);
    else groups[name] = v;
  }
  const listing = Object.entries(groups)
    .map(([k, v]) => `${k}: ${formatValue(v)}`)
    .join(', ');
  const base = { name: gateName(g), metric: g.metric, groups, missingGroups, threshold };
  const selection = g.slices !== undefined ? 'the listed slices' : g.by !== undefined ? `slices named "${g.by}=…"` : 'all slices';
  if (missingGroups.length > 0) {
    return {
      ...base,
      passed: false,
      value: 'missing',
      detail: `${g.metric} has no number for ${missingGroups.map((s) => `"${s}"`).join(', ')} in ${results.source}${listing ? ` (others: ${listing})` : ''}; a group without data fails the gate.`,
    };
  }
  const values = Object.values(groups);
  if (values.length < g.minGroups) {
    return {
      ...base,
      passed: false,
      value: `${values.length} group${values.length === 1 ? '' : 's'}`,
      detail: `found ${values.length} group${values.length === 1 ? '' : 's'} (${selection}) in ${results.source}${listing ? `: ${listing}` : ''}; at least ${g.minGroups} are needed to compare.`,
    };
  }
  const max = Math.max(...values);
  const min = Math.min(...values);
  const gap = max - min;
  // min/max is "worst over best" for a higher-is-better metric and "best over worst" for a
  // lower-is-better one; either way 1 is parity. It needs non-negative values (rates, scores).
  const ratio = min < 0 ? NaN : max === 0 ? 1 : min / max;
  const worst = Object.keys(groups).find((k) => groups[k] === min) as string;
  const best = Object.keys(groups).find((k) => groups[k] === max) as string;
  const slack = 1e-12 * Math.max(1, Math.abs(max));
  const gapOk = g.maxGap === undefined || gap <= g.maxGap + slack;
  const ratioOk = g.minRatio === undefined || (!Number.isNaN(ratio) && ratio >= g.minRatio - 1e-12);
  const measured = [`gap ${formatValue(gap)}`, `ratio ${Number.isNaN(ratio) ? 'n/a' : formatValue(ratio)}`];
  const notes: string[] = [];
  if (!gapOk) notes.push(`the gap between ${best} and ${worst} exceeds ${g.maxGap}`);
  if (!ratioOk) notes.push(Number.isNaN(ratio) ? 'the ratio needs non-negative values' : `the ratio ${worst}/${best} is below ${g.minRatio}`);
  return {
    ...base,
    gap,
    ...(Number.isNaN(ratio) ? {} : { ratio }),
    passed: gapOk && ratioOk,
    value: measured.join(', '),
    detail: `${g.metric} per group (${selection}, ${values.length} groups) from ${results.source}: ${listing}. Largest ${formatValue(max)} (${best}), smallest ${formatValue(min)} (${worst}).${notes.length ? ` Fails: ${notes.join('; ')}.` : ''}`,
  };
}

/** Evaluates fairness gates on per-slice results. */
export function evaluateFairnessGates(gates: readonly FairnessGateConfig[], results: EvaluationResults): FairnessGateResult[] {
  return gates.map((g) => evaluateOne(g, results));
}
