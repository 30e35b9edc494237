// The contract between the request pipeline and the per-resource handlers.
import type { Operation } from '../operations.js';
import type { GitLabUser } from '../resources.js';
import type { GitLabState } from '../store.js';

export interface HandlerRequest {
  operation: Operation;
  /** Decoded path parameters: `id` is `42` or `group/project`. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The validated body (form fields already coerced to the declared types). */
  body: unknown;
  /** The request URL as the client sent it, for pagination links. */
  url: URL;
}

export interface HandlerContext {
  state: GitLabState;
  user: GitLabUser;
  /** The instance's web URL (what CI_SERVER_URL would be), for `web_url` fields. */
  webUrl: string;
  /** The branch a status lands on when the client sends no `ref`. */
  defaultBranch: string;
}

export interface HandlerResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (request: HandlerRequest, context: HandlerContext) => HandlerResult;

/**
 * An answer GitLab gives for a reason beyond the schema. `violation` marks requests a correct client
 * never sends (a blank note, an impossible transition); a note that does not exist is not one.
 */
export class GitLabError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly violation = false,
    /** GitLab's body key: `message` for most errors, `error` for Grape's parameter errors. */
    readonly key: 'message' | 'error' = 'message',
  ) {
    super(message);
  }
}

export function bodyObject(body: unknown): Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}
