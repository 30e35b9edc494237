// A fake GitHub REST API on loopback for tests. Every request and every response it serves is
// checked against GitHub's OpenAPI description; anything off is refused and kept as a violation.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultPlan, type FaultResponse, type PathPattern } from './faults.js';
import type { HandlerContext, HandlerResult } from './handlers/index.js';
import { OperationIndex } from './operations.js';
import { answer, crashed, NOT_JSON, parseJson, type PipelineParts } from './pipeline.js';
import { RequestLog, type RecordedRequest, type Violation } from './request-log.js';
import {
  ACTIONS_BOT,
  Urls,
  type Annotation,
  type CheckRun,
  type CommitStatus,
  type Deployment,
  type DeploymentStatus,
  type IssueComment,
  type Viewer,
} from './resources.js';
import { loadSpec, type LoadedSpec, type SpecName } from './spec.js';
import { GitHubState, repoKey, type PullRequestRecord, type PullRequestSeed } from './store.js';
import { queryObject, SpecValidator } from './validators.js';

export interface GitHubFakeOptions {
  /** Which description to serve; Enterprise Server ones put the API under `/api/v3`. */
  spec?: SpecName;
  /** Who the token belongs to (default: github-actions[bot], as with a workflow's GITHUB_TOKEN). */
  viewer?: Viewer;
  /** Base of the web URLs embedded in objects (html_url); default https://github.com. */
  htmlUrl?: string;
}

export class GitHubFake {
  private state = new GitHubState();
  private readonly log = new RequestLog('GitHub');
  private readonly faults = new FaultPlan();
  private readonly pipeline: PipelineParts;
  private readonly urls: Urls;
  private rateRemaining = 5000;

