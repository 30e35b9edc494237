// The benchmark-on-gpu-runner action: run() is what @github/local-action and the bundle's index.ts call.
import { benchmarkStep } from '@ferry/bench';
import { runAction } from '@ferry/platform/github';

export async function run(): Promise<void> {
  await runAction(benchmarkStep);
}
