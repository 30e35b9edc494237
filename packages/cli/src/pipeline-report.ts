// What `ferry pipeline` leaves behind: the full report as JSON (the source of the markdown here and
// of the HTML page in pipeline-html.ts), the same as markdown for a PR comment or job summary, and
// the compact terminal summary.
import type { ExitCode, GateResult } from '@ferry/core';
import { markdownTable, stepMarkdown } from '@ferry/platform';
import type { CandidateRun, StepRecord } from './pipeline-run.js';

export const PIPELINE_REPORT_SCHEMA = 'ferry-pipeline/1';

export interface PipelineReport {
  readonly schema: typeof PIPELINE_REPORT_SCHEMA;
  readonly createdAt: string;
  readonly workingDirectory: string;
  readonly config: string;
  readonly modelName: string;
  readonly stable: { readonly version: string; readonly modelPath?: string };
  readonly durationMs: number;
  readonly exitCode: ExitCode;
  /** Several candidates: whether each ended as its `expect` says. */
  readonly expectationsMet?: boolean;
  readonly candidates: readonly CandidateRun[];
}

/** Every gate of a run with the step it belongs to: validate's gates, the benchmark's SLOs, the judge's checks. */
export function gateTable(run: CandidateRun): { step: string; gate: GateResult }[] {
  return run.steps.flatMap((s) => (s.result?.gates ?? []).map((gate) => ({ step: s.step, gate })));
}

/** Whether a run ended as expected: `promoted`, or rejected at the named step. */
export function metExpectation(run: CandidateRun): boolean | undefined {
  if (run.expect === undefined) return undefined;
  return run.expect === 'promoted' ? run.outcome === 'promoted' : run.outcome === 'rejected' && run.stoppedAt === run.expect;
}

/** A duration as people read it: 840 ms, 4.1 s, 35 s. */
export function ms(n: number): string {
  return n >= 10_000 ? `${(n / 1000).toFixed(0)} s` : n >= 1000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`;
}

function parseCounts(text: string | undefined): Record<string, number> {
  try {
    const v = JSON.parse(text ?? '{}') as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, number>) : {};
  } catch {
    return {};
  }
}

/** The few figures worth a glance, per step. */
export function keyFigures(s: StepRecord): string {
  const o = s.result?.outputs ?? {};
  switch (s.step) {
    case 'validate-model': {
      const acc = s.result?.metrics.accuracy;
      const findings = Object.entries(parseCounts(o.findings)).filter(([sev, n]) => n > 0 && ['critical', 'high'].includes(sev));
      return [
        acc !== undefined ? `accuracy ${acc.toFixed(4)}` : '',
        Number(o['gates-failed'] ?? 0) > 0 ? `${o['gates-failed']} gate(s) failed` : '',
        ...findings.map(([sev, n]) => `${n} ${sev} finding(s)`),
      ].filter(Boolean).join(', ');
    }
    case 'build-serving-image':
      return o.digest ? `${o.digest.slice(0, 19)}…` : '';
    case 'benchmark-on-gpu-runner':
      return o['p95-ms'] ? `p50 ${Number(o['p50-ms']).toFixed(1)} ms, p95 ${Number(o['p95-ms']).toFixed(1)} ms, ${Number(o['throughput-rps']).toFixed(0)} req/s, errors ${(Number(o['error-rate']) * 100).toFixed(1)}%` : '';
    case 'canary-deploy':
      return [o.phase ?? '', o['final-weights'] ?? '', o['rollback-ms'] ? `rollback ${o['rollback-ms']} ms` : ''].filter(Boolean).join(', ');
    case 'promote':
      return o['stable-version'] ? `stable ${o['stable-version']}` : '';
    default:
      return '';
  }
}

/** PROMOTED, or REJECTED (FAILED, ...) at the step that stopped the run. */
export function outcomeText(run: CandidateRun): string {
  switch (run.outcome) {
    case 'promoted':
      return 'PROMOTED';
    case 'rejected':
      return `REJECTED at ${run.stoppedAt}`;
    case 'cancelled':
      return `CANCELLED at ${run.stoppedAt ?? 'start'}`;
    case 'bad-input':
      return `BAD INPUT at ${run.stoppedAt ?? 'start'}`;
    case 'infrastructure':
      return `FAILED (infrastructure) at ${run.stoppedAt ?? 'start'}`;
  }
}

/** The compact terminal summary: one block per candidate, one line per step. */
export function terminalSummary(report: PipelineReport, reportPath: string): string {
  const lines: string[] = ['', `ferry pipeline: ${report.modelName}, stable ${report.stable.version} (${ms(report.durationMs)})`];
  for (const run of report.candidates) {
    const met = metExpectation(run);
    const expectation = met === undefined ? '' : met ? `  (expected: ${run.expect})` : `  (UNEXPECTED: expected ${run.expect})`;
    lines.push('', `${run.candidate} (${run.version}): ${outcomeText(run)} in ${ms(run.durationMs)}${expectation}`);
    for (const s of run.steps) {
      const figures = keyFigures(s);
      lines.push(`  ${s.verdict.padEnd(12)} ${s.step.padEnd(24)} ${ms(s.durationMs).padStart(6)}  ${figures}`);
    }
    if (run.outcome !== 'promoted') lines.push(`  reason: ${run.reason}`);
    if (run.canary?.phase === 'aborted') lines.push(`  traffic: back on ${run.deployment.stable.version} (${JSON.stringify(run.canary.finalWeights)})`);
  }
  lines.push('', `report: ${reportPath} (and .md, .html)`);
  return `${lines.join('\n')}\n`;
}

function stepRow(s: StepRecord): string[] {
  return [s.step, s.verdict, ms(s.durationMs), keyFigures(s), s.headline.replace(/\|/g, '\\|')];
}

export function markdownReport(report: PipelineReport): string {
  const out: string[] = [`# Ferry pipeline: ${report.modelName}`, '', `Stable version **${report.stable.version}**; ${report.candidates.length} candidate(s); ${ms(report.durationMs)}; exit code ${report.exitCode}.`, ''];
  out.push(markdownTable(['candidate', 'outcome', 'reason', 'time'], report.candidates.map((r) => [`${r.candidate} (${r.version})`, outcomeText(r), r.reason.replace(/\|/g, '\\|'), ms(r.durationMs)])), '');
  for (const run of report.candidates) {
    out.push(`## ${run.candidate}: ${outcomeText(run)}`, '');
    out.push(markdownTable(['step', 'verdict', 'time', 'figures', 'why'], run.steps.map(stepRow)), '');
    const gates = gateTable(run);
    if (gates.length > 0) {
      out.push('### Gates', '', markdownTable(['step', 'gate', 'value', 'threshold', 'result'], gates.map(({ step, gate }) => [step, gate.name, gate.value, gate.threshold, gate.passed ? 'pass' : 'FAIL'])), '');
    }
    for (const s of run.steps) {
      if (s.result) out.push(stepMarkdown(s.result, 3), '');
      else out.push(`### ${s.step}`, '', `Error (exit ${s.exitCode}): ${s.headline}`, '');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}
