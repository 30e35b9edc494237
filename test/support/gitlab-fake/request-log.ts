// The request log is shared by the API fakes: see ../api-fake/request-log.ts.
export { RequestLog, type RecordedRequest, type Violation, type ViolationKind } from '../api-fake/request-log.js';
