// The fake GitHub REST API for tests: start one with `await GitHubFake.start()`, point the code
// under test at `fake.url`, then assert on its store and `fake.assertNoViolations()`.
export { GitHubFake, type GitHubFakeOptions } from './github-fake.js';
export type { RecordedRequest, Violation, ViolationKind } from './request-log.js';
export type { FaultResponse, PathPattern } from './faults.js';
export type {
  Annotation,
  CheckRun,
  CommitStatus,
  Deployment,
  DeploymentStatus,
  IssueComment,
  Viewer,
} from './resources.js';
export { ACTIONS_BOT } from './resources.js';
export type { SpecName } from './spec.js';
export type { PullRequestRecord, PullRequestSeed } from './store.js';
