// The one sticky pull-request comment for the whole pipeline: found by its marker, updated in place.
import type { StepName } from '@ferry/core';
import { isPipelineReport, parseSections, upsertSection } from '../render/pipeline-report.js';
import type { GitHubEnvironment } from './environment.js';
import type { GitHubClient } from './octokit.js';

async function findReportComment(gh: GitHubClient, env: GitHubEnvironment, pull: number): Promise<{ id: number; body: string } | undefined> {
  const comments = await gh.paginate(gh.rest.issues.listComments, { owner: env.owner, repo: env.repo, issue_number: pull, per_page: 100 });
  // The oldest marked comment is the report; any later duplicates (from a lost race) are merged into it.
  const found = comments.find((c) => isPipelineReport(c.body));
  return found ? { id: found.id, body: found.body ?? '' } : undefined;
}

/**
 * A pull request's steps may run in several workflows, all at the head commit: the comment starts
 * afresh at a new commit, not at a new workflow run.
 */
const commentRun = (env: GitHubEnvironment): string | undefined => (env.headSha ? `commit-${env.headSha}` : undefined);

/**
 * Writes `markdown` as the step's section of the report comment. Parallel jobs may race, so after
 * writing, the comment is read back and the write repeated if another job's update replaced ours.
 */
export async function upsertReportComment(gh: GitHubClient, env: GitHubEnvironment, pull: number, step: StepName, markdown: string): Promise<number> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = await findReportComment(gh, env, pull);
    let id: number;
    if (existing) {
      const body = upsertSection(existing.body, step, markdown, { run: commentRun(env) });
      if (body !== existing.body) await gh.rest.issues.updateComment({ owner: env.owner, repo: env.repo, comment_id: existing.id, body });
      id = existing.id;
    } else {
      const created = await gh.rest.issues.createComment({ owner: env.owner, repo: env.repo, issue_number: pull, body: upsertSection(undefined, step, markdown, { run: commentRun(env) }) });
      id = created.data.id;
    }
    const check = await gh.rest.issues.getComment({ owner: env.owner, repo: env.repo, comment_id: id });
    if (parseSections(check.data.body ?? '').get(step) !== undefined) return id;
  }
  throw new Error('the report comment kept being overwritten by concurrent jobs');
}
