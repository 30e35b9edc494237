// One request's way through the fake: route, authenticate, parse, validate against the
// description, apply a planned fault, run the handler, and validate what it answers.
import type { FaultPlan } from './faults.js';
import { GitHubError, handlers, type HandlerContext, type HandlerResult } from './handlers/index.js';
import { DOCS_URL, type Operation, type OperationIndex } from './operations.js';
import type { RecordedRequest, RequestLog, ViolationKind } from './request-log.js';
import type { SpecValidator } from './validators.js';

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

export function answer(parts: PipelineParts, request: IncomingRequest): HandlerResult {
  const { method, url, headers, text, record } = request;
  const refuse = (kind: ViolationKind, status: number, message: string, problem: string, docs = DOCS_URL): HandlerResult => {
    parts.log.violate(record, kind, problem);
    return { status, body: errorBody(message, docs, status) };
  };

  const match = parts.index.match(method, url.pathname);
  if (match.kind === 'outside-base') {
    return refuse('route', 404, 'Not Found', `path is outside the API base ${match.basePath}`);
  }
  if (match.kind === 'unknown') {
    return refuse('route', 404, 'Not Found', `no operation in GitHub's description matches ${method} ${url.pathname}`);
  }
  if (match.kind === 'wrong-method') {
    return refuse('route', 404, 'Not Found', `${match.template} has no ${method} operation (it has ${match.allowed.join(', ')})`);
  }
  const { operation, pathParams } = match;
  record.operationId = operation.operationId;
  const docs = operation.docsUrl;

  if (!/^(token|bearer)\s+\S+/i.test(headers.authorization ?? '')) {
    return refuse('auth', 401, 'Requires authentication', 'no `Authorization: token|Bearer <token>` header', docs);
  }
  const body = text.length > 0 ? parseJson(text) : undefined;
  if (body === NOT_JSON) return refuse('request', 400, 'Problems parsing JSON', 'the request body is not JSON', docs);

  const problems = parts.validator.validateRequest(operation, { pathParams, query: url.searchParams, body });
  if (problems.length > 0) {
    for (const problem of problems) parts.log.violate(record, 'request', problem);
    return checked(parts, operation, record, validationFailed(operation, problems));
  }

  // Faults come after validation, so an invalid request is still reported as such.
  const fault = parts.faults.take(method, url.pathname.slice(parts.index.basePath.length), operation.template);
  if (fault) {
    const faultBody = fault.body ?? errorBody(`Injected failure (${fault.status})`, docs, fault.status);
    return { status: fault.status, body: faultBody, headers: fault.headers ?? {} };
  }

  const handler = handlers.get(operation.operationId);
  if (!handler) {
    const problem = `the fake has no handler for ${operation.operationId}; add one under test/support/github-fake/handlers/`;
    return refuse('unimplemented', 501, 'Not Implemented by github-fake', problem, docs);
  }
  let result: HandlerResult;
  try {
    result = handler({ operation, params: pathParams, query: url.searchParams, body, url }, parts.context());
  } catch (error) {
    if (!(error instanceof GitHubError)) throw error;
    if (error.violation) parts.log.violate(record, 'request', error.message);
    result = { status: error.status, body: errorBody(error.message, docs, error.status, error.errors) };
  }
  return checked(parts, operation, record, result);
}

/** The answer for a handler that threw something other than a GitHubError. */
export function crashed(log: RequestLog, record: RecordedRequest, error: unknown): HandlerResult {
  log.violate(record, 'fake', error instanceof Error ? (error.stack ?? error.message) : String(error));
  return { status: 500, body: errorBody('github-fake crashed', DOCS_URL, 500) };
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}

export const NOT_JSON = Symbol('not JSON');

// A response that breaks the description is the fake's bug: answer 500 rather than 422, so
// the client under test is not told that its own request was wrong.
function checked(parts: PipelineParts, operation: Operation, record: RecordedRequest, result: HandlerResult): HandlerResult {
  const problems = parts.validator.validateResponse(operation, result.status, result.body);
  if (problems.length === 0) return result;
  for (const problem of problems) parts.log.violate(record, 'response', problem);
  const message = `github-fake built a response that breaks GitHub's description:\n${problems.join('\n')}`;
  return { status: 500, body: errorBody(message, DOCS_URL, 500) };
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
