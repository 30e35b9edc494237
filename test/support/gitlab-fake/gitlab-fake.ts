// A fake GitLab REST API on loopback for tests. Every request and every response it serves is
// checked against the transcribed subset of GitLab's OpenAPI description; anything off is refused
// and kept as a violation.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultPlan, type FaultResponse, type PathPattern } from './faults.js';
import type { HandlerContext, HandlerResult } from './handlers/index.js';
import { API_BASE, OperationIndex } from './operations.js';
import { answer, crashed, loggedBody, type PipelineParts } from './pipeline.js';
import { RequestLog, type RecordedRequest, type Violation } from './request-log.js';
import { noteAuthor, PROJECT_BOT, timestamp, type CommitStatus, type GitLabUser, type Note } from './resources.js';
import { loadSpec } from './spec.js';
import { GitLabState, type ProjectSeed } from './store.js';
import { queryObject, SpecValidator } from './validators.js';

export interface GitLabFakeOptions {
  /** Who the token belongs to (default: a project access token's bot user). */
  user?: GitLabUser;
  /** The ref a commit status lands on when the client sends none (default `main`). */
  defaultBranch?: string;
}

/** A note to put on a merge request before the code under test runs, as another user or GitLab would. */
export interface NoteSeed {
  body: string;
  /** System notes are GitLab's own ("added 1 commit"). */
  system?: boolean;
  author?: GitLabUser;
}

const SOMEONE: GitLabUser = { id: 2, username: 'reviewer', name: 'Re Viewer', email: 'reviewer@example.com' };

export class GitLabFake {
  private state = new GitLabState();
  private readonly log = new RequestLog('GitLab');
  private readonly faults = new FaultPlan();
  private readonly pipeline: PipelineParts;

  private constructor(
    private readonly server: Server,
    /** The instance URL to give clients (gitbeaker's `host`, CI_SERVER_URL); the API is under `/api/v4`. */
    readonly url: string,
    private readonly options: Required<GitLabFakeOptions>,
  ) {
    const document = loadSpec();
    this.pipeline = {
      index: OperationIndex.for(document),
      validator: SpecValidator.for(document),
      faults: this.faults,
      log: this.log,
      context: () => this.handlerContext(),
    };
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.serve(req, res).catch(() => res.destroy());
    });
  }

  static async start(options: GitLabFakeOptions = {}): Promise<GitLabFake> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    return new GitLabFake(server, `http://127.0.0.1:${port}`, { user: options.user ?? PROJECT_BOT, defaultBranch: options.defaultBranch ?? 'main' });
  }

  /** The REST API root, what GitLab puts in CI_API_V4_URL. */
  get apiUrl(): string {
    return `${this.url}${API_BASE}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Every request received, in order, with the operation it matched and the status answered. */
  get requests(): readonly RecordedRequest[] {
    return this.log.requests;
  }

  /** Every way a request (or the fake's own response) broke GitLab's description. */
  get violations(): readonly Violation[] {
    return this.log.violations;
  }

  /** Throws, listing every violation, when any request or response broke GitLab's description. */
  assertNoViolations(): void {
    this.log.assertNoViolations();
  }

  /** Forgets seeded projects, notes, statuses, recorded requests, violations and planned faults. */
  reset(): void {
    this.state = new GitLabState();
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

  /** Makes a numeric project ID and its path name the same project (CI_PROJECT_ID vs CI_PROJECT_PATH). */
  seedProject(seed: ProjectSeed): void {
    this.state.seedProject(seed);
  }

  /**
   * Puts notes on a merge request, oldest first, as if people and GitLab had written them. Seeded
   * notes come after every note already on the merge request, so calls can be chained to build a
   * thread (and `created_at` order agrees with the order of the calls).
   */
  seedNotes(projectId: number | string, mergeRequestIid: number, seeds: readonly NoteSeed[]): Note[] {
    const project = this.state.project(projectId);
    const latest = Math.max(...this.state.notesOf(project, mergeRequestIid).map((n) => Date.parse(n.value.created_at)));
    const base = Number.isFinite(latest) ? latest + 1000 : Date.now() - 3_600_000;
    return seeds.map((seed, i) => {
      const at = timestamp(new Date(base + i * 1000));
      const note: Note = {
        id: this.state.nextId(),
        body: seed.body,
        attachment: null,
        author: noteAuthor(seed.author ?? SOMEONE, this.url),
        created_at: at,
        updated_at: at,
        system: seed.system ?? false,
        noteable_id: this.state.mergeRequestId(project, mergeRequestIid),
        noteable_type: 'MergeRequest',
        project_id: this.state.projectId(project),
        noteable_iid: mergeRequestIid,
        resolvable: false,
        confidential: false,
        internal: false,
      };
      this.state.notes.set(note.id, { project, mergeRequestIid, value: note });
      return structuredClone(note);
    });
  }

  /** The notes on one merge request, oldest first; the project by numeric ID or path. */
  notes(projectId: number | string, mergeRequestIid: number): Note[] {
    return this.state
      .notesOf(this.state.project(projectId), mergeRequestIid)
      .map((n) => structuredClone(n.value))
      .sort((a, b) => a.id - b.id);
  }

  /** Commit statuses, oldest first, with the project they were set on (its ID, or its path if never seeded). */
  get statuses(): (CommitStatus & { project: string })[] {
    return this.state.statuses.map((s) => ({ ...structuredClone(s.value), project: s.project }));
  }

  private handlerContext(): HandlerContext {
    return { state: this.state, user: this.options.user, webUrl: this.url, defaultBranch: this.options.defaultBranch };
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
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      query: queryObject(url.searchParams),
      headers,
      body: loggedBody(text, headers['content-type']),
    };
    this.log.requests.push(record);

    let reply: HandlerResult;
    try {
      reply = answer(this.pipeline, { method, url, headers, text, record });
    } catch (error) {
      reply = crashed(this.log, record, error);
    }
    record.status = reply.status;
    const out: Record<string, string> = { 'x-request-id': `fake-${this.log.requests.length}`, ...reply.headers };
    if (reply.body === undefined || reply.status === 204) {
      res.writeHead(reply.status, out).end();
      return;
    }
    out['content-type'] = 'application/json';
    res.writeHead(reply.status, out).end(JSON.stringify(reply.body));
  }
}
