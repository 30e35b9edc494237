// @ferry/core: the step contract shared by every engine and every door.
export * from './errors.js';
export * from './inputs.js';
export * from './coerce.js';
export * from './config.js';
export * from './pipeline-config.js';
export * from './resolve.js';
export * from './result.js';
export * from './context.js';
export * from './step.js';
export * from './steps/index.js';
export * from './schema.js';
export * from './ledger.js';
export * from './metrics.js';
