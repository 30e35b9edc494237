// Drift gates: a reference sample against a current one, feature by feature (CSV columns). Numeric
// features get PSI over reference deciles and the two-sample KS test; categorical ones get PSI over
// categories, Jensen–Shannon distance and a chi-square test. Every result reports effect sizes and a
// p-value, but only an effect size crossing its threshold fails a feature: with 10^5 rows a trivial
// shift is "significant", and that alone must not block a release (Evidently #50).
import type { GateResult } from '@ferry/core';
import {
  categoricalPsi,
  chiSquareHomogeneity,
  jensenShannon,
  ks2SampleSorted,
  psiSorted,
  type ChiSquareResult,
  type JensenShannonResult,
  type KsResult,
} from '@ferry/stats';
import {
  configError,
  isRecord,
  optionalNumber,
  readEnum,
  readInteger,
  readNumber,
  readRecord,
  readString,
  readStringList,
} from './config-reader.js';
import type { CsvTable } from './csv.js';
import { categoricalColumn, looksNumeric, numericColumn, readSampleTable, type FeatureKind } from './drift-data.js';
import { formatCount, formatPValue, formatValue } from './format.js';

export interface DriftFeatureConfig {
  readonly name: string;
  /** Forces the type; by default a column whose reference values are all numbers is numeric. */
  readonly type?: FeatureKind;
  readonly psiThreshold?: number;
  readonly ksThreshold?: number;
  readonly jsThreshold?: number;
}

export interface DriftGateConfig {
  /** CSV (or .tsv) with a header: the sample the model was trained or validated on. */
  readonly reference: string;
  /** CSV with the same columns: the sample to compare (recent serving traffic, a new eval set). */
  readonly current: string;
  /** Features to check; default every reference column not in `exclude`. */
  readonly features?: readonly DriftFeatureConfig[];
  readonly exclude: readonly string[];
  /** Reference-quantile bins for numeric PSI (default 10). */
  readonly bins: number;
  /** A feature fails when PSI ≥ this (default 0.2). */
  readonly psiThreshold: number;
  /** Also fail a numeric feature when the KS statistic D ≥ this (off by default). */
  readonly ksThreshold?: number;
  /** Also fail a categorical feature when the Jensen–Shannon distance (base 2) ≥ this (off by default). */
  readonly jsThreshold?: number;
  /** When set, a feature fails only if, besides an effect size crossing its threshold, p < alpha. */
  readonly alpha?: number;
  /** Fewest non-missing values needed in each sample (default 30); fewer fails the feature. */
  readonly minSamples: number;
}

export interface DriftFeatureResult extends GateResult {
  readonly feature: string;
  readonly kind?: FeatureKind;
  readonly referenceCount: number;
  readonly currentCount: number;
  readonly referenceMissing: number;
  readonly currentMissing: number;
  readonly psi?: number;
  /** KS test (numeric features). */
  readonly ks?: KsResult;
  /** Jensen–Shannon divergence and distance, base 2 (categorical features). */
  readonly jensenShannon?: JensenShannonResult;
  /** Chi-square test of homogeneity (categorical features). */
  readonly chiSquare?: ChiSquareResult;
  /** The p-value reported beside the effect sizes: KS for numeric, chi-square for categorical. */
  readonly pValue?: number;
}

export const DRIFT_DEFAULTS = { bins: 10, psiThreshold: 0.2, minSamples: 30 } as const;

const KEYS = ['reference', 'current', 'features', 'exclude', 'bins', 'psi-threshold', 'ks-threshold', 'js-threshold', 'alpha', 'min-samples'];
const FEATURE_KEYS = ['name', 'type', 'psi-threshold', 'ks-threshold', 'js-threshold'];

