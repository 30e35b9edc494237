// The judge's configuration with every default filled in and every value checked (InputError
// naming the metric and the field).
import { InputError } from '@ferry/core';
import type {
  Direction,
  ErrorRateMetricConfig,
  JudgeConfig,
  LatencyMetricConfig,
  MetricConfig,
  MissingPolicy,
  QualityMetricConfig,
  SloMetricConfig,
  SloObjective,
} from './types.js';

export const JUDGE_DEFAULTS = {
  alpha: 0.01,
  power: 0.9,
  maxExtensions: 2,
  missing: 'extend' as MissingPolicy,
  latency: { floorRelative: 0.1, floorAbsoluteMs: 0.5, tails: [95] as readonly number[], minSamples: 50 },
  errorRate: { floorAbsolute: 0.005, floorRelative: 0, errorCodes: ['5xx'] as readonly string[], minSamples: 100 },
  slo: { confidence: 0.95, minBad: 10 },
  quality: { minAgreement: 0.99, maxPsi: 0.2, psiBins: 10, minSamples: 100 },
} as const;

interface Common {
  readonly name: string;
  readonly source: string;
  readonly missing: MissingPolicy;
}

export interface ResolvedLatency extends Common {
  readonly kind: 'latency';
  readonly direction: Direction;
  readonly floorRelative: number;
  readonly floorAbsoluteMs: number;
  readonly detect: number;
  readonly tails: readonly number[];
  readonly minSamples: number;
}

export interface ResolvedErrorRate extends Common {
  readonly kind: 'error-rate';
  readonly direction: Direction;
  readonly floorAbsolute: number;
  readonly floorRelative: number;
  readonly detect: number;
  readonly errorCodes: readonly string[];
  readonly minSamples: number;
}

export interface ResolvedSlo extends Common {
  readonly kind: 'slo';
  readonly objective: SloObjective;
  readonly confidence: number;
  readonly errorCodes: readonly string[];
  /** The configured absolute minimum (0 when none). */
  readonly minSamples: number;
}

export interface ResolvedQuality extends Common {
  readonly kind: 'quality';
  readonly minAgreement: number;
  readonly detect: number;
  readonly maxPsi: number | null;
  readonly psiBins: number;
  readonly maxScoreDeltaP95: number | null;
  readonly minSamples: number;
}

export type ResolvedMetric = ResolvedLatency | ResolvedErrorRate | ResolvedSlo | ResolvedQuality;

export interface ResolvedConfig {
  readonly alpha: number;
  readonly power: number;
  readonly maxExtensions: number;
  readonly metrics: readonly ResolvedMetric[];
  /** Statistical checks sharing alpha. */
  readonly tests: number;
}

const DIRECTIONS: readonly Direction[] = ['higher-is-worse', 'lower-is-worse', 'either'];
const POLICIES: readonly MissingPolicy[] = ['fail', 'extend', 'inconclusive'];

function bad(where: string, message: string): never {
  throw new InputError(`canary judge: ${where}: ${message}`, { subject: where });
}

function num(where: string, field: string, v: unknown, ok: (x: number) => boolean, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) bad(where, `${field} must be ${what}, got ${JSON.stringify(v) ?? String(v)}`);
  return v;
}

const inOpenUnit = (x: number): boolean => x > 0 && x < 1;
const nonNegative = (x: number): boolean => x >= 0;
const positive = (x: number): boolean => x > 0;
const count = (x: number): boolean => Number.isInteger(x) && x >= 0;

function common(m: MetricConfig, where: string): Common {
  if (typeof m.name !== 'string' || m.name === '') bad(where, 'name must be a non-empty string');
  const missing = m.missing ?? JUDGE_DEFAULTS.missing;
  if (!POLICIES.includes(missing)) bad(where, `missing must be one of ${POLICIES.join(', ')}, got ${JSON.stringify(missing)}`);
  const source = m.source ?? m.name;
  if (typeof source !== 'string' || source === '') bad(where, 'source must be a non-empty string');
  return { name: m.name, source, missing };
}

