// The report files of `ferry pipeline`: report.json, and report.md and report.html rendered from it,
// each written whole (a reader never sees half a file), beside each other.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { htmlReport } from './pipeline-html.js';
import { markdownReport, type PipelineReport } from './pipeline-report.js';

function writeAtomically(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.partial-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** report.md and report.html beside a report.json (written already, or rendered again from one). */
export function writeRenderings(report: PipelineReport, jsonPath: string): { markdown: string; html: string } {
  const base = jsonPath.replace(/\.json$/, '');
  const paths = { markdown: `${base}.md`, html: `${base}.html` };
  writeAtomically(paths.markdown, markdownReport(report));
  writeAtomically(paths.html, htmlReport(report));
  return paths;
}

export function writeReports(report: PipelineReport, jsonPath: string): { markdown: string; html: string } {
  writeAtomically(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  return writeRenderings(report, jsonPath);
}
