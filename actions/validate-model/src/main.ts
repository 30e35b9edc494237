// The validate-model action: run() is what @github/local-action and the bundle's index.ts call.
import { validateModelStep } from '@ferry/model';
import { runAction } from '@ferry/platform/github';

export async function run(): Promise<void> {
  await runAction(validateModelStep);
}