function parseFeature(raw: unknown, path: string): DriftFeatureConfig {
  if (typeof raw === 'string') return { name: readString(raw, path) };
  if (!isRecord(raw)) throw configError(path, 'must be a column name or a mapping with "name"');
  const o = readRecord(raw, path, FEATURE_KEYS);
  const psiThreshold = optionalNumber(o['psi-threshold'], `${path}.psi-threshold`, { min: 0, exclusiveMin: true });
  const ksThreshold = optionalNumber(o['ks-threshold'], `${path}.ks-threshold`, { min: 0, max: 1, exclusiveMin: true });
  const jsThreshold = optionalNumber(o['js-threshold'], `${path}.js-threshold`, { min: 0, max: 1, exclusiveMin: true });
  return {
    name: readString(o.name, `${path}.name`),
    ...(o.type === undefined ? {} : { type: readEnum(o.type, `${path}.type`, ['numeric', 'categorical'] as const) }),
    ...(psiThreshold === undefined ? {} : { psiThreshold }),
    ...(ksThreshold === undefined ? {} : { ksThreshold }),
    ...(jsThreshold === undefined ? {} : { jsThreshold }),
  };
}

export function parseDriftGate(raw: unknown, path: string): DriftGateConfig {
  const o = readRecord(raw, path, KEYS);
  let features: DriftFeatureConfig[] | undefined;
  if (o.features !== undefined) {
    if (!Array.isArray(o.features)) throw configError(`${path}.features`, 'must be a list of column names or {name, type, psi-threshold, …}');
    features = o.features.map((f, i) => parseFeature(f, `${path}.features[${i}]`));
    const seen = new Set<string>();
    features.forEach((f, i) => {
      if (seen.has(f.name)) throw configError(`${path}.features[${i}]`, `feature "${f.name}" is listed twice`);
      seen.add(f.name);
    });
  }
  if (features !== undefined && o.exclude !== undefined) throw configError(`${path}.exclude`, 'give "features" (the columns to check) or "exclude" (every column but these), not both');
  const ksThreshold = optionalNumber(o['ks-threshold'], `${path}.ks-threshold`, { min: 0, max: 1, exclusiveMin: true });
  const jsThreshold = optionalNumber(o['js-threshold'], `${path}.js-threshold`, { min: 0, max: 1, exclusiveMin: true });
  const alpha = optionalNumber(o.alpha, `${path}.alpha`, { min: 0, max: 1, exclusiveMin: true });
  return {
    reference: readString(o.reference, `${path}.reference`),
    current: readString(o.current, `${path}.current`),
    ...(features === undefined ? {} : { features }),
    exclude: o.exclude === undefined ? [] : readStringList(o.exclude, `${path}.exclude`),
    bins: o.bins === undefined ? DRIFT_DEFAULTS.bins : readInteger(o.bins, `${path}.bins`, 2),
    psiThreshold: o['psi-threshold'] === undefined ? DRIFT_DEFAULTS.psiThreshold : readNumber(o['psi-threshold'], `${path}.psi-threshold`, { min: 0, exclusiveMin: true }),
    ...(ksThreshold === undefined ? {} : { ksThreshold }),
    ...(jsThreshold === undefined ? {} : { jsThreshold }),
    ...(alpha === undefined ? {} : { alpha }),
    minSamples: o['min-samples'] === undefined ? DRIFT_DEFAULTS.minSamples : readInteger(o['min-samples'], `${path}.min-samples`, 1),
  };
}

interface Limits {
  readonly psi: number;
  readonly ks?: number;
  readonly js?: number;
  readonly alpha?: number;
}

function thresholdText(kind: FeatureKind | undefined, l: Limits): string {
  const parts = [`PSI < ${l.psi}`];
  if (kind !== 'categorical' && l.ks !== undefined) parts.push(`KS D < ${l.ks}`);
  if (kind !== 'numeric' && l.js !== undefined) parts.push(`JS < ${l.js}`);
  if (l.alpha !== undefined) parts.push(`(fails only if p < ${l.alpha})`);
  return parts.join(', ');
}

function counts(ref: number, cur: number): string {
  return `${formatCount(ref)} reference vs ${formatCount(cur)} current values`;
}

function missingNote(refMissing: number, refTotal: number, curMissing: number, curTotal: number): string {
  if (refMissing === 0 && curMissing === 0) return '';
  const pct = (m: number, t: number): string => (t === 0 ? '0%' : `${formatValue((m / t) * 100)}%`);
  return ` Missing cells left out: ${formatCount(refMissing)} in reference (${pct(refMissing, refTotal)}), ${formatCount(curMissing)} in current (${pct(curMissing, curTotal)}).`;
}

