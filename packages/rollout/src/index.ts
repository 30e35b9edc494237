// @ferry/rollout: progressive delivery of a model. The judge (judge/) compares canary with stable
// over one window; the engine (engine/) walks a plan of traffic steps on a target (targets/),
// keeping its record there; analysis sources (analysis/) feed the judge; steps/ are the three
// steps canary-deploy, promote and rollback.
export * from './judge/index.js';
export * from './target/types.js';
export * from './state/store.js';
export * from './analysis/index.js';
export * from './targets/local/index.js';
export * from './targets/haproxy/index.js';
export { canaryDeploy, type CanaryOptions, type RolloutOutcome } from './engine/canary.js';
export { promote, rollback, type ReleaseOptions, type ReleaseOutcome } from './engine/release.js';
export { buildPlan, buildJudgeConfig, parseCanarySteps } from './engine/plan.js';
export { RolloutSession, leaseHeld, SupersededError } from './engine/session.js';
export * from './engine/record.js';
export { canaryDeployStep, promoteStep, rollbackStep } from './steps/steps.js';
export { applyAndVerify, describeWeights } from './engine/traffic.js';
