// The figures of the HTML pipeline report: what report.json holds for a candidate (the benchmark's
// results file, GPU telemetry, the canary's decision log and the judge at every look) shaped into
// the charts of svg-charts.ts.
import { LatencyHistogram, type BenchmarkFile, type GpuReadiness, type GpuTelemetry, type SerializedHistogram } from '@ferry/bench';
import type { CheckRow, Judgement } from '@ferry/rollout';
import type { CandidateRun } from './pipeline-run.js';
import { categoryChart, escapeHtml, histogramChart, intervalChart, lineChart, tickLabel, type HistogramBin, type IntervalRow } from './svg-charts.js';

/** The percentiles drawn and tabled for every load point. */
export const CHART_PERCENTILES = ['p50', 'p90', 'p95', 'p99'] as const;

const MAX_BINS = 40;

/** report.json keeps the results file as written; an older or foreign one may lack any part of it. */
function benchmarkFile(run: CandidateRun): BenchmarkFile | undefined {
  const b = run.benchmark as Partial<BenchmarkFile> | undefined;
  return b?.load && Array.isArray(b.load.points) ? (b as BenchmarkFile) : undefined;
}

/** The HDR histogram's buckets summed into at most MAX_BINS equal-width bins (only non-empty ones). */
export function latencyBins(serialized: SerializedHistogram): HistogramBin[] {
  const h = LatencyHistogram.fromJSON(serialized);
  const lo = h.min();
  const hi = h.max();
  if (lo === undefined || hi === undefined) return [];
  const width = hi > lo ? (hi - lo) / MAX_BINS : 1;
  const counts = new Map<number, number>();
  h.forEachBucket((low, high, count) => {
    const i = Math.min(MAX_BINS - 1, Math.max(0, Math.floor(((low + high) / 2 - lo) / width)));
    counts.set(i, (counts.get(i) ?? 0) + count);
  });
  return [...counts.entries()].sort(([a], [b]) => a - b).map(([i, count]) => ({ low: lo + i * width, high: lo + (i + 1) * width, count }));
}

const msText = (v: number): string => `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ms`;

