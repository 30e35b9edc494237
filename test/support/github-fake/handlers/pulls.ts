// Reading a pull request. The full pull-request object nests two complete repositories (70+
// required fields each), so it starts from GitHub's own documented example, re-pointed at the
// fake's URLs and the seeded values, rather than a hand-written copy that would drift.
import { timestamp } from '../resources.js';
import { repoKey, type PullRequestRecord } from '../store.js';
import { intParam, notFound, type Handler, type HandlerContext } from './types.js';

const EXAMPLE_SHA = '6dcb09b5b57875f334f61aebed695e2e4193db5e';

const get: Handler = (request, context) => {
  const { owner, repo } = request.params as { owner: string; repo: string };
  const pr = context.state.pull(repoKey(owner, repo), intParam(request, 'pull_number'));
  if (!pr) throw notFound();
  return { status: 200, body: pullRequest(pr, context) };
};

function pullRequest(pr: PullRequestRecord, context: HandlerContext): Record<string, unknown> {
  const example = context.example('pull-request') as Record<string, unknown>;
  const exampleNumber = String(example.number);
  const text = JSON.stringify(example)
    .replaceAll('https://api.github.com', context.urls.api)
    .replaceAll('https://github.com', context.urls.html)
    .replaceAll('octocat/Hello-World', `${pr.owner}/${pr.repo}`)
    .replace(new RegExp(`/${exampleNumber}(?=["/.#])`, 'g'), `/${pr.number}`)
    .replaceAll(EXAMPLE_SHA, pr.headSha);
  const body = JSON.parse(text) as Record<string, unknown>;
  const closed = pr.state === 'closed';
  Object.assign(body, {
    id: pr.id,
    node_id: `PR_${Buffer.from(`PR:${pr.id}`).toString('base64url')}`,
    number: pr.number,
    state: pr.state,
    title: pr.title,
    body: pr.body,
    draft: pr.draft,
    locked: false,
    labels: [],
    milestone: null,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    // The documented example's team lacks the now-required `type`; Ferry never reads teams.
    requested_teams: [],
    created_at: pr.createdAt,
    updated_at: pr.createdAt,
    closed_at: closed ? timestamp() : null,
    merged: false,
    merged_at: null,
    merged_by: null,
    merge_commit_sha: null,
    auto_merge: null,
  });
  for (const [side, ref, sha] of [['head', pr.headRef, pr.headSha], ['base', pr.baseRef, pr.baseSha]] as const) {
    const branch = body[side] as Record<string, unknown>;
    Object.assign(branch, { ref, sha, label: `${pr.owner}:${ref}` });
    Object.assign(branch.repo as object, { name: pr.repo, full_name: `${pr.owner}/${pr.repo}` });
  }
  return body;
}

export const pullHandlers: Record<string, Handler> = {
  'pulls/get': get,
};
