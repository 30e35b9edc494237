// The pipeline report as one self-contained HTML page: inline CSS and SVG, no script, and a content
// security policy that lets the page load nothing at all, so it opens offline and a hostile string
// from the report (a model file name in a finding, a reason) can only ever be text.
import type { ReportBlock, ReportSection, StepResult } from '@ferry/core';
import { benchmarkFigures, gpuFigures, lookFigure, looksOf, weightsFigure } from './pipeline-html-figures.js';
import { gateTable, keyFigures, metExpectation, ms, outcomeText, type PipelineReport } from './pipeline-report.js';
import type { CandidateRun } from './pipeline-run.js';
import { escapeHtml } from './svg-charts.js';

const STYLE = `
:root{--pass:#15803d;--fail:#b91c1c;--warn:#b45309;--stable:#2563eb;--canary:#ea580c;--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--ink);margin:0 auto;max-width:1340px;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 8px;padding-top:16px;border-top:2px solid var(--line)}h3{font-size:16px;margin:22px 0 6px}h4{font-size:14px;margin:16px 0 6px}
.meta,.note,figcaption{color:var(--muted)}table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f9fafb}tr.fail td{background:#fef2f2}tr.pass td:last-child{color:var(--pass)}tr.fail td:last-child{color:var(--fail);font-weight:600}
.outcome{border-radius:6px;padding:10px 14px;margin:8px 0 12px;border-left:6px solid}.outcome strong{font-size:16px;margin-right:8px}
.outcome-promoted{background:#f0fdf4;border-color:var(--pass)}.outcome-rejected{background:#fef2f2;border-color:var(--fail)}.outcome-bad-input,.outcome-infrastructure,.outcome-cancelled{background:#fffbeb;border-color:var(--warn)}
.charts{display:flex;flex-wrap:wrap;gap:12px}figure.chart{display:inline-block;vertical-align:top;margin:6px 0;border:1px solid var(--line);border-radius:6px;padding:6px;background:#fff}figcaption{font-size:12px;padding:2px 4px}
svg text{font:11px system-ui,sans-serif;fill:var(--ink)}svg .tick,svg .axis-title{fill:var(--muted)}svg .grid{stroke:#f1f5f9}svg .axis{stroke:#9ca3af}
svg .bar{fill:#60a5fa}svg .marker{stroke:#111827;stroke-dasharray:4 3}svg .marker.limit,svg .ref.limit,svg .ref.floor{stroke:var(--fail);stroke-dasharray:5 3}svg .ref-label{fill:var(--fail);font-size:10px}
svg .ref.zero{stroke:#9ca3af}svg .series-line{fill:none;stroke:#374151;stroke-width:1.6}svg .point{fill:#374151}
svg .canary{stroke:var(--canary);fill:var(--canary)}svg path.canary{fill:none}svg .util{stroke:#7c3aed;fill:#7c3aed}svg path.util{fill:none}svg .power{stroke:#0d9488;fill:#0d9488}svg path.power{fill:none}
svg .interval{stroke:var(--stable);stroke-width:3}svg .whisker{stroke:var(--stable);stroke-width:2}svg .arrow{fill:var(--stable)}svg .estimate{fill:#111827}
svg .outcome-fail .outcome-label,svg .outcome-fail .row-label{fill:var(--fail);font-weight:600}svg .outcome-pass .outcome-label{fill:var(--pass)}
details{margin:8px 0}summary{cursor:pointer;font-weight:600}code{background:#f3f4f6;padding:0 3px;border-radius:3px}pre{background:#f3f4f6;padding:8px;overflow:auto}
`;

/** Report text may carry the markdown of the step reports (**bold**, `code`): escaped first, then those two. */
function inline(text: string): string {
  return escapeHtml(text)
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/`([^`]+)`/g, '<code>$1</code>');
}

function table(columns: readonly string[], rows: readonly (readonly string[])[], opts: { attrs?: string; rowClass?: (i: number) => string } = {}): string {
  const body = rows.map((r, i) => `<tr${opts.rowClass ? ` class="${opts.rowClass(i)}"` : ''}>${columns.map((_, c) => `<td>${inline(r[c] ?? '')}</td>`).join('')}</tr>`);
  return `<table${opts.attrs ?? ''}><thead><tr>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}

/** The same report blocks that make report.md; charts are drawn from the data instead (above). */
function block(b: ReportBlock): string {
  switch (b.kind) {
    case 'paragraph':
      return `<p>${inline(b.text)}</p>`;
    case 'table':
      return table(b.columns, b.rows);
    case 'list':
      return `<ul>${b.items.map((i) => `<li>${inline(i)}</li>`).join('')}</ul>`;
    case 'code':
      return `<pre><code>${escapeHtml(b.text)}</code></pre>`;
    case 'keyvalue':
      return `<table class="kv"><tbody>${b.entries.map(([k, v]) => `<tr><th>${inline(k)}</th><td>${inline(v)}</td></tr>`).join('')}</tbody></table>`;
    case 'chart':
      return '';
  }
}

function sections(list: readonly ReportSection[]): string {
  return list.map((s) => `<h5>${escapeHtml(s.heading)}</h5>${s.blocks.map(block).join('')}`).join('');
}

