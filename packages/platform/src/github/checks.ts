// One check run per step, named "ferry / <step>", so branch protection can require it; findings
// become its annotations.
import type { Finding, StepName, StepResult, Verdict } from '@ferry/core';
import type { GitHubEnvironment } from './environment.js';
import type { GitHubClient } from './octokit.js';

export const checkRunName = (step: StepName): string => `ferry / ${step}`;

type Level = 'notice' | 'warning' | 'failure';
const LEVEL: Record<Finding['severity'], Level> = { critical: 'failure', high: 'failure', medium: 'warning', low: 'notice', info: 'notice' };
/** The API takes at most 50 annotations per request. */
const ANNOTATION_BATCH = 50;
const MAX_TEXT = 65_000;

/** Inconclusive must never satisfy a required check, so it maps to failure, not neutral. */
const CONCLUSION: Record<Verdict, 'success' | 'failure'> = { pass: 'success', fail: 'failure', inconclusive: 'failure' };

export interface CheckRunContent {
  readonly step: StepName;
  readonly verdict: Verdict | 'error';
  readonly title: string;
  readonly summary: string;
  readonly findings: readonly Finding[];
}

export function checkContent(result: StepResult, markdown: string): CheckRunContent {
  return { step: result.step, verdict: result.verdict, title: result.headline, summary: markdown, findings: result.findings };
}

export async function publishCheckRun(gh: GitHubClient, env: GitHubEnvironment, content: CheckRunContent): Promise<number> {
  const annotations = content.findings
    .filter((f) => f.file)
    .map((f) => ({
      path: f.file ?? '',
      start_line: f.line ?? 1,
      end_line: f.line ?? 1,
      annotation_level: LEVEL[f.severity],
      message: f.message,
      title: f.rule,
    }));
  const conclusion = content.verdict === 'error' ? 'failure' : CONCLUSION[content.verdict];
  const output = (batch: typeof annotations) => ({
    title: content.title.slice(0, 255),
    summary: content.summary.length > MAX_TEXT ? `${content.summary.slice(0, MAX_TEXT)}\n\n…truncated` : content.summary,
    annotations: batch,
  });
  const created = await gh.rest.checks.create({
    owner: env.owner,
    repo: env.repo,
    name: checkRunName(content.step),
    head_sha: env.headSha,
    status: 'completed',
    conclusion,
    completed_at: new Date().toISOString(),
    ...(env.runUrl ? { details_url: env.runUrl } : {}),
    output: output(annotations.slice(0, ANNOTATION_BATCH)),
  });
  for (let i = ANNOTATION_BATCH; i < annotations.length; i += ANNOTATION_BATCH) {
    await gh.rest.checks.update({
      owner: env.owner,
      repo: env.repo,
      check_run_id: created.data.id,
      output: output(annotations.slice(i, i + ANNOTATION_BATCH)),
    });
  }
  return created.data.id;
}
