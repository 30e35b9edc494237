// How a rollout reads in the PR comment, job summary and HTML report: what moved where, every
// look of the judge with its numbers, and the decision log. Engine data in, report blocks out.
import type { ReportBlock, ReportSection } from '@ferry/core';
import type { CheckRow, Judgement } from '../judge/types.js';
import { describeVersion, type DecisionEntry, type RolloutRecord } from '../engine/record.js';
import type { Weights } from '../target/types.js';

const fmt = (v: number | null, unit: CheckRow['unit']): string => {
  if (v === null) return '–';
  if (unit === 'ms') return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ms`;
  if (unit === 'fraction') return `${(v * 100).toFixed(v !== 0 && Math.abs(v) < 0.01 ? 2 : 1)}%`;
  return v.toFixed(3);
};

function intervalText(row: CheckRow): string {
  const i = row.interval;
  if (!i) return '–';
  const end = (x: number | null): string => (x === null ? '∞' : fmt(x, row.unit));
  return `[${end(i.lower)}, ${end(i.upper)}] (${Math.round(i.confidence * 1000) / 10}%)`;
}

function testText(row: CheckRow): string {
  if (!row.test) return row.limit ? `limit ${fmt(row.limit.limit, row.unit)}` : '–';
  const p = row.test.pValue < 0.0001 ? row.test.pValue.toExponential(1) : row.test.pValue.toFixed(4);
  return `${row.test.name} p=${p} (α=${row.test.alpha.toExponential(1)})`;
}

export function judgementTable(j: Judgement): ReportBlock {
  return {
    kind: 'table',
    columns: ['metric', 'check', 'stable', 'canary', 'effect', 'interval', 'test', 'samples (stable / canary)', 'outcome'],
    rows: j.rows.map((row) => [
      row.metric,
      row.title,
      fmt(row.stable, row.unit),
      fmt(row.canary, row.unit),
      fmt(row.effect, row.unit),
      intervalText(row),
      testText(row),
      `${row.samples.stable ?? '–'} / ${row.samples.canary ?? '–'}`,
      `${row.outcome}: ${row.reason}`,
    ]),
  };
}

export function looksSection(judgements: readonly { step: number; weights: Weights; judgement: Judgement }[]): ReportSection | undefined {
  if (judgements.length === 0) return undefined;
  const blocks: ReportBlock[] = [];
  for (const { step, weights, judgement } of judgements) {
    const ext = judgement.look.extension > 0 ? `, extension ${judgement.look.extension}` : '';
    blocks.push({ kind: 'paragraph', text: `**Step ${step} (canary ${weights.canary}%), look ${judgement.look.index} of ${judgement.look.count}${ext}: ${judgement.decision}.** ${judgement.headline}` });
    blocks.push(judgementTable(judgement));
  }
  const chart = metricsChart(judgements);
  if (chart) blocks.unshift(chart);
  const spending = judgements[judgements.length - 1]!.judgement.spending;
  blocks.push({
    kind: 'paragraph',
    text: `Repeated looks spend α = ${spending.alpha} over the rollout (Lan–DeMets O'Brien–Fleming, ${spending.tests} test(s) sharing it), so a canary no worse than stable is aborted at most ${spending.alpha * 100}% of the time across all looks.`,
  });
  return { heading: 'Judge', blocks };
}

/** The decision log as a table; with `withChart`, the weights chart goes above it. */
export function decisionLogSection(entries: readonly DecisionEntry[], withChart = false): ReportSection {
  const chart = withChart ? weightsChart(entries) : undefined;
  return {
    heading: 'Decision log',
    blocks: [
      ...(chart ? [chart] : []),
      {
        kind: 'table',
        columns: ['time', 'step', 'weights (stable / canary)', 'action', 'detail'],
        rows: entries.map((e) => [e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), e.step === 0 ? '–' : String(e.step), `${e.weights.stable} / ${e.weights.canary}`, e.action, e.detail]),
      },
    ],
  };
}

export function weightsChart(entries: readonly DecisionEntry[]): ReportBlock | undefined {
  const points = entries.filter((e) => ['verified', 'reapplied', 'rollback', 'promote', 'start'].includes(e.action));
  if (points.length < 2) return undefined;
  const xs = points.map((_, i) => `"${i + 1}"`).join(', ');
  return {
    kind: 'chart',
    title: 'Canary weight over the rollout',
    mermaid: ['xychart-beta', '    title "Canary weight (%) at each traffic change"', `    x-axis "change" [${xs}]`, '    y-axis "canary %" 0 --> 100', `    line [${points.map((p) => p.weights.canary).join(', ')}]`].join('\n'),
  };
}

export function stateSection(record: RolloutRecord, extra: readonly (readonly [string, string])[]): ReportSection {
  const r = record.rollout;
  const entries: [string, string][] = [
    ['environment', record.environment],
    ['stable', describeVersion(record.stable)],
    ['rollback point', describeVersion(record.previous)],
  ];
  if (r) {
    entries.push(['rollout', `${r.plan.strategy} of ${describeVersion(r.canary)}: ${r.phase} at step ${Math.min(r.step + 1, r.plan.steps.length)} of ${r.plan.steps.length}`]);
    entries.push(['weights now', `stable ${r.weights.stable}% / canary ${r.weights.canary}%`]);
  }
  for (const [k, v] of extra) entries.push([k, v]);
  const blocks: ReportBlock[] = [{ kind: 'keyvalue', entries }];
  return { heading: 'Rollout', blocks };
}

export function finalWeights(record: RolloutRecord, weights: Weights): string {
  const out: Record<string, number> = {};
  if (record.stable) out[record.stable.name] = weights.stable;
  const canary = record.rollout?.canary;
  if (canary && canary.name !== record.stable?.name) out[canary.name] = (out[canary.name] ?? 0) + weights.canary;
  return JSON.stringify(out);
}

/** Stable's and the canary's latency p95 at each look: the key figure over the rollout, as a chart. */
export function metricsChart(judgements: readonly { step: number; weights: Weights; judgement: Judgement }[]): ReportBlock | undefined {
  const points = judgements
    .map(({ step, weights, judgement }) => {
      const p = judgement.rows.find((r) => r.kind === 'latency' && r.detail.percentilesMs)?.detail.percentilesMs;
      return p?.stable && p.canary ? { label: `${step}:${weights.canary}%`, stable: p.stable.p95, canary: p.canary.p95 } : undefined;
    })
    .filter((p): p is { label: string; stable: number; canary: number } => p !== undefined);
  if (points.length === 0) return undefined;
  const top = Math.max(...points.flatMap((p) => [p.stable, p.canary])) * 1.1;
  const n = (v: number): string => (Math.round(v * 100) / 100).toString();
  return {
    kind: 'chart',
    title: 'Latency p95 at each look, stable and canary',
    mermaid: [
      'xychart-beta',
      '    title "Latency p95 (ms) at each look: stable (first line), canary (second)"',
      `    x-axis "step:canary weight" [${points.map((p) => `"${p.label}"`).join(', ')}]`,
      `    y-axis "ms" 0 --> ${n(top)}`,
      `    line [${points.map((p) => n(p.stable)).join(', ')}]`,
      `    line [${points.map((p) => n(p.canary)).join(', ')}]`,
    ].join('\n'),
  };
}
