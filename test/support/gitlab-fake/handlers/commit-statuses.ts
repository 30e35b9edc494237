// Commit statuses: POST /projects/{id}/statuses/{sha}, with GitLab's rules for reusing a status
// that is still pending or running under the same name and ref.
import { timestamp, userBasic, type CommitStatus } from '../resources.js';
import { bodyObject, GitLabError, type Handler } from './types.js';

const FINISHED = new Set(['success', 'failed', 'canceled', 'skipped']);
// The state-machine event GitLab fires for each requested state.
const EVENT: Record<CommitStatus['status'], string> = {
  pending: 'enqueue',
  running: 'run',
  success: 'success',
  failed: 'drop',
  canceled: 'cancel',
  skipped: 'skip',
};

export const createCommitStatus: Handler = (request, context) => {
  const sha = request.params.sha ?? '';
  // GitLab looks the commit up; a fake has no repository, so anything that is not a full SHA-1 or
  // SHA-256 hex name is the commit GitLab would not find.
  if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(sha)) throw new GitLabError(404, '404 Commit Not Found', true);
  const body = bodyObject(request.body);
  const project = context.state.project(request.params.id ?? '');
  const state = body.state as CommitStatus['status'];
  const name = str(body.name) ?? str(body.context) ?? 'default';
  const ref = str(body.ref) ?? context.defaultBranch;
  const pipelineId = typeof body.pipeline_id === 'number' ? body.pipeline_id : context.state.pipelineId(project, sha, ref);

  // Only a pending or running status with the same name, ref and pipeline is updated; a finished
  // one stays, and the new state becomes a new status (the old one is then retried).
  const existing = context.state.statuses.find(
    (s) =>
      s.project === project &&
      s.value.sha === sha &&
      s.value.name === name &&
      s.value.ref === ref &&
      s.value.pipeline_id === pipelineId &&
      (s.value.status === 'pending' || s.value.status === 'running'),
  )?.value;
  if (existing?.status === state) {
    throw new GitLabError(400, `Cannot transition status via :${EVENT[state]} from :${state}`, true);
  }
  const now = timestamp();
  const status: CommitStatus = existing ?? {
    id: context.state.nextId(),
    sha,
    ref,
    status: state,
    name,
    target_url: null,
    description: null,
    created_at: now,
    started_at: null,
    finished_at: null,
    allow_failure: false,
    coverage: null,
    pipeline_id: pipelineId,
    author: userBasic(context.user, context.webUrl),
  };
  status.status = state;
  status.target_url = str(body.target_url) ?? status.target_url;
  status.description = str(body.description) ?? status.description;
  if (typeof body.coverage === 'number') status.coverage = body.coverage;
  if (state === 'running') status.started_at ??= now;
  if (FINISHED.has(state)) status.finished_at = now;
  if (!existing) context.state.statuses.push({ project, value: status });
  return { status: 201, body: structuredClone(status) };
};

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
