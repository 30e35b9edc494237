// Commit statuses: create one on a SHA, and list those of a ref (newest first), which is what a
// client reads back to confirm the status it set.
import { pageResult } from '../pagination.js';
import { nodeId, simpleUser, timestamp, type CommitStatus } from '../resources.js';
import { repoKey } from '../store.js';
import { GitHubError, type Handler } from './types.js';

interface StatusInput {
  state: 'error' | 'failure' | 'pending' | 'success';
  target_url?: string | null;
  description?: string | null;
  context?: string;
}

const create: Handler = (request, context) => {
  const { owner, repo, sha } = request.params as { owner: string; repo: string; sha: string };
  const input = request.body as StatusInput;
  // GitHub refuses statuses on commits it does not know; the fake knows every full SHA.
  if (!/^[0-9a-f]{40}$/i.test(sha)) {
    throw new GitHubError(422, `No commit found for SHA: ${sha}`, true);
  }
  const id = context.state.nextId();
  const now = timestamp();
  const creator = simpleUser(context.viewer, context.urls);
  const status: CommitStatus = {
    id,
    node_id: nodeId('SC', id),
    url: context.urls.repoApi(owner, repo, `/statuses/${sha}`),
    avatar_url: String(creator.avatar_url),
    state: input.state,
    description: input.description ?? null,
    target_url: input.target_url ?? null,
    context: input.context ?? 'default',
    created_at: now,
    updated_at: now,
    creator,
  };
  context.state.statuses.push({ repo: repoKey(owner, repo), sha: sha.toLowerCase(), value: status });
  return { status: 201, body: status, headers: { location: status.url } };
};

const listForRef: Handler = (request, context) => {
  const { owner, repo, ref } = request.params as { owner: string; repo: string; ref: string };
  const key = repoKey(owner, repo);
  const sha = context.state.resolveRef(key, ref);
  const statuses = context.state.statuses
    .filter((s) => s.repo === key && s.sha === sha)
    .map((s) => s.value)
    .sort((a, b) => b.id - a.id);
  return pageResult(statuses, request.url);
};

export const commitStatusHandlers: Record<string, Handler> = {
  'repos/create-commit-status': create,
  'repos/list-commit-statuses-for-ref': listForRef,
};
