// GitHub Action entry for rollback: one call into the shared action runner.
import { rollbackDefinition, unavailableStep } from '@ferry/core';
import { runAction } from '@ferry/platform';

await runAction(unavailableStep(rollbackDefinition));