function table(columns: readonly string[], rows: readonly (readonly string[])[], attrs = ''): string {
  return `<table${attrs}><thead><tr>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** Latency distribution, percentiles and throughput per window for each load point of the benchmark. */
export function benchmarkFigures(run: CandidateRun, idPrefix: string): string {
  const file = benchmarkFile(run);
  if (!file) return '<p class="note">No benchmark results: the run stopped before the benchmark finished.</p>';
  const maxP95 = Number(run.steps.find((s) => s.step === 'benchmark-on-gpu-runner')?.inputs?.['max-p95-ms']);
  const out: string[] = [];
  file.load.points.forEach((point, i) => {
    const at = point.load.mode === 'open' ? `${point.load.rate} req/s open loop` : `${String((point.load as { concurrency?: number }).concurrency ?? '?')} users closed loop`;
    const corrected = point.summary.latencyMs.corrected;
    const name = (what: string): string => `${idPrefix}-${what}-${i}`;
    out.push(`<h4>Load point ${i + 1}: ${escapeHtml(at)}</h4>`);
    out.push(
      table(
        ['requests', 'ok', 'failed', 'throughput', 'error rate', 'mean', 'p50', 'p90', 'p95', 'p99', 'p99.9', 'max'],
        [[String(point.summary.requests.sent), String(point.summary.requests.ok), String(point.summary.requests.failed), `${point.summary.throughput.toFixed(1)} req/s`, `${(point.summary.errorRate * 100).toFixed(2)}%`, ...[corrected.mean, corrected.p50, corrected.p90, corrected.p95, corrected.p99, corrected.p999, corrected.max].map((v) => (v === undefined ? '–' : msText(v)))]],
        ' class="figures"',
      ),
    );
    const bins = latencyBins(point.histograms.corrected);
    const percentiles = CHART_PERCENTILES.map((p) => ({ label: p, value: corrected[p] })).filter((p): p is { label: (typeof CHART_PERCENTILES)[number]; value: number } => p.value !== undefined);
    out.push('<div class="charts">');
    if (bins.length > 0) {
      out.push(
        histogramChart({
          name: name('latency-histogram'),
          title: `Latency distribution (${corrected.count} requests, from intended send time)`,
          xLabel: 'latency (ms)',
          yLabel: 'requests',
          bins,
          markers: percentiles.filter((p) => p.label !== 'p90').map((p) => ({ value: p.value, label: p.label })),
        }),
      );
      // An SLO far above the figures would flatten them against the axis: then it is named, not drawn.
      const top = Math.max(0, ...percentiles.map((p) => p.value));
      const slo = Number.isFinite(maxP95) && maxP95 > 0 ? maxP95 : undefined;
      const drawSlo = slo !== undefined && slo <= top * 2.5;
      out.push(
        categoryChart({
          name: name('latency-percentiles'),
          title: `Latency percentiles (ms)${slo !== undefined && !drawSlo ? `; the SLO p95 ≤ ${slo} ms is off the scale` : ''}`,
          xLabel: 'percentile',
          yLabel: 'ms',
          kind: 'points',
          values: percentiles.map((p) => ({ label: p.label, value: p.value, title: `${p.label}: ${msText(p.value)}` })),
          ...(drawSlo ? { limit: { value: slo, label: `SLO p95 ≤ ${slo} ms` } } : {}),
        }),
      );
    }
    const windows = point.repeats.flatMap((r) => r.windows.map((w) => ({ repeat: r.repeat, w })));
    if (windows.length > 0) {
      const several = point.repeats.length > 1;
      out.push(
        categoryChart({
          name: name('throughput'),
          title: `Throughput per ${Math.round((windows[0]!.w.durationMs ?? 0) / 100) / 10} s window (successful responses per second)`,
          xLabel: 'window',
          yLabel: 'req/s',
          kind: 'bars',
          values: windows.map(({ repeat, w }) => ({ label: several ? `r${repeat + 1}·w${w.index + 1}` : `w${w.index + 1}`, value: w.summary.throughput, title: `window ${w.index + 1}: ${w.summary.throughput.toFixed(1)} req/s, p95 ${msText(w.summary.latencyMs.corrected.p95 ?? 0)}, errors ${(w.summary.errorRate * 100).toFixed(1)}%` })),
        }),
      );
    }
    out.push('</div>');
  });
  return out.join('');
}

/** Utilisation and power over the benchmark per GPU, or one line saying no GPU was sampled and why. */
export function gpuFigures(run: CandidateRun, idPrefix: string): string {
  const file = benchmarkFile(run);
  const readiness = file?.gpu?.readiness as GpuReadiness | undefined;
  const telemetry = file?.gpu?.telemetry as GpuTelemetry | undefined;
  const sampled = (telemetry?.gpus ?? []).filter((g) => g.series.length > 0);
  if (sampled.length === 0) {
    const why = readiness && !readiness.available ? `: ${readiness.reason ?? 'no GPU found'}` : file ? '' : ': the run stopped before the benchmark';
    return `<p class="note no-gpu">No GPU was sampled${escapeHtml(why)}.</p>`;
  }
  const out: string[] = [];
  for (const g of sampled) {
    const who = `GPU ${g.gpu}${g.name ? ` (${g.name})` : ''}`;
    const util = g.series.filter((p) => p.utilizationPct !== undefined).map((p) => ({ x: p.tS, y: p.utilizationPct! }));
    const power = g.series.filter((p) => p.powerW !== undefined).map((p) => ({ x: p.tS, y: p.powerW! }));
    out.push('<div class="charts">');
    if (util.length > 0) out.push(lineChart({ name: `${idPrefix}-gpu-util-${g.gpu}`, title: `${who}: utilisation (%)`, xLabel: 'time (s)', yLabel: '%', yDomain: [0, 100], series: [{ label: 'utilisation', cls: 'util', points: util }] }));
    if (power.length > 0) out.push(lineChart({ name: `${idPrefix}-gpu-power-${g.gpu}`, title: `${who}: power (W)`, xLabel: 'time (s)', yLabel: 'W', series: [{ label: 'power', cls: 'power', points: power }] }));
    out.push('</div>');
  }
  return out.join('');
}

export interface LookRecord {
  readonly step: number;
  readonly weights: { readonly stable: number; readonly canary: number };
  readonly judgement: Judgement;
}

export function looksOf(run: CandidateRun): LookRecord[] {
  const looks = run.canary?.looks;
  return Array.isArray(looks) ? (looks as LookRecord[]).filter((l) => Array.isArray(l?.judgement?.rows)) : [];
}

/** The canary weight at every entry of the decision log, as a step line over the rollout's seconds. */
export function weightsFigure(run: CandidateRun, idPrefix: string): string {
  const decisions = run.canary?.decisions ?? [];
  if (decisions.length === 0) return '';
  const t0 = Date.parse(decisions[0]!.at);
  const points = decisions.map((d) => ({ x: (Date.parse(d.at) - t0) / 1000, y: d.canary, title: `${d.action} at ${((Date.parse(d.at) - t0) / 1000).toFixed(1)} s: canary ${d.canary}%` }));
  return lineChart({ name: `${idPrefix}-canary-weights`, title: 'Canary weight (%) at each entry of the decision log', xLabel: 'seconds since the rollout started', yLabel: 'canary %', yDomain: [0, 100], step: true, series: [{ label: `canary ${run.version}`, cls: 'canary', points }] });
}

export function formatValue(v: number | null, unit: CheckRow['unit']): string {
  if (v === null) return '–';
  if (unit === 'ms') return msText(v);
  if (unit === 'fraction') return `${(v * 100).toFixed(v !== 0 && Math.abs(v) < 0.01 ? 2 : 1)}%`;
  return tickLabel(v);
}

/** A check as drawn: the effect against ± its floor, or the canary's value against its limit. */
export function intervalRow(row: CheckRow): IntervalRow {
  const format = (v: number): string => formatValue(v, row.unit);
  const bounded = row.interval !== null;
  if (row.floor) {
    const t = row.floor.threshold;
    return {
      label: row.title,
      point: row.effect,
      lower: row.interval?.lower ?? null,
      upper: row.interval?.upper ?? null,
      hasInterval: bounded,
      refs: [
        { value: 0, label: 'no change', cls: 'zero' },
        { value: -t, label: `−${format(t)}`, cls: 'floor' },
        { value: t, label: `+${format(t)}`, cls: 'floor' },
      ],
      outcome: row.outcome,
      format,
    };
  }
  return {
    label: row.title,
    point: row.canary ?? row.effect,
    lower: row.interval?.lower ?? null,
    upper: row.interval?.upper ?? null,
    hasInterval: bounded,
    refs: row.limit ? [{ value: row.limit.limit, label: `limit ${format(row.limit.limit)}`, cls: 'limit' }] : [],
    outcome: row.outcome,
    format,
  };
}

/** The judge at one look: each check's interval chart, then its numbers with stable against canary. */
export function lookFigure(look: LookRecord, index: number, idPrefix: string): string {
  const j = look.judgement;
  const ext = j.look.extension > 0 ? `, extension ${j.look.extension}` : '';
  const title = `Step ${look.step} (canary ${look.weights.canary}%), look ${j.look.index} of ${j.look.count}${ext}: ${j.decision}`;
  const intervalText = (r: CheckRow): string => {
    if (!r.interval) return '–';
    const end = (v: number | null): string => (v === null ? '∞' : formatValue(v, r.unit));
    return `[${r.interval.lower === null ? '−∞' : end(r.interval.lower)}, ${end(r.interval.upper)}] at ${Math.round(r.interval.confidence * 1000) / 10}%`;
  };
  const against = (r: CheckRow): string => (r.floor ? `floor ±${formatValue(r.floor.threshold, r.unit)}` : r.limit ? `limit ${formatValue(r.limit.limit, r.unit)}` : '–');
  return [
    `<div class="look look-${escapeHtml(j.decision)}" data-look="${index}"><h4>${escapeHtml(title)}</h4><p>${escapeHtml(j.headline)}</p>`,
    intervalChart({ name: `${idPrefix}-look-${index}`, title: `Intervals at look ${j.look.index}${ext}: effect against its floor (or value against its limit)`, rows: j.rows.map(intervalRow) }),
    table(
      ['metric', 'check', 'stable', 'canary', 'effect', 'interval', 'against', 'samples (stable / canary)', 'outcome'],
      j.rows.map((r) => [r.metric, r.title, formatValue(r.stable, r.unit), formatValue(r.canary, r.unit), formatValue(r.effect, r.unit), intervalText(r), against(r), `${r.samples.stable ?? '–'} / ${r.samples.canary ?? '–'}`, `${r.outcome}: ${r.reason}`]),
      ' class="judge"',
    ),
    '</div>',
  ].join('');
}
