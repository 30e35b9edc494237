// Where the build runs, as image metadata needs it: the source repository, the commit the image is
// built from (on a pull or merge request the head of the branch, never the merge commit the CI
// checked out), the branch, whether it is the default one, the PR number and the commit time.
// Read from GitHub's or GitLab's variables and event payload, else from git in the working
// directory, else left unknown.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

type Env = Readonly<Record<string, string | undefined>>;

export interface SourceContext {
  readonly platform: 'github' | 'gitlab' | 'git' | 'none';
  /** https URL of the repository, for org.opencontainers.image.source. */
  readonly repositoryUrl: string | undefined;
  /** Full commit sha the image is built from. */
  readonly revision: string | undefined;
  /** Branch (or tag) name. */
  readonly ref: string | undefined;
  readonly refType: 'branch' | 'tag' | undefined;
  readonly defaultBranch: string | undefined;
  /** Pull request (GitHub) or merge request iid (GitLab). */
  readonly pullRequest: number | undefined;
  /** Seconds since the epoch of the revision's commit, when known. */
  readonly commitTime: number | undefined;
  /** Where the build ran (a workflow run or job URL), for provenance. */
  readonly runUrl: string | undefined;
  /** The CI's identity of this run, for provenance. */
  readonly invocationId: string | undefined;
  readonly builderId: string | undefined;
}

interface GitHubEvent {
  pull_request?: { number?: number; head?: { sha?: string; ref?: string } };
  repository?: { default_branch?: string };
  head_commit?: { timestamp?: string };
}

function git(args: readonly string[], cwd: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', [...args], { cwd, timeout: 10_000, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } }, (error, stdout) => {
      resolve(error ? undefined : stdout.trim() || undefined);
    });
  });
}

const seconds = (iso: string | undefined): number | undefined => {
  if (!iso) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
};

