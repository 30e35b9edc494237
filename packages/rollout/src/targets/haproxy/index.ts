// The HAProxy rollout target: traffic moved through HAProxy's runtime API, without a reload.
export { HaproxyTarget } from './target.js';
export type { HaproxyTargetOptions } from './target.js';
export { HaproxyCommandError, HaproxyRuntime, parseRuntimeAddress } from './runtime.js';
export type { HaproxyRuntimeOptions, RuntimeAddress } from './runtime.js';
export type { HaproxyServerState } from './servers-state.js';
