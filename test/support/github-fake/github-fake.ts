// A fake GitHub REST API on loopback for tests. Every request and every response it serves is
// checked against GitHub's OpenAPI description; anything off is refused and kept as a violation.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultPlan, type FaultResponse, type PathPattern } from './faults.js';
import { GitHubError, handlers, type HandlerContext, type HandlerResult } from './handlers/index.js';
import { DOCS_URL, OperationIndex, type Operation } from './operations.js';
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

export interface RecordedRequest {
  method: string;
  /** The request path without the query string, base path included. */
  path: string;
  query: Record<string, string | string[]>;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** Parsed JSON, the raw text when it was not JSON, undefined when empty. */
  body: unknown;
  operationId?: string;
  /** The status the fake answered with. */
  status?: number;
}

export type ViolationKind = 'route' | 'auth' | 'request' | 'response' | 'unimplemented' | 'fake';

export interface Violation {
  kind: ViolationKind;
  method: string;
  path: string;
  operationId?: string;
  problem: string;
}

interface Reply extends HandlerResult {
  operation?: Operation;
}

export class GitHubFake {
  readonly requests: RecordedRequest[] = [];
  readonly violations: Violation[] = [];
  private state = new GitHubState();
  private readonly faults = new FaultPlan();
  private readonly index: OperationIndex;
  private readonly validator: SpecValidator;
  private readonly urls: Urls;
  private readonly viewer: Viewer;
  private rateRemaining = 5000;

