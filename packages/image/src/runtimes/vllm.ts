// vLLM's OpenAI-compatible server (or any server that loads a Hugging Face directory): the model
// directory at /models/<name>, served under the served model name, with the Hub switched off since
// everything is in the image.
import { InputError } from '@ferry/core';
import { pythonHttpProbe } from './healthcheck.js';
import { modelLayers, placeUnder } from './model-layers.js';
import type { RuntimeContext, RuntimePlan, ServingRuntime } from './types.js';

export const vllmRuntime: ServingRuntime = {
  name: 'vllm',
  title: 'vLLM (OpenAI-compatible)',
  defaultBase: 'docker.io/vllm/vllm-openai:v0.7.3',
  pinnedBy: 'tag',
  port: 8000,
  protocol: 'OpenAI API (HTTP 8000: /v1/chat/completions, /v1/completions, /health)',
  async plan({ model, options }: RuntimeContext): Promise<RuntimePlan> {
    if (!model.isDirectory || !model.files.some((f) => f.relPath === 'config.json')) {
      throw new InputError('runtime vllm packages a Hugging Face model directory: model-path must be a directory with config.json and the weights', {
        subject: 'model-path',
      });
    }
    const dir = `/models/${options.modelName}`;
    const served = options.servedModelName ?? options.modelName;
    const cmd = ['--model', dir, '--served-model-name', served, '--host', '0.0.0.0', '--port', '8000'];
    if (options.maxBatchSize !== undefined && options.maxBatchSize > 0) cmd.push('--max-num-seqs', String(options.maxBatchSize));
    return {
      modelLayers: await modelLayers(placeUnder(dir, model.files)),
      configLayer: undefined,
      config: {
        entrypoint: ['python3', '-m', 'vllm.entrypoints.openai.api_server'],
        cmd,
        env: { HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', FERRY_SERVED_MODEL_NAME: served },
        exposedPorts: ['8000'],
        healthcheck: pythonHttpProbe(8000, '/health', { startPeriod: 600 }),
      },
      paths: [['model', dir]],
      generated: {},
    };
  },
};
