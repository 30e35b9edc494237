// GitHub Action entry for canary-deploy: one call into the shared action runner.
import { canaryDeployDefinition, unavailableStep } from '@ferry/core';
import { runAction } from '@ferry/platform';

await runAction(unavailableStep(canaryDeployDefinition));