  private constructor(
    private readonly server: Server,
    private readonly spec: LoadedSpec,
    /** Base URL to give clients, e.g. as GITHUB_API_URL: `http://127.0.0.1:<port>[/api/v3]`. */
    readonly url: string,
    viewer: Viewer,
    htmlUrl: string,
  ) {
    this.index = OperationIndex.for(spec);
    this.validator = SpecValidator.for(spec);
    this.urls = new Urls(url, htmlUrl);
    this.viewer = viewer;
    server.on('request', (req, res) => void this.serve(req, res));
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

  /** Milliseconds this process spent loading GitHub's description (once, shared by all fakes). */
  get specLoadMs(): number {
    return this.spec.loadMs;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Forgets all state, recorded requests, violations and planned faults. */
  reset(): void {
    this.state = new GitHubState();
    this.requests.length = 0;
    this.violations.length = 0;
    this.faults.clear();
  }

  /** Throws, listing every violation, when any request or response broke GitHub's description. */
  assertNoViolations(): void {
    if (this.violations.length === 0) return;
    const lines = this.violations.map(
      (v) => `  [${v.kind}] ${v.method} ${v.path}${v.operationId ? ` (${v.operationId})` : ''}: ${v.problem}`,
    );
    throw new Error(`GitHub fake saw ${this.violations.length} violation(s) of GitHub's API description:\n${lines.join('\n')}`);
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
      createdAt: new Date(Date.now() - 3_600_000).toISOString().slice(0, 19) + 'Z',
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
    if (text.length > 0) record.body = parseOr(text, text);
    this.requests.push(record);

    let reply: Reply;
    try {
      reply = this.answer(method, url, headers, text, record);
    } catch (error) {
      reply = this.refuse(record, 'fake', 500, 'github-fake crashed', error instanceof Error ? error.stack ?? error.message : String(error));
    }
    record.status = reply.status;
    this.send(res, reply);
  }

  private answer(method: string, url: URL, headers: Record<string, string>, text: string, record: RecordedRequest): Reply {
    const match = this.index.match(method, url.pathname);
    if (match.kind === 'outside-base') {
      return this.refuse(record, 'route', 404, 'Not Found', `path is outside the API base ${match.basePath}`);
    }
    if (match.kind === 'unknown') {
      return this.refuse(record, 'route', 404, 'Not Found', `no operation in GitHub's description matches ${method} ${url.pathname}`);
    }
    if (match.kind === 'wrong-method') {
      return this.refuse(record, 'route', 404, 'Not Found', `${match.template} has no ${method} operation (it has ${match.allowed.join(', ')})`);
    }
    const { operation, pathParams } = match;
    record.operationId = operation.operationId;
    const docs = operation.docsUrl;

    if (!/^(token|bearer)\s+\S+/i.test(headers.authorization ?? '')) {
      return this.refuse(record, 'auth', 401, 'Requires authentication', 'no `Authorization: token|Bearer <token>` header', docs);
    }
    const body = text.length > 0 ? parseOr(text, PARSE_FAILED) : undefined;
    if (body === PARSE_FAILED) {
      return this.refuse(record, 'request', 400, 'Problems parsing JSON', 'the request body is not JSON', docs);
    }
    const problems = this.validator.validateRequest(operation, { pathParams, query: url.searchParams, body });
    if (problems.length > 0) {
      for (const problem of problems) this.violate(record, 'request', problem);
      return this.checked(operation, record, validationFailed(operation, problems));
    }

    const relative = url.pathname.slice(this.index.basePath.length);
    const fault = this.faults.take(method, relative, operation.template);
    if (fault) {
      const faultBody = fault.body ?? { message: `Injected failure (${fault.status})`, documentation_url: docs, status: String(fault.status) };
      return { status: fault.status, body: faultBody, headers: fault.headers ?? {} };
    }

    const handler = handlers.get(operation.operationId);
    if (!handler) {
      return this.refuse(
        record,
        'unimplemented',
        501,
        'Not Implemented by github-fake',
        `the fake has no handler for ${operation.operationId}; add one under test/support/github-fake/handlers/`,
        docs,
      );
    }
    let result: HandlerResult;
    try {
      result = handler({ operation, params: pathParams, query: url.searchParams, body, url }, this.handlerContext());
    } catch (error) {
      if (!(error instanceof GitHubError)) throw error;
      if (error.violation) this.violate(record, 'request', error.message);
      result = { status: error.status, body: errorBody(error.message, docs, error.status, error.errors) };
    }
    return this.checked(operation, record, result);
  }

  // A response that breaks the description is the fake's bug: answer 500 rather than 422, so
  // the client under test is not told that its own request was wrong.
  private checked(operation: Operation, record: RecordedRequest, result: HandlerResult): Reply {
    const problems = this.validator.validateResponse(operation, result.status, result.body);
    if (problems.length === 0) return { ...result, operation };
    for (const problem of problems) this.violate(record, 'response', problem);
    return {
      status: 500,
      body: errorBody(`github-fake built a response that breaks GitHub's description:\n${problems.join('\n')}`, DOCS_URL, 500),
    };
  }

  private refuse(record: RecordedRequest, kind: ViolationKind, status: number, message: string, problem: string, docs = DOCS_URL): Reply {
    this.violate(record, kind, problem);
    return { status, body: errorBody(message, docs, status) };
  }

  private violate(record: RecordedRequest, kind: ViolationKind, problem: string): void {
    const violation: Violation = { kind, method: record.method, path: record.path, problem };
    if (record.operationId) violation.operationId = record.operationId;
    this.violations.push(violation);
  }

  private send(res: ServerResponse, reply: Reply): void {
    this.rateRemaining = Math.max(0, this.rateRemaining - 1);
    const headers: Record<string, string> = {
      'x-github-api-version-selected': '2022-11-28',
      'x-github-media-type': 'github.v3; format=json',
      'x-github-request-id': `FAKE:${this.requests.length}`,
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

const PARSE_FAILED = Symbol('parse failed');

function parseOr<T>(text: string, fallback: T): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return fallback;
  }
}

function errorBody(message: string, documentationUrl: string, status: number, errors?: Record<string, unknown>[]): Record<string, unknown> {
  return { message, ...(errors ? { errors } : {}), documentation_url: documentationUrl, status: String(status) };
}

// GitHub's wording for schema failures, one `errors` entry per problem so clients that print
// `errors[].message` (Octokit's RequestError does) show each.
function validationFailed(operation: Operation, problems: string[]): HandlerResult {
  const errors = problems.map((message) => ({ resource: operation.operationId, code: 'invalid', message }));
  return { status: 422, body: errorBody(`Invalid request.\n\n${problems.join('\n')}`, operation.docsUrl, 422, errors) };
}

function values<T>(records: Map<number, { value: T }>): T[] {
  return [...records.values()].map((r) => structuredClone(r.value));
}
