// TensorFlow Serving: the SavedModel directory at /models/<name>/<version>/, the layout the
// tensorflow/serving image's entrypoint serves from MODEL_NAME and MODEL_BASE_PATH. Versions are
// whole numbers there: a model version that is not one is served as version 1.
import { InputError } from '@ferry/core';
import { bashHttpProbe } from './healthcheck.js';
import { configLayer, modelLayers, placeUnder } from './model-layers.js';
import type { RuntimeContext, RuntimePlan, ServingRuntime } from './types.js';

const BASE = '/models';
const BATCHING = '/etc/ferry/tf-serving-batching.txt';

/** The batching parameters file (protobuf text format) for max-batch-size. */
export function batchingParameters(maxBatchSize: number, threads: number): string {
  return [
    `max_batch_size { value: ${maxBatchSize} }`,
    'batch_timeout_micros { value: 2000 }',
    `num_batch_threads { value: ${threads} }`,
    'max_enqueued_batches { value: 100 }',
    '',
  ].join('\n');
}

export const tfServingRuntime: ServingRuntime = {
  name: 'tf-serving',
  title: 'TensorFlow Serving',
  defaultBase: 'docker.io/tensorflow/serving:2.18.0',
  pinnedBy: 'tag',
  port: 8501,
  protocol: 'TF Serving REST (8501: /v1/models/<name>:predict), gRPC 8500',
  async plan({ model, options }: RuntimeContext): Promise<RuntimePlan> {
    if (!model.isDirectory || !model.files.some((f) => f.relPath === 'saved_model.pb' || f.relPath === 'saved_model.pbtxt')) {
      throw new InputError('runtime tf-serving packages a SavedModel directory: model-path must be a directory with saved_model.pb (and variables/)', {
        subject: 'model-path',
      });
    }
    const version = options.modelVersion !== undefined && /^[1-9]\d{0,17}$/.test(options.modelVersion) ? options.modelVersion : '1';
    const dir = `${BASE}/${options.modelName}/${version}`;
    const generated: Record<string, string> = {};
    const cmd: string[] = [];
    if (options.maxBatchSize !== undefined && options.maxBatchSize > 0) {
      generated[BATCHING] = batchingParameters(options.maxBatchSize, Math.max(1, options.instanceCount));
      cmd.push('--enable_batching=true', `--batching_parameters_file=${BATCHING}`);
    }
    return {
      modelLayers: await modelLayers(placeUnder(dir, model.files)),
      configLayer: configLayer(generated),
      config: {
        entrypoint: ['/usr/bin/tf_serving_entrypoint.sh'],
        cmd,
        env: { MODEL_NAME: options.modelName, MODEL_BASE_PATH: BASE },
        exposedPorts: ['8500', '8501'],
        healthcheck: bashHttpProbe(8501, `/v1/models/${options.modelName}`, { startPeriod: 60 }),
      },
      paths: [['SavedModel', dir]],
      generated,
    };
  },
};
