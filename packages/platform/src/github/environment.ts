// What the GitHub runner tells a job about where it runs, read from its environment and event payload.
import { readFileSync } from 'node:fs';

export interface GitHubEnvironment {
  readonly apiUrl: string;
  readonly serverUrl: string;
  readonly owner: string;
  readonly repo: string;
  /** The commit checks and statuses belong to: the PR head, not the merge commit, on pull requests. */
  readonly headSha: string;
  readonly ref: string;
  readonly eventName: string;
  readonly pullNumber: number | undefined;
  readonly runUrl: string | undefined;
  readonly workspace: string;
}

interface EventPayload {
  pull_request?: { number?: number; head?: { sha?: string; ref?: string } };
  number?: number;
}

export function readGitHubEnvironment(env: Readonly<Record<string, string | undefined>>): GitHubEnvironment {
  const [owner = '', repo = ''] = (env.GITHUB_REPOSITORY ?? '').split('/');
  let payload: EventPayload = {};
  if (env.GITHUB_EVENT_PATH) {
    try {
      payload = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as EventPayload;
    } catch {
      payload = {};
    }
  }
  const pr = payload.pull_request;
  const serverUrl = env.GITHUB_SERVER_URL ?? 'https://github.com';
  const runUrl = env.GITHUB_RUN_ID && env.GITHUB_REPOSITORY ? `${serverUrl}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : undefined;
  return {
    apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com',
    serverUrl,
    owner,
    repo,
    headSha: pr?.head?.sha ?? env.GITHUB_SHA ?? '',
    ref: pr?.head?.ref ?? env.GITHUB_REF_NAME ?? env.GITHUB_REF ?? '',
    eventName: env.GITHUB_EVENT_NAME ?? '',
    pullNumber: pr?.number ?? (pr ? payload.number : undefined),
    runUrl,
    workspace: env.GITHUB_WORKSPACE ?? process.cwd(),
  };
}
