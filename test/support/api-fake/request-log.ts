// What an API fake saw: every request it received and every way one broke the service's published
// description, so tests can assert on what a client sent and fail with a readable list of what was
// wrong. Shared by the GitHub and GitLab fakes; each names its service.

export interface RecordedRequest {
  method: string;
  /** The raw request path without the query string, base path included (encoded segments stay encoded). */
  path: string;
  query: Record<string, string | string[]>;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** Parsed JSON (or form fields), the raw text when it did not parse, undefined when empty. */
  body: unknown;
  operationId?: string;
  /** The status the fake answered with. */
  status?: number;
}

/**
 * - route: no operation has this method and path (404)
 * - auth: no usable credentials header (401)
 * - request: the request breaks the description, or a rule the service enforces beyond it (400/404/415/422)
 * - response: the fake built a body that breaks the description (its own bug; 500)
 * - unimplemented: an operation the fake knows but has no handler for (501)
 * - fake: a handler crashed (500)
 */
export type ViolationKind = 'route' | 'auth' | 'request' | 'response' | 'unimplemented' | 'fake';

export interface Violation {
  kind: ViolationKind;
  method: string;
  path: string;
  operationId?: string;
  problem: string;
}

export class RequestLog {
  readonly requests: RecordedRequest[] = [];
  readonly violations: Violation[] = [];

  /** `service` names the API in the failure message, for example "GitHub". */
  constructor(private readonly service: string) {}

  violate(request: RecordedRequest, kind: ViolationKind, problem: string): void {
    const violation: Violation = { kind, method: request.method, path: request.path, problem };
    if (request.operationId) violation.operationId = request.operationId;
    this.violations.push(violation);
  }

  clear(): void {
    this.requests.length = 0;
    this.violations.length = 0;
  }

  assertNoViolations(): void {
    if (this.violations.length === 0) return;
    const lines = this.violations.map((v) => `  [${v.kind}] ${v.method} ${v.path}${v.operationId ? ` (${v.operationId})` : ''}: ${v.problem}`);
    throw new Error(`${this.service} fake saw ${this.violations.length} violation(s) of ${this.service}'s API description:\n${lines.join('\n')}`);
  }
}
