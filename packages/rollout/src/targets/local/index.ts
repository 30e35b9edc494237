// Ferry's local embedded router (one machine: demos, tests, small deployments) and the rollout
// target that drives it through its admin API.
export { startRouter, STATE_FILE, type RouterOptions, type RunningRouter } from './router.js';
export { LocalRouterTarget, type LocalRouterTargetOptions, type LocalRouting } from './target.js';
export { MIRROR_PAIR_CAPACITY, type MirrorPair } from './mirror.js';
export { ROUTER_LATENCY_BUCKETS } from './router-metrics.js';
export { ROUTING_FILE } from './control.js';
export { stickyBucket } from './split.js';
