// Markdown for a step result: the same text serves the job summary, the sticky PR/MR report and the CLI.
import type { GateResult, ReportBlock, ReportSection, StepResult, Verdict } from '@ferry/core';

const VERDICT_MARK: Record<Verdict, string> = { pass: '✅ pass', fail: '❌ fail', inconclusive: '⚠️ inconclusive' };

export function verdictLabel(v: Verdict): string {
  return VERDICT_MARK[v];
}

/** Escapes text for a markdown table cell. */
function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

export function markdownTable(columns: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = `| ${columns.map(cell).join(' | ')} |`;
  const sep = `| ${columns.map(() => '---').join(' | ')} |`;
  const body = rows.map((r) => `| ${columns.map((_, i) => cell(r[i] ?? '')).join(' | ')} |`);
  return [head, sep, ...body].join('\n');
}

function block(b: ReportBlock): string {
  switch (b.kind) {
    case 'paragraph':
      return b.text;
    case 'table':
      return markdownTable(b.columns, b.rows);
    case 'list':
      return b.items.map((i) => `- ${i}`).join('\n');
    case 'code':
      return `\`\`\`${b.language}\n${b.text}\n\`\`\``;
    case 'keyvalue':
      return markdownTable(['', ''], b.entries.map(([k, v]) => [`**${k}**`, v]));
    case 'chart':
      return `\`\`\`mermaid\n${b.mermaid}\n\`\`\``;
  }
}

export function sectionsMarkdown(sections: readonly ReportSection[], level = 4): string {
  const h = '#'.repeat(level);
  return sections.map((s) => `${h} ${s.heading}\n\n${s.blocks.map(block).join('\n\n')}`).join('\n\n');
}

function gatesMarkdown(gates: readonly GateResult[]): string {
  return markdownTable(
    ['Gate', 'Value', 'Threshold', 'Result'],
    gates.map((g) => [g.name, g.value, g.threshold, g.passed ? '✅ pass' : '❌ fail']),
  );
}

/** The markdown of one step, headed at `level`. */
export function stepMarkdown(result: StepResult, level = 3): string {
  const h = '#'.repeat(level);
  const parts = [`${h} ${result.step}: ${verdictLabel(result.verdict)}`, result.headline];
  if (result.gates.length > 0) parts.push(gatesMarkdown(result.gates));
  if (result.findings.length > 0) {
    const shown = result.findings.slice(0, 50);
    parts.push(
      markdownTable(
        ['Severity', 'Rule', 'Where', 'Finding'],
        shown.map((f) => [f.severity, `\`${f.rule}\``, f.file ? `${f.file}${f.line ? `:${f.line}` : ''}` : '', f.message]),
      ),
    );
    if (result.findings.length > shown.length) parts.push(`…and ${result.findings.length - shown.length} more findings in the JSON result.`);
  }
  if (result.report.length > 0) parts.push(sectionsMarkdown(result.report, level + 1));
  parts.push(`<sub>${(result.durationMs / 1000).toFixed(1)} s</sub>`);
  return parts.join('\n\n');
}
