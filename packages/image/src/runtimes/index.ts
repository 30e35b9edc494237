// The serving runtimes, by the names the runtime input takes.
import { InputError } from '@ferry/core';
import { ferryRuntime } from './ferry.js';
import { mlserverRuntime } from './mlserver.js';
import { tfServingRuntime } from './tf-serving.js';
import { torchserveRuntime } from './torchserve.js';
import { tritonRuntime } from './triton.js';
import type { RuntimeName, ServingRuntime } from './types.js';
import { vllmRuntime } from './vllm.js';

export const SERVING_RUNTIMES: Readonly<Record<RuntimeName, ServingRuntime>> = {
  ferry: ferryRuntime,
  triton: tritonRuntime,
  torchserve: torchserveRuntime,
  'tf-serving': tfServingRuntime,
  mlserver: mlserverRuntime,
  vllm: vllmRuntime,
};

export function servingRuntime(name: string): ServingRuntime {
  const runtime = (SERVING_RUNTIMES as Record<string, ServingRuntime | undefined>)[name];
  if (runtime === undefined) throw new InputError(`runtime "${name}" is not one of ${Object.keys(SERVING_RUNTIMES).join(', ')}`, { subject: 'runtime' });
  return runtime;
}

export type { RuntimeContext, RuntimeName, RuntimeOptions, RuntimePlan, ServingRuntime } from './types.js';
export { batchable, tritonConfig } from './triton.js';
export { marManifest } from './torchserve.js';
export { guessImplementation } from './mlserver.js';
export { serveArguments, FERRY_PORT } from './ferry.js';