function direction(where: string, d: Direction | undefined): Direction {
  const v = d ?? 'higher-is-worse';
  if (!DIRECTIONS.includes(v)) bad(where, `direction must be one of ${DIRECTIONS.join(', ')}, got ${JSON.stringify(d)}`);
  return v;
}

function errorCodes(where: string, codes: readonly string[] | undefined): readonly string[] {
  const v = codes ?? JUDGE_DEFAULTS.errorRate.errorCodes;
  if (!Array.isArray(v) || v.length === 0 || !v.every((c) => typeof c === 'string' && /^[1-5][0-9x]{2}$/i.test(c))) {
    bad(where, `errorCodes must be status codes or classes like "5xx", "429", got ${JSON.stringify(codes)}`);
  }
  return v.map((c) => c.toLowerCase());
}

function latency(m: LatencyMetricConfig, where: string): ResolvedLatency {
  const d = JUDGE_DEFAULTS.latency;
  const floorRelative = num(where, 'floor.relative', m.floor?.relative ?? d.floorRelative, nonNegative, 'a number ≥ 0');
  const floorAbsoluteMs = num(where, 'floor.absoluteMs', m.floor?.absoluteMs ?? d.floorAbsoluteMs, nonNegative, 'a number ≥ 0');
  const detect = num(where, 'detect', m.detect ?? (floorRelative > 0 ? 2 * floorRelative : 0.2), positive, 'a relative slow-down > 0');
  const tails = m.tails ?? d.tails;
  if (!Array.isArray(tails) || !tails.every((q) => typeof q === 'number' && q > 50 && q < 100)) bad(where, `tails must be percentiles in (50, 100), got ${JSON.stringify(tails)}`);
  const dir = direction(where, m.direction);
  return {
    kind: 'latency',
    ...common(m, where),
    direction: dir,
    floorRelative,
    floorAbsoluteMs,
    detect,
    // A faster canary has no slow tail to test.
    tails: dir === 'lower-is-worse' ? [] : [...new Set(tails)].sort((a, b) => a - b),
    minSamples: num(where, 'minSamples', m.minSamples ?? d.minSamples, count, 'an integer ≥ 0'),
  };
}

function errorRate(m: ErrorRateMetricConfig, where: string): ResolvedErrorRate {
  const d = JUDGE_DEFAULTS.errorRate;
  const floorAbsolute = num(where, 'floor.absolute', m.floor?.absolute ?? d.floorAbsolute, (x) => x >= 0 && x < 1, 'a rate in [0, 1)');
  const floorRelative = num(where, 'floor.relative', m.floor?.relative ?? d.floorRelative, nonNegative, 'a number ≥ 0');
  return {
    kind: 'error-rate',
    ...common(m, where),
    direction: direction(where, m.direction),
    floorAbsolute,
    floorRelative,
    detect: num(where, 'detect', m.detect ?? (floorAbsolute > 0 ? 2 * floorAbsolute : 0.01), inOpenUnit, 'a rate difference in (0, 1)'),
    errorCodes: errorCodes(where, m.errorCodes),
    minSamples: num(where, 'minSamples', m.minSamples ?? d.minSamples, count, 'an integer ≥ 0'),
  };
}

