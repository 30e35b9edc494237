// Ferry's own runtime: `ferry serve`, the Open Inference Protocol v2 over onnxruntime-node, on the
// Ferry base image (Node, the Ferry CLI and onnxruntime-node on a minimal root filesystem; see
// ferry-base/). The model directory goes to /models/<name>.
import { InputError } from '@ferry/core';
import { FERRY_BASE_REFERENCE, FERRY_CLI, NODE } from '../ferry-base/layout.js';
import { nodeHttpProbe } from './healthcheck.js';
import { modelLayers, placeUnder } from './model-layers.js';
import type { RuntimeContext, RuntimePlan, ServingRuntime } from './types.js';

export const FERRY_PORT = 8080;

/** Versions `ferry serve` accepts (it labels every metric with it); others are left to its default. */
const SERVE_VERSION = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** The arguments of `ferry serve` for a model at `modelFile` in the image. */
export function serveArguments(modelFile: string, modelName: string, modelVersion: string | undefined): string[] {
  const version = modelVersion !== undefined && SERVE_VERSION.test(modelVersion) ? ['--model-version', modelVersion] : [];
  return ['serve', '--model-path', modelFile, '--model-name', modelName, ...version, '--host', '0.0.0.0', '--port', String(FERRY_PORT)];
}

export const ferryRuntime: ServingRuntime = {
  name: 'ferry',
  title: 'Ferry (ferry serve, ONNX Runtime)',
  defaultBase: FERRY_BASE_REFERENCE,
  pinnedBy: 'tag',
  port: FERRY_PORT,
  protocol: 'Open Inference Protocol v2 (HTTP 8080: /v2/models/<name>/infer, /v2/health/ready)',
  async plan({ model, options }: RuntimeContext): Promise<RuntimePlan> {
    if (model.format !== 'onnx') {
      throw new InputError(`runtime ferry serves ONNX models, but the main file of model-path (${model.main.relPath}) is ${model.format}`, {
        subject: 'model-path',
        hint: 'export the model to ONNX, or choose the runtime for its format',
      });
    }
    const dir = `/models/${options.modelName}`;
    const modelFile = `${dir}/${model.main.relPath}`;
    return {
      modelLayers: await modelLayers(placeUnder(dir, model.files)),
      configLayer: undefined,
      config: {
        entrypoint: [NODE, FERRY_CLI],
        cmd: serveArguments(modelFile, options.modelName, options.modelVersion),
        env: { FERRY_MODEL_NAME: options.modelName },
        exposedPorts: [String(FERRY_PORT)],
        healthcheck: nodeHttpProbe(NODE, FERRY_PORT, '/v2/health/ready', { startPeriod: 30 }),
      },
      paths: [['model', modelFile]],
      generated: {},
    };
  },
};
