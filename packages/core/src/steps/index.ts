// The six step declarations, in pipeline order.
import { benchmarkDefinition } from './benchmark-on-gpu-runner.js';
import { buildServingImageDefinition } from './build-serving-image.js';
import type { StepDefinition, StepName } from './common.js';
import { canaryDeployDefinition, promoteDefinition, rollbackDefinition } from './rollout.js';
import { validateModelDefinition } from './validate-model.js';

export * from './common.js';
export { benchmarkDefinition, buildServingImageDefinition, canaryDeployDefinition, promoteDefinition, rollbackDefinition, validateModelDefinition };
export { RUNTIMES, TAG_RULES } from './build-serving-image.js';
export { PROTOCOLS } from './benchmark-on-gpu-runner.js';
export { TARGETS } from './rollout.js';

export const STEP_DEFINITIONS: readonly StepDefinition[] = [
  validateModelDefinition,
  buildServingImageDefinition,
  benchmarkDefinition,
  canaryDeployDefinition,
  promoteDefinition,
  rollbackDefinition,
];

export function stepDefinition(name: string): StepDefinition | undefined {
  return STEP_DEFINITIONS.find((s) => s.name === name);
}

export function isStepName(name: string): name is StepName {
  return STEP_DEFINITIONS.some((s) => s.name === name);
}
