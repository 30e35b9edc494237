// The rollback action: run() is what @github/local-action and the bundle's index.ts call.
import { rollbackStep } from '@ferry/rollout';
import { runAction } from '@ferry/platform/github';

export async function run(): Promise<void> {
  await runAction(rollbackStep);
}
