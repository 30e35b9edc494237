// What a serving runtime contributes to an image: where the model goes and in which layers, the
// runtime's configuration files (a layer of their own, so a config change never re-sends weights),
// and the entrypoint, ports, environment and health check the image runs with.
import type { Logger } from '@ferry/core';
import type { ConfigChanges, LayerSpec } from '../oci/index.js';
import type { DigestCache } from '../digest-cache.js';
import type { ModelInfo } from '../model.js';

export type RuntimeName = 'ferry' | 'triton' | 'torchserve' | 'tf-serving' | 'mlserver' | 'vllm';

/** Runtime settings from the step's inputs; each runtime reads the ones it understands. */
export interface RuntimeOptions {
  modelName: string;
  modelVersion: string | undefined;
  maxBatchSize: number | undefined;
  dynamicBatching: boolean | undefined;
  instanceCount: number;
  servedModelName: string | undefined;
  handler: string;
  implementation: string | undefined;
}

export interface RuntimeContext {
  model: ModelInfo;
  options: RuntimeOptions;
  logger: Logger;
  signal: AbortSignal;
  cache: DigestCache | undefined;
}

export interface RuntimePlan {
  /** The model's files, in one or more layers. */
  modelLayers: LayerSpec[];
  /** Configuration the runtime reads (config.pbtxt, model-settings.json, …), if any. */
  configLayer: LayerSpec | undefined;
  config: ConfigChanges;
  /** Where things are in the image, for the report: [what, path]. */
  paths: [string, string][];
  /** Generated configuration files, by image path, for the report. */
  generated: Record<string, string>;
}

export interface ServingRuntime {
  readonly name: RuntimeName;
  readonly title: string;
  /** Pinned default base image. */
  readonly defaultBase: string;
  /** How the default base is pinned, for the README and report. */
  readonly pinnedBy: 'digest' | 'tag';
  /** The port clients call. */
  readonly port: number;
  /** The protocol that port speaks. */
  readonly protocol: string;
  plan(context: RuntimeContext): Promise<RuntimePlan>;
}
