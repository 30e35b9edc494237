// MLServer (Seldon; KServe's V2 server for scikit-learn, XGBoost, LightGBM and MLflow models): the
// model files and a model-settings.json in /mnt/models/<name>/, which `mlserver start /mnt/models`
// finds. The runtime class comes from the input or from the model file's kind.
import { posix } from 'node:path';
import { InputError } from '@ferry/core';
import { canonicalJson } from '../oci/index.js';
import type { ModelInfo } from '../model.js';
import { pythonHttpProbe } from './healthcheck.js';
import { configLayer, modelLayers, placeUnder } from './model-layers.js';
import type { RuntimeContext, RuntimePlan, ServingRuntime } from './types.js';

const MODELS = '/mnt/models';

/** The runtime class and the file it loads, guessed from the model's files. */
export function guessImplementation(model: ModelInfo): { implementation: string; uri: string } | undefined {
  if (model.files.some((f) => f.relPath === 'MLmodel')) return { implementation: 'mlserver_mlflow.MLflowRuntime', uri: '.' };
  const main = model.main.relPath;
  if (/\.(joblib|pkl|pickle)$/i.test(main)) return { implementation: 'mlserver_sklearn.SKLearnModel', uri: main };
  if (/\.(json|ubj|bst)$/i.test(main)) return { implementation: 'mlserver_xgboost.XGBoostModel', uri: main };
  if (/\.(txt|lgb)$/i.test(main)) return { implementation: 'mlserver_lightgbm.LightGBMModel', uri: main };
  return undefined;
}

export const mlserverRuntime: ServingRuntime = {
  name: 'mlserver',
  title: 'MLServer (KServe V2)',
  defaultBase: 'docker.io/seldonio/mlserver:1.6.1',
  pinnedBy: 'tag',
  port: 8080,
  protocol: 'Open Inference Protocol v2 (HTTP 8080, gRPC 8081), metrics 8082',
  async plan({ model, options }: RuntimeContext): Promise<RuntimePlan> {
    const guessed = guessImplementation(model);
    const implementation = options.implementation ?? guessed?.implementation;
    if (implementation === undefined) {
      throw new InputError(`runtime mlserver cannot tell which MLServer runtime loads ${model.main.relPath}: give the implementation input (for example mlserver_sklearn.SKLearnModel)`, {
        subject: 'implementation',
      });
    }
    const dir = posix.join(MODELS, options.modelName);
    const uri = guessed?.implementation === implementation ? guessed.uri : model.main.relPath;
    const settings: Record<string, unknown> = {
      name: options.modelName,
      implementation,
      parameters: { uri: uri === '.' ? './' : `./${uri}`, ...(options.modelVersion ? { version: options.modelVersion } : {}) },
    };
    if (options.maxBatchSize !== undefined && options.maxBatchSize > 0) {
      // MLServer's adaptive batching: requests wait up to max_batch_time seconds to fill a batch.
      settings.max_batch_size = options.maxBatchSize;
      settings.max_batch_time = 0.05;
    }
    if (options.instanceCount > 1) settings.parallel_workers = options.instanceCount;
    const settingsPath = posix.join(dir, 'model-settings.json');
    if (model.files.some((f) => f.relPath === 'model-settings.json')) {
      throw new InputError('model-path already holds a model-settings.json: Ferry writes it from the inputs, so remove it from the model files', { subject: 'model-path' });
    }
    const generated = { [settingsPath]: `${JSON.stringify(JSON.parse(canonicalJson(settings)), null, 2)}\n` };
    return {
      modelLayers: await modelLayers(placeUnder(dir, model.files)),
      configLayer: configLayer(generated),
      config: {
        entrypoint: ['mlserver', 'start', MODELS],
        cmd: [],
        env: { MLSERVER_MODELS_DIR: MODELS, MLSERVER_HTTP_PORT: '8080', MLSERVER_GRPC_PORT: '8081' },
        exposedPorts: ['8080', '8081', '8082'],
        healthcheck: pythonHttpProbe(8080, '/v2/health/ready', { startPeriod: 60 }),
      },
      paths: [
        ['model', dir],
        ['settings', settingsPath],
      ],
      generated,
    };
  },
};
