// The MR note and commit status through the GitLab API (gitbeaker). Both need a project access
// token: CI_JOB_TOKEN cannot post notes.
import type { Gitlab } from '@gitbeaker/rest';
import type { StepName, Verdict } from '@ferry/core';
import { isPipelineReport, parseSections, upsertSection } from '../render/pipeline-report.js';
import type { GitLabEnvironment } from './environment.js';

export type GitLabClient = InstanceType<typeof Gitlab>;

/**
 * How long one API request may take. gitbeaker's default is five minutes a request, so a GitLab
 * that accepts connections but never answers would hold the job (and its runner) for many minutes
 * after the verdict is known, only to print a warning.
 */
export const API_TIMEOUT_MS = 30_000;

/** GitLab's largest page (doc/api/rest: `per_page` is capped at 100). */
const PER_PAGE = 100;
/** 100 pages of 100 notes: past that the merge request is not one a person reads either. */
const MAX_PAGES = 100;

/** gitbeaker is loaded only when a token is given, so jobs without one start faster. */
export async function gitlabClient(token: string, env: GitLabEnvironment): Promise<GitLabClient> {
  const { Gitlab: Client } = await import('@gitbeaker/rest');
  // `token` goes out as the PRIVATE-TOKEN header, which GitLab reads for personal, project and
  // group access tokens.
  return new Client({ host: env.apiUrl.replace(/\/api\/v4\/?$/, ''), token, queryTimeout: API_TIMEOUT_MS });
}

interface NoteLike {
  readonly id: number;
  readonly body: string;
  readonly system: boolean;
}

/**
 * Ferry's own report note: one it wrote, so the body opens with the marker. The marker anywhere
 * else is someone else's text — a reviewer quoting the report (`> <!-- ferry:… -->`) — which
 * Ferry must never overwrite; system notes are GitLab's.
 */
function isOwnReport(note: NoteLike): boolean {
  return !note.system && typeof note.body === 'string' && isPipelineReport(note.body);
}

/**
 * The oldest report note on the merge request, oldest first, page by page, stopping at the page
 * that has it: a long review thread has hundreds of notes, and the report is usually among the
 * first (the first pipeline of the merge request wrote it).
 */
async function findReportNote(api: GitLabClient, env: GitLabEnvironment, iid: number): Promise<NoteLike | undefined> {
  for (let page = 1; page <= MAX_PAGES; page++) {
    const { data, paginationInfo } = await api.MergeRequestNotes.all(env.projectId, iid, {
      sort: 'asc',
      orderBy: 'created_at',
      perPage: PER_PAGE,
      page,
      showExpanded: true,
    });
    const found = data.find(isOwnReport);
    if (found) return found;
    if (data.length === 0 || paginationInfo.next === null || paginationInfo.next <= page) return undefined;
  }
  return undefined;
}

/** One pipeline holds every step on GitLab: a note from an earlier pipeline starts afresh. */
const noteRun = (env: GitLabEnvironment): string | undefined => (env.pipelineId !== undefined ? `pipeline-${env.pipelineId}` : undefined);

/** Writes the step's section of the one pipeline note on the merge request, updated in place. */
export async function upsertMergeRequestNote(api: GitLabClient, env: GitLabEnvironment, step: StepName, markdown: string): Promise<number> {
  const iid = env.mergeRequestIid;
  if (iid === undefined) throw new Error('not a merge-request pipeline');
  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = await findReportNote(api, env, iid);
    let id: number;
    if (existing) {
      id = existing.id;
      const body = upsertSection(existing.body, step, markdown, { run: noteRun(env) });
      if (body !== existing.body) await api.MergeRequestNotes.edit(env.projectId, iid, id, { body });
    } else {
      id = (await api.MergeRequestNotes.create(env.projectId, iid, upsertSection(undefined, step, markdown, { run: noteRun(env) }))).id;
    }
    // Parallel jobs of one pipeline may race (read, then write the whole body): read back, and
    // write again if another job's edit replaced this step's section.
    const check = await api.MergeRequestNotes.show(env.projectId, iid, id);
    if (parseSections(check.body).get(step) !== undefined) return id;
  }
  throw new Error('the merge-request note kept being overwritten by concurrent jobs');
}

const STATE: Record<Verdict | 'error', 'success' | 'failed'> = { pass: 'success', fail: 'failed', inconclusive: 'failed', error: 'failed' };

/**
 * The commit status `ferry / <step>`. With the job's pipeline ID and no `ref`, GitLab adds it to
 * that pipeline under the pipeline's own ref. A `ref` is not sent: in a merge-request pipeline the
 * pipeline's ref is refs/merge-requests/<iid>/head, not the branch, and GitLab answers 404 when
 * the ref and pipeline_id name no pipeline together (Ci::CreateCommitStatusService#validate).
 */
export async function setCommitStatus(api: GitLabClient, env: GitLabEnvironment, step: StepName, verdict: Verdict | 'error', description: string): Promise<void> {
  await api.Commits.editStatus(env.projectId, env.sha, STATE[verdict], {
    name: `ferry / ${step}`,
    description: description.slice(0, 255),
    ...(env.jobUrl ? { targetUrl: env.jobUrl } : {}),
    ...(env.pipelineId !== undefined ? { pipelineId: env.pipelineId } : {}),
  });
}

/** The HTTP status of a failed gitbeaker request, when GitLab answered at all. */
export function responseStatus(err: unknown): number | undefined {
  const status = (err as { cause?: { response?: { status?: unknown } } } | null)?.cause?.response?.status;
  return typeof status === 'number' ? status : undefined;
}
