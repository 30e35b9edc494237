// Issue and pull request comments, which carry Ferry's sticky report: list (paginated, oldest
// first, `since` on updated_at), create, read, edit and delete.
import { pageResult } from '../pagination.js';
import { nodeId, simpleUser, timestamp, type IssueComment } from '../resources.js';
import { repoKey } from '../store.js';
import { intParam, notFound, type Handler, type HandlerContext, type HandlerRequest } from './types.js';

const list: Handler = (request, context) => {
  const { owner, repo } = request.params as { owner: string; repo: string };
  const issue = intParam(request, 'issue_number');
  const since = request.query.get('since');
  const comments = [...context.state.comments.values()]
    .filter((c) => c.repo === repoKey(owner, repo) && c.issue === issue)
    .map((c) => c.value)
    .filter((c) => since === null || Date.parse(c.updated_at) >= Date.parse(since))
    .sort((a, b) => a.id - b.id);
  return pageResult(comments, request.url);
};

const create: Handler = (request, context) => {
  const { owner, repo } = request.params as { owner: string; repo: string };
  const issue = intParam(request, 'issue_number');
  const id = context.state.nextId();
  const now = timestamp();
  const kind = context.state.pull(repoKey(owner, repo), issue) ? 'pull' : 'issues';
  const comment: IssueComment = {
    id,
    node_id: nodeId('IC', id),
    url: context.urls.repoApi(owner, repo, `/issues/comments/${id}`),
    html_url: context.urls.repoHtml(owner, repo, `/${kind}/${issue}#issuecomment-${id}`),
    issue_url: context.urls.repoApi(owner, repo, `/issues/${issue}`),
    body: (request.body as { body: string }).body,
    user: simpleUser(context.viewer, context.urls),
    created_at: now,
    updated_at: now,
    author_association: 'NONE',
    performed_via_github_app: null,
  };
  context.state.comments.set(id, { repo: repoKey(owner, repo), issue, value: comment });
  return { status: 201, body: comment };
};

const get: Handler = (request, context) => ({ status: 200, body: find(request, context) });

const update: Handler = (request, context) => {
  const comment = find(request, context);
  comment.body = (request.body as { body: string }).body;
  comment.updated_at = timestamp();
  return { status: 200, body: comment };
};

const remove: Handler = (request, context) => {
  find(request, context);
  context.state.comments.delete(intParam(request, 'comment_id'));
  return { status: 204 };
};

function find(request: HandlerRequest, context: HandlerContext): IssueComment {
  const { owner, repo } = request.params as { owner: string; repo: string };
  const record = context.state.comments.get(intParam(request, 'comment_id'));
  if (!record || record.repo !== repoKey(owner, repo)) throw notFound();
  return record.value;
}

export const issueCommentHandlers: Record<string, Handler> = {
  'issues/list-comments': list,
  'issues/create-comment': create,
  'issues/get-comment': get,
  'issues/update-comment': update,
  'issues/delete-comment': remove,
};