function slo(m: SloMetricConfig, where: string): ResolvedSlo {
  const o = m.objective as Partial<{ percentile: number; maxMs: number; maxErrorRate: number }> | undefined;
  if (!o || typeof o !== 'object') bad(where, 'objective must be { percentile, maxMs } or { maxErrorRate }');
  if ('maxErrorRate' in o) num(where, 'objective.maxErrorRate', o.maxErrorRate, inOpenUnit, 'a rate in (0, 1)');
  else {
    num(where, 'objective.percentile', o.percentile, (x) => x > 0 && x < 100, 'a percentile in (0, 100)');
    num(where, 'objective.maxMs', o.maxMs, positive, 'a number of ms > 0');
  }
  return {
    kind: 'slo',
    ...common(m, where),
    objective: m.objective,
    confidence: num(where, 'confidence', m.confidence ?? JUDGE_DEFAULTS.slo.confidence, inOpenUnit, 'in (0, 1)'),
    errorCodes: errorCodes(where, m.errorCodes),
    minSamples: num(where, 'minSamples', m.minSamples ?? 0, count, 'an integer ≥ 0'),
  };
}

function quality(m: QualityMetricConfig, where: string): ResolvedQuality {
  const d = JUDGE_DEFAULTS.quality;
  const minAgreement = num(where, 'minAgreement', m.minAgreement ?? d.minAgreement, inOpenUnit, 'in (0, 1)');
  const detect = num(where, 'detect', m.detect ?? 1 - minAgreement, (x) => x > 0 && x < minAgreement, `in (0, ${minAgreement})`);
  const maxPsi = m.maxPsi === null ? null : num(where, 'maxPsi', m.maxPsi ?? d.maxPsi, positive, 'a number > 0 (or null)');
  return {
    kind: 'quality',
    ...common(m, where),
    minAgreement,
    detect,
    maxPsi,
    psiBins: num(where, 'psiBins', m.psiBins ?? d.psiBins, (x) => Number.isInteger(x) && x >= 2, 'an integer ≥ 2'),
    maxScoreDeltaP95: m.maxScoreDeltaP95 === undefined ? null : num(where, 'maxScoreDeltaP95', m.maxScoreDeltaP95, positive, 'a number > 0'),
    minSamples: num(where, 'minSamples', m.minSamples ?? d.minSamples, count, 'an integer ≥ 0'),
  };
}

/** Statistical checks of a metric: they share the family's alpha. */
export function testsOf(m: ResolvedMetric): number {
  switch (m.kind) {
    case 'latency':
      return 1 + m.tails.length;
    case 'error-rate':
    case 'quality':
      return 1;
    case 'slo':
      return 0;
  }
}

export function resolveConfig(config: JudgeConfig): ResolvedConfig {
  if (!config || typeof config !== 'object' || !Array.isArray(config.metrics)) bad('config', 'metrics must be an array');
  if (config.metrics.length === 0) bad('config', 'metrics is empty: a judge with nothing to check would pass anything');
  const alpha = num('config', 'alpha', config.alpha ?? JUDGE_DEFAULTS.alpha, (x) => x > 0 && x < 0.5, 'in (0, 0.5)');
  const power = num('config', 'power', config.power ?? JUDGE_DEFAULTS.power, (x) => x >= 0.5 && x < 1, 'in [0.5, 1)');
  const maxExtensions = num('config', 'maxExtensions', config.maxExtensions ?? JUDGE_DEFAULTS.maxExtensions, count, 'an integer ≥ 0');
  const names = new Set<string>();
  const metrics = config.metrics.map((m, i) => {
    const where = `metrics[${i}]${typeof m?.name === 'string' ? ` ("${m.name}")` : ''}`;
    if (!m || typeof m !== 'object') bad(where, 'must be an object');
    if (names.has(m.name)) bad(where, `name "${m.name}" is used twice`);
    names.add(m.name);
    switch (m.kind) {
      case 'latency':
        return latency(m, where);
      case 'error-rate':
        return errorRate(m, where);
      case 'slo':
        return slo(m, where);
      case 'quality':
        return quality(m, where);
      default:
        return bad(where, `kind must be latency, error-rate, slo or quality, got ${JSON.stringify((m as { kind?: unknown }).kind)}`);
    }
  });
  return { alpha, power, maxExtensions, metrics, tests: metrics.reduce((a, m) => a + testsOf(m), 0) };
}
