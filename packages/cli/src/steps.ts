// The engines this build of the CLI runs, by step name.
import {
  canaryDeployDefinition,
  promoteDefinition,
  rollbackDefinition,
  unavailableStep,
  type AnyStep,
  type StepName,
} from '@ferry/core';
import { benchmarkStep } from '@ferry/bench';
import { buildServingImageStep } from '@ferry/image';
import { validateModelStep } from '@ferry/model';

export const STEPS: Readonly<Record<StepName, AnyStep>> = {
  'validate-model': validateModelStep,
  'build-serving-image': buildServingImageStep,
  'benchmark-on-gpu-runner': benchmarkStep,
  'canary-deploy': unavailableStep(canaryDeployDefinition),
  promote: unavailableStep(promoteDefinition),
  rollback: unavailableStep(rollbackDefinition),
};
