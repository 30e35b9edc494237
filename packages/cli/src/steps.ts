// The engines this build of the CLI runs, by step name.
import type { AnyStep, StepName } from '@ferry/core';
import { benchmarkStep } from '@ferry/bench';
import { buildServingImageStep } from '@ferry/image';
import { validateModelStep } from '@ferry/model';
import { canaryDeployStep, promoteStep, rollbackStep } from '@ferry/rollout';

export const STEPS: Readonly<Record<StepName, AnyStep>> = {
  'validate-model': validateModelStep,
  'build-serving-image': buildServingImageStep,
  'benchmark-on-gpu-runner': benchmarkStep,
  'canary-deploy': canaryDeployStep,
  promote: promoteStep,
  rollback: rollbackStep,
};
