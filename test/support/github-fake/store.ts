// The fake's in-memory repository state: what clients created, kept as GitHub would return it,
// keyed by repository so two repos in one test never see each other's records.
import { createHash } from 'node:crypto';
import type { Annotation, CheckRun, CommitStatus, Deployment, DeploymentStatus, IssueComment } from './resources.js';

/** A record plus the repository (`owner/repo`, lower-cased as GitHub matches it) it belongs to. */
export interface Scoped<T> {
  repo: string;
  value: T;
}

export interface PullRequestSeed {
  owner: string;
  repo: string;
  number: number;
  title?: string;
  body?: string | null;
  state?: 'open' | 'closed';
  draft?: boolean;
  headRef?: string;
  headSha?: string;
  baseRef?: string;
  baseSha?: string;
}

/** A seeded pull request with every default filled in. */
export type PullRequestRecord = Required<PullRequestSeed> & { id: number; createdAt: string };

export class GitHubState {
  // One counter for every kind, so an id of the wrong kind (a comment id used as a check run
  // id) is a 404 rather than a lucky hit.
  private lastId = 1_000_000;
  readonly checkRuns = new Map<number, Scoped<CheckRun>>();
  readonly annotations = new Map<number, Annotation[]>();
  readonly checkSuites = new Map<string, number>();
  readonly comments = new Map<number, Scoped<IssueComment> & { issue: number }>();
  readonly deployments = new Map<number, Scoped<Deployment>>();
  readonly deploymentStatuses = new Map<number, DeploymentStatus[]>();
  readonly statuses: (Scoped<CommitStatus> & { sha: string })[] = [];
  readonly pulls = new Map<string, PullRequestRecord>();

  nextId(): number {
    return ++this.lastId;
  }

  checkSuiteId(repo: string, sha: string): number {
    const key = `${repo}@${sha}`;
    let id = this.checkSuites.get(key);
    if (id === undefined) this.checkSuites.set(key, (id = this.nextId()));
    return id;
  }

  pull(repo: string, number: number): PullRequestRecord | undefined {
    return this.pulls.get(`${repo}#${number}`);
  }

  /**
   * The commit a ref names. Full SHAs name themselves and seeded pull request branches their head;
   * any other ref gets a stable made-up SHA, so the same ref always resolves the same way.
   */
  resolveRef(repo: string, ref: string): string {
    if (/^[0-9a-f]{40}$/i.test(ref)) return ref.toLowerCase();
    const branch = ref.replace(/^(refs\/)?heads\//, '');
    for (const pr of this.pulls.values()) {
      if (repoKey(pr.owner, pr.repo) === repo && pr.headRef === branch) return pr.headSha;
    }
    return createHash('sha1').update(`${repo}:${branch}`).digest('hex');
  }
}

export function repoKey(owner: string, repo: string): string {
  return `${owner}/${repo}`.toLowerCase();
}
