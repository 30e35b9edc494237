// One request's way through the fake: route, authenticate, parse, validate against the
// description, apply a planned fault, run the handler, and validate what it answers.
import type { FaultPlan } from './faults.js';
import { GitLabError, handlers, type HandlerContext, type HandlerResult } from './handlers/index.js';
import type { Operation, OperationIndex } from './operations.js';
import type { RecordedRequest, RequestLog, ViolationKind } from './request-log.js';
import { queryObject, type BodyKind, type SpecValidator } from './validators.js';

export interface PipelineParts {
  index: OperationIndex;
  validator: SpecValidator;
  faults: FaultPlan;
  log: RequestLog;
  context(): HandlerContext;
}

export interface IncomingRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  text: string;
  record: RecordedRequest;
}

const REASONS: Record<number, string> = {
  400: 'Bad request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict',
  415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 429: 'Too Many Requests', 500: 'Internal Server Error',
  502: 'Bad Gateway', 503: 'Service Unavailable',
};

export function answer(parts: PipelineParts, request: IncomingRequest): HandlerResult {
  const { method, url, headers, text, record } = request;
  const refuse = (kind: ViolationKind, status: number, problem: string, body: Record<string, unknown> = { message: `${status} ${REASONS[status] ?? 'Error'}` }): HandlerResult => {
    parts.log.violate(record, kind, problem);
    return { status, body };
  };

  const match = parts.index.match(method, url.pathname);
  // GitLab's catch-all route answers `{"error":"404 Not Found"}` for anything it does not serve.
  const notFound = { error: '404 Not Found' };
  if (match.kind === 'outside-base') return refuse('route', 404, `${url.pathname} is outside the REST API base /api/v4`, notFound);
  if (match.kind === 'unknown') {
    return refuse('route', 404, `no operation in the GitLab subset (test/support/gitlab-fake/openapi-subset.json) matches ${method} ${url.pathname}`, notFound);
  }
  if (match.kind === 'wrong-method') {
    return refuse('route', 404, `${match.template} has no ${method} operation (it has ${match.allowed.join(', ')})`, notFound);
  }
  const { operation, pathParams } = match;
  record.operationId = operation.operationId;

  const auth = authProblem(headers, url.searchParams);
  if (auth) return refuse('auth', 401, auth);

  const parsed = parseBody(text, headers['content-type']);
  if ('problem' in parsed) return refuse('request', parsed.status, parsed.problem, { error: parsed.problem });

  const problems = parts.validator.validateRequest(operation, { pathParams, query: url.searchParams, body: parsed.body, bodyKind: parsed.kind });
  if (problems.length > 0) {
    const source = parts.validator.source(operation);
    for (const problem of problems) parts.log.violate(record, 'request', `${problem} (per ${source})`);
    // Grape's parameter errors: one `error` string listing every problem.
    return checked(parts, operation, record, { status: 400, body: { error: problems.join(', ') } });
  }

  // Faults come after validation, so an invalid request is still reported as such.
  const fault = parts.faults.take(method, url.pathname, operation.template);
  if (fault) return { status: fault.status, body: fault.body ?? { message: `${fault.status} ${REASONS[fault.status] ?? 'Error'}` }, headers: fault.headers ?? {} };

  const handler = handlers.get(operation.operationId);
  if (!handler) return refuse('unimplemented', 501, `the fake has no handler for ${operation.operationId}; add one under test/support/gitlab-fake/handlers/`);
  let result: HandlerResult;
  try {
    result = handler({ operation, params: pathParams, query: url.searchParams, body: parsed.body, url }, parts.context());
  } catch (error) {
    if (!(error instanceof GitLabError)) throw error;
    if (error.violation) parts.log.violate(record, 'request', error.message);
    result = { status: error.status, body: { [error.key]: error.message } };
  }
  return checked(parts, operation, record, result);
}

/** The answer for a handler that threw something other than a GitLabError. */
export function crashed(log: RequestLog, record: RecordedRequest, error: unknown): HandlerResult {
  log.violate(record, 'fake', error instanceof Error ? (error.stack ?? error.message) : String(error));
  return { status: 500, body: { message: '500 Internal Server Error' } };
}

/** Parses a body for the request log before routing; undefined when there is none. */
export function loggedBody(text: string, contentType: string | undefined): unknown {
  if (text.length === 0) return undefined;
  const parsed = parseBody(text, contentType);
  return 'problem' in parsed ? text : parsed.body;
}

// GitLab reads a personal, project or group access token from PRIVATE-TOKEN or an OAuth-style
// `Authorization: Bearer` header. The fake accepts nothing else: CI_JOB_TOKEN cannot post notes,
// and a token in the query string ends up in logs.
function authProblem(headers: Record<string, string>, query: URLSearchParams): string | undefined {
  if (query.has('private_token') || query.has('access_token')) {
    return 'the token was sent in the URL (private_token / access_token); send it in the PRIVATE-TOKEN header';
  }
  if ((headers['private-token'] ?? '').trim() !== '') return undefined;
  if (/^bearer\s+\S+/i.test(headers.authorization ?? '')) return undefined;
  if (headers['job-token']) return 'only a JOB-TOKEN header: CI_JOB_TOKEN cannot post merge-request notes or commit statuses';
  return 'no PRIVATE-TOKEN or `Authorization: Bearer <token>` header';
}

type ParsedBody = { body: unknown; kind: BodyKind } | { problem: string; status: number };

function parseBody(text: string, contentType: string | undefined): ParsedBody {
  if (text.length === 0) return { body: undefined, kind: 'json' };
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/x-www-form-urlencoded') return { body: queryObject(new URLSearchParams(text)), kind: 'form' };
  if (type !== '' && !/^application\/([\w.-]+\+)?json$/.test(type)) {
    return { problem: `the fake reads JSON and url-encoded form bodies only, not ${type}`, status: 415 };
  }
  try {
    return { body: JSON.parse(text) as unknown, kind: 'json' };
  } catch {
    return { problem: 'the request body is not valid JSON', status: 400 };
  }
}

// A response that breaks the description is the fake's bug: answer 500 rather than 400, so the
// client under test is not told that its own request was wrong.
function checked(parts: PipelineParts, operation: Operation, record: RecordedRequest, result: HandlerResult): HandlerResult {
  const problems = parts.validator.validateResponse(operation, result.status, result.body);
  if (problems.length === 0) return result;
  for (const problem of problems) parts.log.violate(record, 'response', problem);
  return { status: 500, body: { message: `gitlab-fake built a response that breaks GitLab's description:\n${problems.join('\n')}` } };
}
