// The engines this build of the CLI runs, by step name.
import {
  benchmarkDefinition,
  buildServingImageDefinition,
  canaryDeployDefinition,
  promoteDefinition,
  rollbackDefinition,
  unavailableStep,
  type AnyStep,
  type StepName,
} from '@ferry/core';
import { validateModelStep } from '@ferry/model';

export const STEPS: Readonly<Record<StepName, AnyStep>> = {
  'validate-model': validateModelStep,
  'build-serving-image': unavailableStep(buildServingImageDefinition),
  'benchmark-on-gpu-runner': unavailableStep(benchmarkDefinition),
  'canary-deploy': unavailableStep(canaryDeployDefinition),
  promote: unavailableStep(promoteDefinition),
  rollback: unavailableStep(rollbackDefinition),
};
