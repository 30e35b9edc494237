// GitHub Action entry for promote: one call into the shared action runner.
import { promoteDefinition, unavailableStep } from '@ferry/core';
import { runAction } from '@ferry/platform';

await runAction(unavailableStep(promoteDefinition));