/** The verdict sentence shared by both kinds. */
function verdict(crossed: string[], p: number, alpha: number | undefined): { passed: boolean; text: string } {
  const significant = alpha === undefined ? p < 0.05 : p < alpha;
  if (crossed.length === 0) {
    return {
      passed: true,
      text: significant
        ? `The difference is statistically significant (p = ${formatPValue(p)}) but every effect size is below its threshold: no meaningful drift.`
        : 'Every effect size is below its threshold.',
    };
  }
  if (alpha !== undefined && !significant) {
    return { passed: true, text: `${crossed.join('; ')}, but p = ${formatPValue(p)} ≥ ${alpha}: not distinguishable from sampling noise at this sample size.` };
  }
  return { passed: false, text: `Drifted: ${crossed.join('; ')}.` };
}

function judgeFeature(
  feature: DriftFeatureConfig,
  kind: FeatureKind,
  refTable: CsvTable,
  curTable: CsvTable,
  refIndex: number,
  curIndex: number,
  config: DriftGateConfig,
): DriftFeatureResult {
  const ksLimit = feature.ksThreshold ?? config.ksThreshold;
  const jsLimit = feature.jsThreshold ?? config.jsThreshold;
  const limits: Limits = {
    psi: feature.psiThreshold ?? config.psiThreshold,
    ...(ksLimit === undefined ? {} : { ks: ksLimit }),
    ...(jsLimit === undefined ? {} : { js: jsLimit }),
    ...(config.alpha === undefined ? {} : { alpha: config.alpha }),
  };
  const name = `drift: ${feature.name}`;
  const threshold = thresholdText(kind, limits);
  const tooFew = (refCount: number, curCount: number, refMissing: number, curMissing: number): DriftFeatureResult | undefined =>
    refCount < config.minSamples || curCount < config.minSamples
      ? {
          name,
          feature: feature.name,
          kind,
          referenceCount: refCount,
          currentCount: curCount,
          referenceMissing: refMissing,
          currentMissing: curMissing,
          passed: false,
          value: 'too few values',
          threshold,
          detail: `${counts(refCount, curCount)}; at least ${config.minSamples} non-missing values are needed in each to judge drift.`,
        }
      : undefined;

  if (kind === 'numeric') {
    const ref = numericColumn(refTable, refIndex, true);
    const cur = numericColumn(curTable, curIndex, false);
    const base = {
      name,
      feature: feature.name,
      kind,
      referenceCount: ref.values.length,
      currentCount: cur.values.length,
      referenceMissing: ref.missing,
      currentMissing: cur.missing,
      threshold,
    };
    if (cur.invalid > 0) {
      const first = cur.firstInvalid;
      return {
        ...base,
        passed: false,
        value: `${formatCount(cur.invalid)} non-numbers`,
        detail: `"${feature.name}" is numeric in the reference, but ${formatCount(cur.invalid)} current values are not numbers${first ? ` (first: ${JSON.stringify(first.text)} at ${curTable.file}:${first.line})` : ''}: the column changed type.`,
      };
    }
    const few = tooFew(ref.values.length, cur.values.length, ref.missing, cur.missing);
    if (few) return few;
    const refSorted = ref.values.slice().sort();
    const curSorted = cur.values.slice().sort();
    const psi = psiSorted(refSorted, curSorted, { bins: config.bins }).psi;
    const ks = ks2SampleSorted(refSorted, curSorted);
    const crossed: string[] = [];
    if (psi >= limits.psi) crossed.push(`PSI ${formatValue(psi)} ≥ ${limits.psi}`);
    if (limits.ks !== undefined && ks.statistic >= limits.ks) crossed.push(`KS D ${formatValue(ks.statistic)} ≥ ${limits.ks}`);
    const v = verdict(crossed, ks.pValue, limits.alpha);
    return {
      ...base,
      psi,
      ks,
      pValue: ks.pValue,
      passed: v.passed,
      value: `PSI ${formatValue(psi)}, KS D ${formatValue(ks.statistic)} (p ${formatPValue(ks.pValue)})`,
      detail:
        `Numeric, ${counts(ref.values.length, cur.values.length)}. PSI ${formatValue(psi)} over ${config.bins} bins at reference quantiles; ` +
        `two-sample KS D = ${formatValue(ks.statistic)}, p = ${formatPValue(ks.pValue)} (${ks.method}). ${v.text}` +
        missingNote(ref.missing, refTable.rows.length, cur.missing, curTable.rows.length),
    };
  }

  const ref = categoricalColumn(refTable, refIndex);
  const cur = categoricalColumn(curTable, curIndex);
  const base = {
    name,
    feature: feature.name,
    kind,
    referenceCount: ref.total,
    currentCount: cur.total,
    referenceMissing: ref.missing,
    currentMissing: cur.missing,
    threshold,
  };
  const few = tooFew(ref.total, cur.total, ref.missing, cur.missing);
  if (few) return few;
  const psiResult = categoricalPsi(ref.counts, cur.counts);
  const js = jensenShannon(ref.counts, cur.counts);
  const chi = chiSquareHomogeneity(ref.counts, cur.counts);
  const crossed: string[] = [];
  if (psiResult.psi >= limits.psi) crossed.push(`PSI ${formatValue(psiResult.psi)} ≥ ${limits.psi}`);
  if (limits.js !== undefined && js.distance >= limits.js) crossed.push(`JS distance ${formatValue(js.distance)} ≥ ${limits.js}`);
  const unseen = [...cur.counts.keys()].filter((k) => !ref.counts.has(k));
  const v = verdict(crossed, chi.pValue, limits.alpha);
  return {
    ...base,
    psi: psiResult.psi,
    jensenShannon: js,
    chiSquare: chi,
    pValue: chi.pValue,
    passed: v.passed,
    value: `PSI ${formatValue(psiResult.psi)}, JS ${formatValue(js.distance)} (p ${formatPValue(chi.pValue)})`,
    detail:
      `Categorical (${psiResult.categories.length} categories), ${counts(ref.total, cur.total)}. PSI ${formatValue(psiResult.psi)} over categories; ` +
      `Jensen–Shannon distance ${formatValue(js.distance)} (divergence ${formatValue(js.divergence)} bits); ` +
      `chi-square ${formatValue(chi.statistic)} on ${chi.dof} df, p = ${formatPValue(chi.pValue)}. ${v.text}` +
      (unseen.length > 0 ? ` New in current: ${unseen.slice(0, 5).map((u) => JSON.stringify(u)).join(', ')}${unseen.length > 5 ? ', …' : ''}.` : '') +
      missingNote(ref.missing, refTable.rows.length, cur.missing, curTable.rows.length),
  };
}

