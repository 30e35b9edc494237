// Deployments and their statuses, with GitHub's defaults and side effects: required status
// contexts gate creation (409), and a success status retires earlier deployments (auto_inactive).
import { pageResult } from '../pagination.js';
import { nodeId, simpleUser, timestamp, type Deployment, type DeploymentStatus } from '../resources.js';
import { repoKey, type GitHubState } from '../store.js';
import { GitHubError, intParam, notFound, type Handler, type HandlerContext, type HandlerRequest } from './types.js';

interface DeploymentInput {
  ref: string;
  task?: string;
  auto_merge?: boolean;
  required_contexts?: string[];
  payload?: Record<string, unknown> | string;
  environment?: string;
  description?: string | null;
  transient_environment?: boolean;
  production_environment?: boolean;
}

interface StatusInput {
  state: DeploymentStatus['state'];
  target_url?: string;
  log_url?: string;
  description?: string;
  environment?: string;
  environment_url?: string;
  auto_inactive?: boolean;
}

const PASSING_CHECKS = new Set(['success', 'neutral', 'skipped']);

const create: Handler = (request, context) => {
  const { owner, repo } = request.params as { owner: string; repo: string };
  const input = request.body as DeploymentInput;
  const key = repoKey(owner, repo);
  const sha = context.state.resolveRef(key, input.ref);
  const failing = failingContexts(context.state, key, sha, input.required_contexts);
  if (failing.length > 0) {
    throw new GitHubError(409, `Conflict: Commit status checks failed for ${input.ref}.`, false, [
      { resource: 'Deployment', field: 'required_contexts', code: 'invalid', contexts: failing },
    ]);
  }
  const id = context.state.nextId();
  const now = timestamp();
  const environment = input.environment ?? 'production';
  const deployment: Deployment = {
    id,
    node_id: nodeId('DE', id),
    url: context.urls.repoApi(owner, repo, `/deployments/${id}`),
    sha,
    ref: input.ref,
    task: input.task ?? 'deploy',
    payload: input.payload === undefined || input.payload === '' ? {} : input.payload,
    original_environment: environment,
    environment,
    description: input.description ?? null,
    creator: simpleUser(context.viewer, context.urls),
    created_at: now,
    updated_at: now,
    statuses_url: context.urls.repoApi(owner, repo, `/deployments/${id}/statuses`),
    repository_url: context.urls.repoApi(owner, repo),
    transient_environment: input.transient_environment ?? false,
    production_environment: input.production_environment ?? environment === 'production',
    performed_via_github_app: null,
  };
  context.state.deployments.set(id, { repo: key, value: deployment });
  context.state.deploymentStatuses.set(id, []);
  return { status: 201, body: deployment };
};

const list: Handler = (request, context) => {
  const { owner, repo } = request.params as { owner: string; repo: string };
  const filters = ['sha', 'ref', 'task', 'environment'] as const;
  const deployments = [...context.state.deployments.values()]
    .filter((d) => d.repo === repoKey(owner, repo))
    .map((d) => d.value)
    .filter((d) => filters.every((f) => !request.query.has(f) || d[f] === request.query.get(f)))
    .sort((a, b) => b.id - a.id);
  return pageResult(deployments, request.url);
};

const get: Handler = (request, context) => ({ status: 200, body: find(request, context) });

const createStatus: Handler = (request, context) => {
  const deployment = find(request, context);
  const input = request.body as StatusInput;
  if ((input.description ?? '').length > 140) {
    throw new GitHubError(422, 'Validation Failed: description is too long (maximum is 140 characters)', true);
  }
  if (input.environment !== undefined) deployment.environment = input.environment;
  const status = addStatus(context, deployment, {
    state: input.state,
    description: input.description ?? '',
    target_url: input.log_url ?? input.target_url ?? '',
    environment_url: input.environment_url ?? '',
  });
  if (input.state === 'success' && input.auto_inactive !== false) retirePrevious(context, deployment);
  return { status: 201, body: status };
};

const listStatuses: Handler = (request, context) => {
  const deployment = find(request, context);
  const statuses = [...(context.state.deploymentStatuses.get(deployment.id) ?? [])].sort((a, b) => b.id - a.id);
  return pageResult(statuses, request.url);
};

function addStatus(
  context: HandlerContext,
  deployment: Deployment,
  fields: Pick<DeploymentStatus, 'state' | 'description' | 'target_url' | 'environment_url'>,
): DeploymentStatus {
  const id = context.state.nextId();
  const now = timestamp();
  const status: DeploymentStatus = {
    id,
    node_id: nodeId('DES', id),
    url: `${deployment.url}/statuses/${id}`,
    state: fields.state,
    creator: simpleUser(context.viewer, context.urls),
    description: fields.description,
    environment: deployment.environment,
    target_url: fields.target_url,
    log_url: fields.target_url,
    environment_url: fields.environment_url,
    created_at: now,
    updated_at: now,
    deployment_url: deployment.url,
    repository_url: deployment.repository_url,
    performed_via_github_app: null,
  };
  context.state.deploymentStatuses.get(deployment.id)?.push(status);
  deployment.updated_at = now;
  return status;
}

// "Adds a new inactive status to all prior non-transient, non-production environment
// deployments with the same repository and environment name ... that had a success state."
function retirePrevious(context: HandlerContext, current: Deployment): void {
  for (const { value: d } of context.state.deployments.values()) {
    if (d.repository_url !== current.repository_url || d.id >= current.id) continue;
    if (d.environment !== current.environment) continue;
    if (d.transient_environment || d.production_environment) continue;
    const statuses = context.state.deploymentStatuses.get(d.id) ?? [];
    const latest = statuses.at(-1);
    if (!statuses.some((s) => s.state === 'success') || latest?.state === 'inactive') continue;
    addStatus(context, d, { state: 'inactive', description: '', target_url: '', environment_url: '' });
  }
}

/**
 * Contexts that block a deployment: the latest commit status or check run of each required
 * context must pass. Omitting `required_contexts` requires every context the commit has.
 */
function failingContexts(state: GitHubState, repo: string, sha: string, required?: string[]): { context: string; state: string }[] {
  const latest = new Map<string, string>();
  for (const s of state.statuses) {
    if (s.repo === repo && s.sha === sha) latest.set(s.value.context, s.value.state);
  }
  const runs = [...state.checkRuns.values()].filter((r) => r.repo === repo && r.value.head_sha === sha);
  for (const { value: run } of runs.sort((a, b) => a.value.id - b.value.id)) {
    const passed = run.status === 'completed' && PASSING_CHECKS.has(run.conclusion ?? '');
    latest.set(run.name, passed ? 'success' : (run.conclusion ?? run.status));
  }
  return (required ?? [...latest.keys()])
    .map((context) => ({ context, state: latest.get(context) ?? 'missing' }))
    .filter((c) => c.state !== 'success');
}

function find(request: HandlerRequest, context: HandlerContext): Deployment {
  const { owner, repo } = request.params as { owner: string; repo: string };
  const record = context.state.deployments.get(intParam(request, 'deployment_id'));
  if (!record || record.repo !== repoKey(owner, repo)) throw notFound();
  return record.value;
}

export const deploymentHandlers: Record<string, Handler> = {
  'repos/create-deployment': create,
  'repos/list-deployments': list,
  'repos/get-deployment': get,
  'repos/create-deployment-status': createStatus,
  'repos/list-deployment-statuses': listStatuses,
};
