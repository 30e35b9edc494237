// The build-serving-image action: run() is what @github/local-action and the bundle's index.ts call.
import { buildServingImageStep } from '@ferry/image';
import { runAction } from '@ferry/platform/github';

export async function run(): Promise<void> {
  await runAction(buildServingImageStep);
}
