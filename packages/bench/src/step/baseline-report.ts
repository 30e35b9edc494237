// The baseline part of the benchmark report: per load point and metric, the outcome and every
// number that decided it (test, p-value, effect and the floor it had to clear).
import type { ReportBlock, ReportSection } from '@ferry/core';
import type { BaselineComparison, MetricComparison } from '../compare/baseline.js';

const OUTCOME_MARK: Record<string, string> = { regression: 'REGRESSION', improvement: 'improvement', 'no-change': 'no change', invalid: 'INVALID' };

function value(m: MetricComparison, x: number): string {
  if (m.kind === 'invalid') return '';
  if (m.unit === 'fraction') return `${(x * 100).toFixed(2)}%`;
  if (m.unit === 'req/s') return `${x.toFixed(1)} req/s`;
  return `${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)} ms`;
}

function pValue(p: number): string {
  return p < 0.001 ? '< 0.001' : p.toFixed(3);
}

export function baselineSection(c: BaselineComparison): ReportSection {
  const blocks: ReportBlock[] = [{ kind: 'paragraph', text: `${OUTCOME_MARK[c.outcome]}: ${c.headline}` }];
  if (c.invalidReasons.length > 0) blocks.push({ kind: 'list', items: c.invalidReasons.map((r) => `invalid: ${r}`) });
  const rows: string[][] = [];
  for (const pt of c.points) {
    if (pt.outcome === 'invalid' && pt.metrics.length === 0) {
      rows.push([pt.label, 'all', OUTCOME_MARK.invalid!, '', '', '', pt.invalidReasons.join('; ')]);
      continue;
    }
    for (const m of pt.metrics) {
      if (m.kind === 'invalid') {
        rows.push([pt.label, m.title, OUTCOME_MARK.invalid!, '', '', '', m.reason]);
        continue;
      }
      rows.push([pt.label, m.title, OUTCOME_MARK[m.outcome]!, `${value(m, m.baseline)} → ${value(m, m.current)}`, `${m.significance.test} p ${pValue(m.significance.pValue)}`, m.floor.rule, m.reason]);
    }
  }
  if (rows.length > 0) blocks.push({ kind: 'table', columns: ['load', 'metric', 'outcome', 'baseline → current', 'test', 'effect floor', 'why'], rows });
  const skipped = c.points.flatMap((pt) => pt.skipped.map((s) => `${pt.label}: ${s.metric} not compared: ${s.reason}`));
  const unmatched = c.unmatched.map((u) => `${u.label} only in the ${u.side} run: reported, not compared`);
  if (skipped.length + unmatched.length + c.notes.length > 0) blocks.push({ kind: 'list', items: [...c.notes, ...unmatched, ...skipped] });
  blocks.push({
    kind: 'paragraph',
    text: `A change is a regression only when it is significant at α = ${c.options.alpha} and larger than the effect floor (${(c.options.latencyFloor * 100).toFixed(0)}% for latency and throughput, ${(c.options.errorRateFloor * 100).toFixed(1)} points for errors): runner noise alone does not fail a build.`,
  });
  return { heading: `Baseline comparison: ${OUTCOME_MARK[c.outcome]}`, blocks };
}
