// The fake GitLab REST API for tests: start one with `await GitLabFake.start()`, give `fake.url`
// to the code under test as the instance URL, then assert on its store and `fake.assertNoViolations()`.
export { GitLabFake, type GitLabFakeOptions, type NoteSeed } from './gitlab-fake.js';
export type { RecordedRequest, Violation, ViolationKind } from './request-log.js';
export type { FaultResponse, PathPattern } from './faults.js';
export type { CommitStatus, GitLabUser, Note, UserBasic } from './resources.js';
export { PROJECT_BOT } from './resources.js';
export type { ProjectSeed } from './store.js';
