// GitHub Action entry for benchmark-on-gpu-runner: one call into the shared action runner.
import { benchmarkDefinition, unavailableStep } from '@ferry/core';
import { runAction } from '@ferry/platform';

await runAction(unavailableStep(benchmarkDefinition));
