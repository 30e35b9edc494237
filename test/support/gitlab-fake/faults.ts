// Planned failures are shared by the API fakes: see ../api-fake/faults.ts.
export { FaultPlan, type FaultResponse, type PathPattern } from '../api-fake/faults.js';
