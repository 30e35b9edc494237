// GitHub Action entry for build-serving-image: one call into the shared action runner.
import { buildServingImageDefinition, unavailableStep } from '@ferry/core';
import { runAction } from '@ferry/platform';

await runAction(unavailableStep(buildServingImageDefinition));
