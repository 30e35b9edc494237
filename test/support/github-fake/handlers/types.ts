// The contract between the HTTP layer and the per-resource handlers: handlers see validated,
// decoded input and return GitHub's status and body; the server validates what they return.
import type { Operation } from '../operations.js';
import type { Urls, Viewer } from '../resources.js';
import type { GitHubState } from '../store.js';

export interface HandlerRequest {
  operation: Operation;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The JSON body, already valid against the operation's request schema. */
  body: unknown;
  /** The request URL as the client sent it, to build pagination links. */
  url: URL;
}

export interface HandlerContext {
  state: GitHubState;
  urls: Urls;
  viewer: Viewer;
  /** A deep copy of a documented example (`#/components/examples/<name>`), as a template. */
  example(name: string): unknown;
}

export interface HandlerResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (request: HandlerRequest, context: HandlerContext) => HandlerResult;

/**
 * A refusal GitHub itself would give (404 for a missing record, 409, 422 for a rule the schema
 * cannot express). `violation` marks refusals that mean the client is wrong, so they are also
 * recorded as violations; a 404 for a record a test deleted on purpose is not.
 */
export class GitHubError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly violation = false,
    readonly errors?: Record<string, unknown>[],
  ) {
    super(message);
  }
}

export function notFound(): GitHubError {
  return new GitHubError(404, 'Not Found');
}

/** Path parameters arrive validated against integer schemas, so the conversion cannot fail. */
export function intParam(request: HandlerRequest, name: string): number {
  return Number(request.params[name]);
}
