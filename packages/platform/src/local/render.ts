// A readable terminal rendering of a step result: verdict first, then gates, findings and sections.
import type { ReportBlock, StepResult } from '@ferry/core';

function pad(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c].length)));
  return rows.map((r) => r.map((c, i) => c + ' '.repeat((widths[i] ?? 0) - [...c].length)).join('  ').trimEnd());
}

const stripMd = (s: string): string => s.replace(/`/g, '').replace(/\*\*/g, '');

function block(b: ReportBlock): string[] {
  switch (b.kind) {
    case 'paragraph':
      return [stripMd(b.text)];
    case 'list':
      return b.items.map((i) => `• ${stripMd(i)}`);
    case 'code':
      return b.text.split('\n').map((l) => `  ${l}`);
    case 'chart':
      return [`(chart: ${b.title}; see the markdown or HTML report)`];
    case 'table':
      return pad([b.columns, ...b.rows].map((r) => r.map(stripMd)));
    case 'keyvalue':
      return pad(b.entries.map(([k, v]) => [`${stripMd(k)}:`, stripMd(v)]));
  }
}

export function renderTerminal(result: StepResult, color: boolean): string {
  const paint = (code: string, text: string): string => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const mark = result.verdict === 'pass' ? paint('32', 'PASS') : result.verdict === 'fail' ? paint('31', 'FAIL') : paint('33', 'INCONCLUSIVE');
  const lines = [`${paint('1', result.step)}  ${mark}  ${result.headline}`];
  if (result.gates.length > 0) {
    lines.push('', paint('1', 'Gates'));
    lines.push(...pad([['gate', 'value', 'threshold', 'result'], ...result.gates.map((g) => [g.name, g.value, g.threshold, g.passed ? 'pass' : 'FAIL'])]).map((l) => `  ${l}`));
  }
  if (result.findings.length > 0) {
    lines.push('', paint('1', `Findings (${result.findings.length})`));
    for (const f of result.findings) {
      const where = f.file ? `${f.file}${f.line ? `:${f.line}` : ''}` : '';
      // Most messages already open with the file they are about; do not say it twice.
      const prefix = where && !f.message.startsWith(f.file ?? '') ? `${where}: ` : '';
      lines.push(`  ${f.severity.toUpperCase().padEnd(8)} ${f.rule}  ${prefix}${f.message}`);
    }
  }
  for (const s of result.report) {
    lines.push('', paint('1', s.heading));
    for (const b of s.blocks) lines.push(...block(b).map((l) => `  ${l}`));
  }
  lines.push('', paint('2', `finished in ${(result.durationMs / 1000).toFixed(2)} s`));
  return `${lines.join('\n')}\n`;
}
