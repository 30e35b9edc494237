// The one sticky report per pull/merge request: a section per step, updated in place, so re-runs and
// parallel jobs edit the same comment instead of adding new ones.
import { STEP_NAMES, type StepName } from '@ferry/core';

export const REPORT_MARKER = '<!-- ferry:pipeline-report -->';
const start = (s: string): string => `<!-- ferry:step:${s}:start -->`;
const end = (s: string): string => `<!-- ferry:step:${s}:end -->`;

/** Ferry's report starts with the marker; a reviewer quoting it ("> <!-- ferry…") is not the report. */
export function isPipelineReport(body: string | null | undefined): boolean {
  return typeof body === 'string' && body.startsWith(REPORT_MARKER);
}

/** The step sections present in a report body, keyed by step. */
export function parseSections(body: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /<!-- ferry:step:([a-z-]+):start -->\n?([\s\S]*?)\n?<!-- ferry:step:\1:end -->/g;
  for (const m of body.matchAll(re)) out.set(m[1] ?? '', m[2] ?? '');
  return out;
}

/** GitHub rejects comments over 65,536 characters; six capped sections always fit. */
export const MAX_SECTION_CHARS = 10_000;

function capSection(markdown: string): string {
  if (markdown.length <= MAX_SECTION_CHARS) return markdown;
  const note = '\n\n…truncated: the full report is in the job summary and the JSON result.';
  // Cut at a line boundary so a table row or code fence is not split in the middle.
  const cut = markdown.lastIndexOf('\n', MAX_SECTION_CHARS - note.length);
  let text = markdown.slice(0, cut > 0 ? cut : MAX_SECTION_CHARS - note.length);
  if ((text.match(/```/g) ?? []).length % 2 === 1) text += '\n```';
  return text + note;
}

const RUN = /^<!-- ferry:run:([^\s>]*) -->$/m;

/** The run a report body was last written for (see upsertSection), if it records one. */
export function reportRun(body: string): string | undefined {
  return RUN.exec(body)?.[1];
}

/**
 * Replaces (or adds) one step's section, keeping the others, in pipeline order. With `run` (the
 * GitLab pipeline, or the commit a GitHub pull request was built at), sections written for another
 * run are dropped first, so a later run that stops early never shows the verdicts of an earlier
 * one's later steps as if they were its own.
 */
export function upsertSection(existing: string | undefined, step: StepName, markdown: string, options: { title?: string; run?: string } = {}): string {
  const run = options.run?.replace(/[^\w.:-]/g, '');
  const fresh = existing === undefined || (run !== undefined && reportRun(existing) !== run);
  const sections = fresh ? new Map<string, string>() : parseSections(existing);
  sections.set(step, capSection(markdown));
  const ordered = [...STEP_NAMES.filter((s) => sections.has(s)), ...[...sections.keys()].filter((s) => !STEP_NAMES.includes(s as StepName))];
  const body = ordered.map((s) => `${start(s)}\n${sections.get(s) ?? ''}\n${end(s)}`).join('\n\n');
  return `${REPORT_MARKER}\n${run ? `<!-- ferry:run:${run} -->\n` : ''}## ${options.title ?? 'Ferry model pipeline'}\n\n${body}\n`;
}