async function commitTimeFromGit(revision: string | undefined, cwd: string): Promise<number | undefined> {
  if (revision === undefined) return undefined;
  const text = await git(['log', '-1', '--format=%ct', revision], cwd);
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/** "git@host:group/repo.git" or "https://user:token@host/group/repo.git" → "https://host/group/repo" (never credentials). */
export function repositoryUrlFromRemote(remote: string): string | undefined {
  const scp = /^[\w.-]+@([\w.-]+):(.+?)(?:\.git)?\/?$/.exec(remote);
  if (scp) return `https://${scp[1]}/${scp[2]}`;
  try {
    const url = new URL(remote);
    if (!['https:', 'http:', 'ssh:', 'git:'].includes(url.protocol)) return undefined;
    return `https://${url.hostname}${url.pathname.replace(/\.git\/?$/, '').replace(/\/$/, '')}`;
  } catch {
    return undefined;
  }
}

async function fromGitHub(env: Env, cwd: string): Promise<SourceContext> {
  let event: GitHubEvent = {};
  if (env.GITHUB_EVENT_PATH) {
    try {
      event = JSON.parse(await readFile(env.GITHUB_EVENT_PATH, 'utf8')) as GitHubEvent;
    } catch {
      event = {};
    }
  }
  const pr = event.pull_request;
  const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
  const revision = pr?.head?.sha ?? env.GITHUB_SHA;
  const runUrl = env.GITHUB_RUN_ID && env.GITHUB_REPOSITORY ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : undefined;
  return {
    platform: 'github',
    repositoryUrl: env.GITHUB_REPOSITORY ? `${server}/${env.GITHUB_REPOSITORY}` : undefined,
    revision,
    ref: pr ? (pr.head?.ref ?? env.GITHUB_HEAD_REF) : env.GITHUB_REF_NAME,
    refType: pr ? 'branch' : env.GITHUB_REF_TYPE === 'tag' ? 'tag' : env.GITHUB_REF_TYPE === 'branch' ? 'branch' : undefined,
    defaultBranch: event.repository?.default_branch,
    pullRequest: typeof pr?.number === 'number' ? pr.number : undefined,
    // A push event carries its head commit's time; a pull request's head may not be fetched, so git may not know it either.
    commitTime: (pr ? undefined : seconds(event.head_commit?.timestamp)) ?? (await commitTimeFromGit(revision, cwd)),
    runUrl: runUrl !== undefined && env.GITHUB_RUN_ATTEMPT ? `${runUrl}/attempts/${env.GITHUB_RUN_ATTEMPT}` : runUrl,
    invocationId: runUrl,
    builderId: env.GITHUB_WORKFLOW_REF ? `${server}/${env.GITHUB_WORKFLOW_REF}` : `${server}/actions/runner`,
  };
}

async function fromGitLab(env: Env, cwd: string): Promise<SourceContext> {
  const mergeRequest = env.CI_MERGE_REQUEST_IID && /^\d+$/.test(env.CI_MERGE_REQUEST_IID) ? Number(env.CI_MERGE_REQUEST_IID) : undefined;
  // In a merged-results pipeline CI_COMMIT_SHA is the temporary merge commit; the branch head is this one.
  const revision = env.CI_MERGE_REQUEST_SOURCE_BRANCH_SHA || env.CI_COMMIT_SHA;
  const headIsCommit = revision === env.CI_COMMIT_SHA;
  return {
    platform: 'gitlab',
    repositoryUrl: env.CI_PROJECT_URL,
    revision,
    ref: mergeRequest !== undefined ? env.CI_MERGE_REQUEST_SOURCE_BRANCH_NAME : (env.CI_COMMIT_TAG ?? env.CI_COMMIT_BRANCH ?? env.CI_COMMIT_REF_NAME),
    refType: env.CI_COMMIT_TAG ? 'tag' : env.CI_COMMIT_BRANCH || mergeRequest !== undefined ? 'branch' : undefined,
    defaultBranch: env.CI_DEFAULT_BRANCH,
    pullRequest: mergeRequest,
    commitTime: (headIsCommit ? seconds(env.CI_COMMIT_TIMESTAMP) : undefined) ?? (await commitTimeFromGit(revision, cwd)),
    runUrl: env.CI_JOB_URL,
    invocationId: env.CI_JOB_URL,
    builderId: env.CI_SERVER_URL ? `${env.CI_SERVER_URL}/runner${env.CI_RUNNER_ID ? `/${env.CI_RUNNER_ID}` : ''}` : undefined,
  };
}

async function fromGit(cwd: string): Promise<SourceContext> {
  const revision = await git(['rev-parse', '--verify', '-q', 'HEAD'], cwd);
  if (revision === undefined) {
    return {
      platform: 'none', repositoryUrl: undefined, revision: undefined, ref: undefined, refType: undefined, defaultBranch: undefined,
      pullRequest: undefined, commitTime: undefined, runUrl: undefined, invocationId: undefined, builderId: undefined,
    };
  }
  const remote = await git(['config', '--get', 'remote.origin.url'], cwd);
  const branch = await git(['symbolic-ref', '-q', '--short', 'HEAD'], cwd);
  const originHead = await git(['symbolic-ref', '-q', '--short', 'refs/remotes/origin/HEAD'], cwd);
  return {
    platform: 'git',
    repositoryUrl: remote === undefined ? undefined : repositoryUrlFromRemote(remote),
    revision,
    ref: branch,
    refType: branch === undefined ? undefined : 'branch',
    defaultBranch: originHead?.replace(/^origin\//, ''),
    pullRequest: undefined,
    commitTime: await commitTimeFromGit(revision, cwd),
    runUrl: undefined,
    invocationId: undefined,
    builderId: undefined,
  };
}

export async function readSourceContext(env: Env, cwd: string): Promise<SourceContext> {
  if (env.GITHUB_ACTIONS === 'true') return fromGitHub(env, cwd);
  if (env.GITLAB_CI === 'true' || env.CI_PROJECT_URL !== undefined) return fromGitLab(env, cwd);
  return fromGit(cwd);
}
