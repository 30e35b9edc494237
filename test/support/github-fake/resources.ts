// The shapes the fake stores and serves, and builders for the objects GitHub nests inside them
// (users, the Actions app, URLs), filled the way api.github.com fills them.

/** Who the token belongs to: by default the `GITHUB_TOKEN` of a workflow run. */
export interface Viewer {
  login: string;
  id: number;
  type: 'User' | 'Bot' | 'Organization';
}

export const ACTIONS_BOT: Viewer = { login: 'github-actions[bot]', id: 41898282, type: 'Bot' };

export interface CheckRun {
  id: number;
  node_id: string;
  head_sha: string;
  external_id: string | null;
  url: string;
  html_url: string | null;
  details_url: string | null;
  status: 'queued' | 'in_progress' | 'completed' | 'waiting' | 'requested' | 'pending';
  conclusion: string | null;
  started_at: string | null;
  completed_at: string | null;
  output: {
    title: string | null;
    summary: string | null;
    text: string | null;
    annotations_count: number;
    annotations_url: string;
  };
  name: string;
  check_suite: { id: number } | null;
  app: Record<string, unknown> | null;
  pull_requests: Record<string, unknown>[];
}

/** What a client sent for one annotation, as stored for assertions. */
export interface Annotation {
  path: string;
  start_line: number;
  end_line: number;
  start_column?: number;
  end_column?: number;
  annotation_level: 'notice' | 'warning' | 'failure';
  message: string;
  title?: string;
  raw_details?: string;
}

export interface IssueComment {
  id: number;
  node_id: string;
  url: string;
  html_url: string;
  issue_url: string;
  body: string;
  user: Record<string, unknown> | null;
  created_at: string;
  updated_at: string;
  author_association: string;
  performed_via_github_app: null;
}

export interface Deployment {
  id: number;
  node_id: string;
  url: string;
  sha: string;
  ref: string;
  task: string;
  payload: Record<string, unknown> | string;
  original_environment: string;
  environment: string;
  description: string | null;
  creator: Record<string, unknown> | null;
  created_at: string;
  updated_at: string;
  statuses_url: string;
  repository_url: string;
  transient_environment: boolean;
  production_environment: boolean;
  performed_via_github_app: null;
}

export interface DeploymentStatus {
  id: number;
  node_id: string;
  url: string;
  state: 'error' | 'failure' | 'inactive' | 'pending' | 'success' | 'queued' | 'in_progress';
  creator: Record<string, unknown> | null;
  description: string;
  environment: string;
  target_url: string;
  log_url: string;
  environment_url: string;
  created_at: string;
  updated_at: string;
  deployment_url: string;
  repository_url: string;
  performed_via_github_app: null;
}

export interface CommitStatus {
  id: number;
  node_id: string;
  url: string;
  avatar_url: string | null;
  state: string;
  description: string | null;
  target_url: string | null;
  context: string;
  created_at: string;
  updated_at: string;
  creator: Record<string, unknown> | null;
}

/** Where the fake's API and web pages live, to build the URLs GitHub embeds in every object. */
export class Urls {
  constructor(
    readonly api: string,
    readonly html: string,
  ) {}

  repoApi(owner: string, repo: string, rest = ''): string {
    return `${this.api}/repos/${owner}/${repo}${rest}`;
  }

  repoHtml(owner: string, repo: string, rest = ''): string {
    return `${this.html}/${owner}/${repo}${rest}`;
  }
}

/** GitHub's global relay ids are opaque base64; tests only need them unique and stable. */
export function nodeId(prefix: string, id: number): string {
  return `${prefix}_${Buffer.from(`${prefix}:${id}`).toString('base64url')}`;
}

/** GitHub timestamps carry whole seconds and a `Z`. */
export function timestamp(date = new Date()): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

export function simpleUser(viewer: Viewer, urls: Urls): Record<string, unknown> {
  const api = `${urls.api}/users/${encodeURIComponent(viewer.login)}`;
  return {
    login: viewer.login,
    id: viewer.id,
    node_id: nodeId(viewer.type === 'Bot' ? 'BOT' : 'U', viewer.id),
    avatar_url: `${urls.html}/avatars/u/${viewer.id}?v=4`,
    gravatar_id: '',
    url: api,
    html_url: `${urls.html}/${viewer.type === 'Bot' ? 'apps/' : ''}${viewer.login.replace(/\[bot\]$/, '')}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: viewer.type,
    user_view_type: 'public',
    site_admin: false,
  };
}

/** The GitHub Actions app, which owns check runs created with a workflow's GITHUB_TOKEN. */
export function actionsApp(urls: Urls): Record<string, unknown> {
  const owner: Viewer = { login: 'github', id: 9919, type: 'Organization' };
  return {
    id: 15368,
    slug: 'github-actions',
    node_id: 'MDM6QXBwMTUzNjg=',
    owner: simpleUser(owner, urls),
    name: 'GitHub Actions',
    description: 'Automate your workflow from idea to production',
    external_url: `${urls.html}/features/actions`,
    html_url: `${urls.html}/apps/github-actions`,
    created_at: '2018-07-30T09:30:17Z',
    updated_at: '2024-04-10T20:33:16Z',
    permissions: { checks: 'write', deployments: 'write', issues: 'write', metadata: 'read', statuses: 'write' },
    events: ['check_run', 'check_suite', 'deployment', 'deployment_status', 'issue_comment', 'status'],
  };
}