  private constructor(
    private readonly server: Server,
    private readonly spec: LoadedSpec,
    /** Base URL to give clients, e.g. as GITHUB_API_URL: `http://127.0.0.1:<port>[/api/v3]`. */
    readonly url: string,
    private readonly viewer: Viewer,
    htmlUrl: string,
  ) {
    this.urls = new Urls(url, htmlUrl);
    this.pipeline = {
      index: OperationIndex.for(spec),
      validator: SpecValidator.for(spec),
      faults: this.faults,
      log: this.log,
      context: () => this.handlerContext(),
    };
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.serve(req, res).catch(() => res.destroy());
    });
  }

  static async start(options: GitHubFakeOptions = {}): Promise<GitHubFake> {
    const spec = loadSpec(options.spec);
    const base = OperationIndex.for(spec).basePath;
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}${base}`;
    return new GitHubFake(server, spec, url, options.viewer ?? ACTIONS_BOT, options.htmlUrl ?? 'https://github.com');
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Milliseconds this process spent loading GitHub's description (once, shared by all fakes). */
  get specLoadMs(): number {
    return this.spec.loadMs;
  }

  /** Every request received, in order, with the operation it matched and the status answered. */
  get requests(): readonly RecordedRequest[] {
    return this.log.requests;
  }

  /** Every way a request (or the fake's own response) broke GitHub's description. */
  get violations(): readonly Violation[] {
    return this.log.violations;
  }

  /** Throws, listing every violation, when any request or response broke GitHub's description. */
  assertNoViolations(): void {
    this.log.assertNoViolations();
  }

  /** Forgets all state, recorded requests, violations and planned faults. */
  reset(): void {
    this.state = new GitHubState();
    this.log.clear();
    this.faults.clear();
  }

  /**
   * The next `times` requests matching `method` ('*' for any) and `path` answer `status`, after
   * request validation (an invalid request is still refused as such) and before any handler runs.
   */
  failNext(method: string, path: PathPattern, status: number, times = 1, response: FaultResponse = {}): void {
    this.faults.add(method, path, status, times, response);
  }

  /** Faults planned with failNext that no request has used up yet. */
  pendingFaults(): ReturnType<FaultPlan['pending']> {
    return this.faults.pending();
  }

  /** Makes `GET /repos/{owner}/{repo}/pulls/{number}` answer, and links it to check runs on its head. */
  seedPullRequest(seed: PullRequestSeed): PullRequestRecord {
    const key = repoKey(seed.owner, seed.repo);
    const headRef = seed.headRef ?? `feature-${seed.number}`;
    const baseRef = seed.baseRef ?? 'main';
    const record: PullRequestRecord = {
      title: `Pull request #${seed.number}`,
      body: null,
      state: 'open',
      draft: false,
      ...seed,
      headRef,
      baseRef,
      headSha: seed.headSha ?? this.state.resolveRef(key, `pr-${seed.number}-${headRef}`),
      baseSha: seed.baseSha ?? this.state.resolveRef(key, baseRef),
      id: this.state.nextId(),
      createdAt: `${new Date(Date.now() - 3_600_000).toISOString().slice(0, 19)}Z`,
    };
    this.state.pulls.set(`${key}#${seed.number}`, record);
    return structuredClone(record);
  }

  get checkRuns(): CheckRun[] {
    return values(this.state.checkRuns);
  }

  /** Every annotation sent for a check run, across create and updates, in order. */
  annotations(checkRunId: number): Annotation[] {
    return structuredClone(this.state.annotations.get(checkRunId) ?? []);
  }

  /** The comments on one issue or pull request, oldest first. */
  comments(owner: string, repo: string, issue: number): IssueComment[] {
    const key = repoKey(owner, repo);
    return [...this.state.comments.values()]
      .filter((c) => c.repo === key && c.issue === issue)
      .map((c) => structuredClone(c.value))
      .sort((a, b) => a.id - b.id);
  }

  get deployments(): Deployment[] {
    return values(this.state.deployments);
  }

  /** A deployment's statuses, oldest first (the API lists them newest first). */
  deploymentStatuses(deploymentId: number): DeploymentStatus[] {
    return structuredClone(this.state.deploymentStatuses.get(deploymentId) ?? []);
  }

  /** Commit statuses, oldest first, with the repository (`owner/repo`) and SHA they were set on. */
  get statuses(): (CommitStatus & { repo: string; sha: string })[] {
    return this.state.statuses.map((s) => ({ ...structuredClone(s.value), repo: s.repo, sha: s.sha }));
  }

  private handlerContext(): HandlerContext {
    const examples = this.spec.document.components.examples ?? {};
    return {
      state: this.state,
      urls: this.urls,
      viewer: this.viewer,
      example: (name) => structuredClone((examples[name] as { value: unknown }).value),
    };
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.url);
    const method = (req.method ?? 'GET').toUpperCase();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const record: RecordedRequest = { method, path: url.pathname, query: queryObject(url.searchParams), headers, body: undefined };
    if (text.length > 0) {
      const parsed = parseJson(text);
      record.body = parsed === NOT_JSON ? text : parsed;
    }
    this.log.requests.push(record);

    let reply: HandlerResult;
    try {
      reply = answer(this.pipeline, { method, url, headers, text, record });
    } catch (error) {
      reply = crashed(this.log, record, error);
    }
    record.status = reply.status;
    this.send(res, reply);
  }

  private send(res: ServerResponse, reply: HandlerResult): void {
    this.rateRemaining = Math.max(0, this.rateRemaining - 1);
    const headers: Record<string, string> = {
      'x-github-api-version-selected': '2022-11-28',
      'x-github-media-type': 'github.v3; format=json',
      'x-github-request-id': `FAKE:${this.log.requests.length}`,
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': String(this.rateRemaining),
      'x-ratelimit-used': String(5000 - this.rateRemaining),
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-ratelimit-resource': 'core',
      ...reply.headers,
    };
    if (reply.body === undefined || reply.status === 204) {
      res.writeHead(reply.status, headers).end();
      return;
    }
    headers['content-type'] = 'application/json; charset=utf-8';
    res.writeHead(reply.status, headers).end(JSON.stringify(reply.body));
  }
}

function values<T>(records: Map<number, { value: T }>): T[] {
  return [...records.values()].map((r) => structuredClone(r.value));
}
