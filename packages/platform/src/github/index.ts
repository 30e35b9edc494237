// @ferry/platform/github: the GitHub Action door. A separate entry point, so the CLI never loads
// @actions/* or octokit.
export { runAction, readActionInputs } from './action.js';
export { readGitHubEnvironment, type GitHubEnvironment } from './environment.js';
export { publishCheckRun, checkRunName } from './checks.js';
export { upsertReportComment } from './comment.js';
export { GitHubDeploymentLedger } from './deployments.js';
export { githubClient, type GitHubClient } from './octokit.js';
export { githubLogger } from './logger.js';
