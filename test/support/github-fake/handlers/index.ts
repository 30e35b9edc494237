// Every operation the fake implements, by GitHub operationId; anything else in the description
// answers 501 so a test names the missing handler instead of passing by accident.
import { checkRunHandlers } from './check-runs.js';
import { commitStatusHandlers } from './commit-statuses.js';
import { deploymentHandlers } from './deployments.js';
import { issueCommentHandlers } from './issue-comments.js';
import { pullHandlers } from './pulls.js';
import type { Handler } from './types.js';

export const handlers: ReadonlyMap<string, Handler> = new Map(
  Object.entries({
    ...checkRunHandlers,
    ...issueCommentHandlers,
    ...deploymentHandlers,
    ...commitStatusHandlers,
    ...pullHandlers,
  }),
);

export { GitHubError, type Handler, type HandlerContext, type HandlerRequest, type HandlerResult } from './types.js';
