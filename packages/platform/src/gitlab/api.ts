// The MR note and commit status through the GitLab API (gitbeaker). Both need a project access
// token: CI_JOB_TOKEN cannot post notes.
import type { Gitlab } from '@gitbeaker/rest';
import type { StepName, Verdict } from '@ferry/core';
import { isPipelineReport, parseSections, upsertSection } from '../render/pipeline-report.js';
import type { GitLabEnvironment } from './environment.js';

export type GitLabClient = InstanceType<typeof Gitlab>;

/** gitbeaker is loaded only when a token is given, so jobs without one start faster. */
export async function gitlabClient(token: string, env: GitLabEnvironment): Promise<GitLabClient> {
  const { Gitlab: Client } = await import('@gitbeaker/rest');
  return new Client({ host: env.apiUrl.replace(/\/api\/v4\/?$/, ''), token });
}

/** Writes the step's section of the one pipeline note on the merge request, updated in place. */
export async function upsertMergeRequestNote(api: GitLabClient, env: GitLabEnvironment, step: StepName, markdown: string): Promise<number> {
  const iid = env.mergeRequestIid;
  if (iid === undefined) throw new Error('not a merge-request pipeline');
  for (let attempt = 0; attempt < 3; attempt++) {
    const notes = await api.MergeRequestNotes.all(env.projectId, iid, { sort: 'asc', orderBy: 'created_at' });
    const existing = notes.find((n) => isPipelineReport(n.body));
    let id: number;
    if (existing) {
      id = existing.id;
      const body = upsertSection(existing.body, step, markdown);
      if (body !== existing.body) await api.MergeRequestNotes.edit(env.projectId, iid, id, { body });
    } else {
      id = (await api.MergeRequestNotes.create(env.projectId, iid, upsertSection(undefined, step, markdown))).id;
    }
    const check = await api.MergeRequestNotes.show(env.projectId, iid, id);
    if (parseSections(check.body).get(step) !== undefined) return id;
  }
  throw new Error('the merge-request note kept being overwritten by concurrent jobs');
}

const STATE: Record<Verdict | 'error', 'success' | 'failed'> = { pass: 'success', fail: 'failed', inconclusive: 'failed', error: 'failed' };

export async function setCommitStatus(api: GitLabClient, env: GitLabEnvironment, step: StepName, verdict: Verdict | 'error', description: string): Promise<void> {
  await api.Commits.editStatus(env.projectId, env.sha, STATE[verdict], {
    name: `ferry / ${step}`,
    description: description.slice(0, 255),
    ...(env.jobUrl ? { targetUrl: env.jobUrl } : {}),
    ...(env.pipelineId !== undefined ? { pipelineId: env.pipelineId } : {}),
  });
}
