// Check runs: create, update, read, list for a ref, and list annotations, following the
// documented rules (a conclusion completes the run; annotations accumulate across updates).
import { pageResult } from '../pagination.js';
import { actionsApp, nodeId, timestamp, type Annotation, type CheckRun } from '../resources.js';
import { repoKey, type GitHubState } from '../store.js';
import { GitHubError, intParam, notFound, type Handler, type HandlerContext, type HandlerRequest } from './types.js';

interface CheckRunInput {
  name?: string;
  head_sha?: string;
  details_url?: string;
  external_id?: string;
  status?: CheckRun['status'];
  conclusion?: string;
  started_at?: string;
  completed_at?: string;
  output?: { title?: string; summary: string; text?: string; annotations?: Annotation[] };
}

const create: Handler = (request, context) => {
  const { owner, repo } = request.params as { owner: string; repo: string };
  const input = request.body as CheckRunInput & { name: string; head_sha: string };
  const id = context.state.nextId();
  const run: CheckRun = {
    id,
    node_id: nodeId('CR', id),
    head_sha: input.head_sha,
    external_id: '',
    url: context.urls.repoApi(owner, repo, `/check-runs/${id}`),
    html_url: context.urls.repoHtml(owner, repo, `/runs/${id}`),
    details_url: null,
    status: 'queued',
    conclusion: null,
    started_at: timestamp(),
    completed_at: null,
    output: {
      title: null,
      summary: null,
      text: null,
      annotations_count: 0,
      annotations_url: context.urls.repoApi(owner, repo, `/check-runs/${id}/annotations`),
    },
    name: input.name,
    check_suite: { id: context.state.checkSuiteId(repoKey(owner, repo), input.head_sha) },
    app: actionsApp(context.urls),
    pull_requests: pullRequestsFor(context, owner, repo, input.head_sha),
  };
  context.state.annotations.set(id, []);
  apply(run, input, context.state);
  context.state.checkRuns.set(id, { repo: repoKey(owner, repo), value: run });
  return { status: 201, body: run };
};

const update: Handler = (request, context) => {
  const run = find(request, context);
  apply(run, request.body as CheckRunInput, context.state);
  return { status: 200, body: run };
};

const get: Handler = (request, context) => ({ status: 200, body: find(request, context) });

const listForRef: Handler = (request, context) => {
  const { owner, repo, ref } = request.params as { owner: string; repo: string; ref: string };
  const sha = context.state.resolveRef(repoKey(owner, repo), ref);
  const name = request.query.get('check_name');
  const status = request.query.get('status');
  let runs = [...context.state.checkRuns.values()]
    .filter((r) => r.repo === repoKey(owner, repo) && r.value.head_sha === sha)
    .map((r) => r.value)
    .filter((r) => (name === null || r.name === name) && (status === null || r.status === status))
    .sort((a, b) => b.id - a.id);
  // `filter=latest` (the default) keeps only the most recent run of each name.
  if ((request.query.get('filter') ?? 'latest') === 'latest') {
    runs = runs.filter((r, i) => runs.findIndex((o) => o.name === r.name) === i);
  }
  return pageResult(runs, request.url, (items) => ({ total_count: runs.length, check_runs: items }));
};

const listAnnotations: Handler = (request, context) => {
  const run = find(request, context);
  const { owner, repo } = request.params as { owner: string; repo: string };
  const stored = context.state.annotations.get(run.id) ?? [];
  const annotations = stored.map((a) => ({
    path: a.path,
    blob_href: context.urls.repoHtml(owner, repo, `/blob/${run.head_sha}/${a.path}`),
    start_line: a.start_line,
    end_line: a.end_line,
    start_column: a.start_column ?? null,
    end_column: a.end_column ?? null,
    annotation_level: a.annotation_level,
    title: a.title ?? null,
    message: a.message,
    raw_details: a.raw_details ?? null,
  }));
  return pageResult(annotations, request.url);
};

function apply(run: CheckRun, input: CheckRunInput, state: GitHubState): void {
  // Checked before anything changes, so a refused update leaves the run as it was.
  const status = input.conclusion !== undefined ? 'completed' : (input.status ?? run.status);
  if (status === 'completed' && (input.conclusion ?? run.conclusion) === null) {
    throw new GitHubError(422, 'Invalid request.\n\n"conclusion" is required when "status" is "completed".', true);
  }
  if (input.name !== undefined) run.name = input.name;
  if (input.details_url !== undefined) run.details_url = input.details_url;
  if (input.external_id !== undefined) run.external_id = input.external_id;
  if (input.started_at !== undefined) run.started_at = input.started_at;
  if (input.status !== undefined) run.status = input.status;
  // "Providing conclusion will automatically set the status parameter to completed."
  if (input.conclusion !== undefined) {
    run.conclusion = input.conclusion;
    run.status = 'completed';
  }
  if (run.status === 'completed') run.completed_at = input.completed_at ?? run.completed_at ?? timestamp();
  if (input.output) {
    run.output.title = input.output.title ?? run.output.title;
    run.output.summary = input.output.summary;
    run.output.text = input.output.text ?? run.output.text;
    const stored = state.annotations.get(run.id) ?? [];
    stored.push(...(input.output.annotations ?? []));
    state.annotations.set(run.id, stored);
    run.output.annotations_count = stored.length;
  }
}

function find(request: HandlerRequest, context: HandlerContext): CheckRun {
  const { owner, repo } = request.params as { owner: string; repo: string };
  const record = context.state.checkRuns.get(intParam(request, 'check_run_id'));
  if (!record || record.repo !== repoKey(owner, repo)) throw notFound();
  return record.value;
}

// Open pull requests whose head is the run's commit, as GitHub links them.
function pullRequestsFor(context: HandlerContext, owner: string, repo: string, sha: string): Record<string, unknown>[] {
  return [...context.state.pulls.values()]
    .filter((pr) => repoKey(pr.owner, pr.repo) === repoKey(owner, repo) && pr.headSha === sha && pr.state !== 'closed')
    .map((pr) => {
      const repoRef = { id: 1, url: context.urls.repoApi(owner, repo), name: repo };
      return {
        id: pr.id,
        number: pr.number,
        url: context.urls.repoApi(owner, repo, `/pulls/${pr.number}`),
        head: { ref: pr.headRef, sha: pr.headSha, repo: repoRef },
        base: { ref: pr.baseRef, sha: pr.baseSha, repo: repoRef },
      };
    });
}

export const checkRunHandlers: Record<string, Handler> = {
  'checks/create': create,
  'checks/update': update,
  'checks/get': get,
  'checks/list-for-ref': listForRef,
  'checks/list-annotations': listAnnotations,
};
