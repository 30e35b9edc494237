// GitHub Action entry for validate-model: one call into the shared action runner.
import { validateModelStep } from '@ferry/model';
import { runAction } from '@ferry/platform';

await runAction(validateModelStep);