function stepDetail(result: StepResult): string {
  const findings = result.findings.slice(0, 50);
  return [
    `<p>${inline(result.headline)}</p>`,
    findings.length > 0 ? table(['severity', 'rule', 'where', 'finding'], findings.map((f) => [f.severity, f.rule, f.file ? `${f.file}${f.line ? `:${f.line}` : ''}` : '', f.message]), { attrs: ' class="findings"' }) : '',
    result.findings.length > findings.length ? `<p class="note">…and ${result.findings.length - findings.length} more findings in report.json.</p>` : '',
    sections(result.report),
  ].join('');
}

function candidateSection(run: CandidateRun, index: number): string {
  const id = `candidate-${index}`;
  const met = metExpectation(run);
  const expectation = met === undefined ? '' : met ? ` (as expected: ${run.expect})` : ` (UNEXPECTED: expected ${run.expect})`;
  const gates = gateTable(run);
  const out: string[] = [
    `<section class="candidate" id="${id}" data-candidate="${escapeHtml(run.candidate)}">`,
    `<h2>${escapeHtml(run.candidate)} <span class="meta">(${escapeHtml(run.version)}${run.modelPath ? `, ${escapeHtml(run.modelPath)}` : ''})</span></h2>`,
    `<div class="outcome outcome-${escapeHtml(run.outcome)}" data-outcome="${escapeHtml(run.outcome)}"><strong class="outcome-text">${escapeHtml(outcomeText(run))}</strong><span class="meta">in ${escapeHtml(ms(run.durationMs))}${escapeHtml(expectation)}</span><div class="reason">${escapeHtml(run.reason)}</div></div>`,
    '<h3>Steps</h3>',
    table(['step', 'verdict', 'time', 'figures', 'why'], run.steps.map((s) => [s.step, s.verdict, ms(s.durationMs), keyFigures(s), s.headline]), { attrs: ' class="steps"', rowClass: (i) => (run.steps[i]!.verdict === 'pass' ? 'pass' : 'fail') }),
    '<h3>Gates</h3>',
    gates.length > 0
      ? table(['step', 'gate', 'value', 'threshold', 'result'], gates.map(({ step, gate }) => [step, gate.name, gate.value, gate.threshold, gate.passed ? 'pass' : 'FAIL']), { attrs: ' class="gates" data-table="gates"', rowClass: (i) => (gates[i]!.gate.passed ? 'pass' : 'fail') })
      : '<p class="note">No gate was evaluated.</p>',
  ];
  if (run.steps.some((s) => s.step === 'benchmark-on-gpu-runner')) {
    out.push('<h3>Benchmark</h3>', benchmarkFigures(run, id), '<h3>GPU</h3>', gpuFigures(run, id));
  }
  if (run.canary) {
    const looks = looksOf(run);
    out.push(`<h3>Canary: ${escapeHtml(run.canary.phase)}</h3>`, `<p>Final weights ${escapeHtml(Object.entries(run.canary.finalWeights).map(([v, w]) => `${v} ${w}%`).join(', '))}${run.canary.rollbackMs !== undefined ? `; rolled back in ${run.canary.rollbackMs} ms` : ''}.</p>`);
    out.push(weightsFigure(run, id));
    out.push(`<h4>The judge at each look (${looks.length})</h4>`, ...looks.map((l, i) => lookFigure(l, i, id)));
    out.push(
      '<h4>Decision log</h4>',
      table(['time', 'step', 'canary %', 'action', 'detail'], run.canary.decisions.map((d) => [d.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), d.step === 0 ? '–' : String(d.step), String(d.canary), d.action, d.detail]), { attrs: ' class="decisions" data-table="decisions"' }),
    );
  }
  out.push('<details class="step-reports"><summary>Full step reports</summary>');
  for (const s of run.steps) out.push(`<h4>${escapeHtml(s.step)}: ${escapeHtml(s.verdict)}</h4>`, s.result ? stepDetail(s.result) : `<p>Error (exit ${s.exitCode}): ${escapeHtml(s.headline)}</p>`);
  out.push('</details></section>');
  return out.join('\n');
}

export function htmlReport(report: PipelineReport): string {
  const title = `Ferry pipeline: ${report.modelName}`;
  const summary = table(
    ['candidate', 'outcome', 'reason', 'time'],
    report.candidates.map((r) => [`${r.candidate} (${r.version})`, outcomeText(r), r.reason, ms(r.durationMs)]),
    { attrs: ' class="summary"', rowClass: (i) => (report.candidates[i]!.outcome === 'promoted' ? 'pass' : 'fail') },
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<header><h1>${escapeHtml(title)}</h1>
<p class="meta">Stable version <strong>${escapeHtml(report.stable.version)}</strong>; ${report.candidates.length} candidate(s); ${escapeHtml(ms(report.durationMs))}; exit code ${report.exitCode}; run ${escapeHtml(report.createdAt)} in ${escapeHtml(report.workingDirectory)} (${escapeHtml(report.config)}).</p></header>
${summary}
${report.candidates.map(candidateSection).join('\n')}
<footer class="meta"><p>Written by ferry pipeline from report.json (schema ${escapeHtml(report.schema)}).</p></footer>
</body></html>
`;
}