/** Evaluates the drift gate: one result per feature, read from the two CSV files (paths relative to cwd). */
export async function evaluateDriftGate(config: DriftGateConfig, options: { readonly cwd: string; readonly path?: string }): Promise<DriftFeatureResult[]> {
  const path = options.path ?? 'validate-model.gates.drift';
  const refTable = await readSampleTable(config.reference, 'drift reference sample', options.cwd);
  const curTable = await readSampleTable(config.current, 'drift current sample', options.cwd);
  const features: DriftFeatureConfig[] = config.features
    ? [...config.features]
    : refTable.header.filter((h) => !config.exclude.includes(h)).map((name) => ({ name }));
  if (features.length === 0) throw configError(`${path}.exclude`, `no features left to check: ${config.reference} has only ${refTable.header.join(', ')}`);
  return features.map((feature, i) => {
    const refIndex = refTable.header.indexOf(feature.name);
    if (refIndex < 0) {
      throw configError(`${path}.features[${i}]`, `column "${feature.name}" is not in the reference sample ${config.reference} (columns: ${refTable.header.join(', ')})`);
    }
    const curIndex = curTable.header.indexOf(feature.name);
    if (curIndex < 0) {
      return {
        name: `drift: ${feature.name}`,
        feature: feature.name,
        referenceCount: refTable.rows.length,
        currentCount: 0,
        referenceMissing: 0,
        currentMissing: 0,
        passed: false,
        value: 'column missing',
        threshold: thresholdText(feature.type, { psi: feature.psiThreshold ?? config.psiThreshold }),
        detail: `column "${feature.name}" is in the reference sample but not in the current one (${config.current}); a feature that cannot be compared fails.`,
      };
    }
    const kind = feature.type ?? (looksNumeric(refTable, refIndex) ? 'numeric' : 'categorical');
    return judgeFeature(feature, kind, refTable, curTable, refIndex, curIndex, config);
  });
}
