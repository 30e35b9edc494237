// NVIDIA Triton Inference Server: a model repository /models/<name>/ with the ONNX model in the
// version directory 1/ and a config.pbtxt written from the signature validate-model reads (names,
// data types and dimensions of every input and output), with batching and instance groups from
// the inputs. Triton batches along a first dimension that the config leaves out of `dims`, so a
// model batches only when that dimension is variable in every input and output.
import { InputError } from '@ferry/core';
import type { TensorSpec } from '@ferry/model';
import { bashHttpProbe } from './healthcheck.js';
import { configLayer, modelLayers, placeUnder } from './model-layers.js';
import type { RuntimeContext, RuntimePlan, ServingRuntime } from './types.js';

const REPOSITORY = '/models';
/** Triton's own default when it completes a config for a batching model (--backend-config=default-max-batch-size). */
const DEFAULT_MAX_BATCH_SIZE = 4;

/** ONNX element type → Triton data type (ONNX strings are Triton BYTES, written TYPE_STRING). */
const DATA_TYPES: Readonly<Record<string, string>> = {
  BOOL: 'TYPE_BOOL',
  UINT8: 'TYPE_UINT8',
  UINT16: 'TYPE_UINT16',
  UINT32: 'TYPE_UINT32',
  UINT64: 'TYPE_UINT64',
  INT8: 'TYPE_INT8',
  INT16: 'TYPE_INT16',
  INT32: 'TYPE_INT32',
  INT64: 'TYPE_INT64',
  FLOAT16: 'TYPE_FP16',
  FLOAT: 'TYPE_FP32',
  DOUBLE: 'TYPE_FP64',
  BFLOAT16: 'TYPE_BF16',
  STRING: 'TYPE_STRING',
};

const isVariable = (dim: number | string | undefined) => dim === undefined || typeof dim === 'string' || dim < 0;

/** Whether the first dimension of every tensor is variable, i.e. a batch dimension Triton can own. */
export function batchable(tensors: readonly TensorSpec[]): boolean {
  return tensors.length > 0 && tensors.every((t) => t.shape.length > 0 && isVariable(t.shape[0]));
}

function dataType(tensor: TensorSpec): string {
  const type = DATA_TYPES[tensor.dtype];
  if (type === undefined) {
    throw new InputError(`runtime triton: ${tensor.name} has ONNX type ${tensor.dtype}, which Triton's ONNX Runtime backend does not serve`, { subject: 'runtime' });
  }
  return type;
}

function tensorBlock(tensor: TensorSpec, batched: boolean): string {
  const dims = (batched ? tensor.shape.slice(1) : tensor.shape).map((d) => (isVariable(d) ? -1 : d));
  // A scalar (or a batched vector) has no dims left: Triton writes that as [ 1 ] with a reshape to [ ].
  const shape = dims.length === 0 ? '[ 1 ]\n    reshape: { shape: [ ] }' : `[ ${dims.join(', ')} ]`;
  return `  {\n    name: ${JSON.stringify(tensor.name)}\n    data_type: ${dataType(tensor)}\n    dims: ${shape}\n  }`;
}

export interface TritonConfigOptions {
  name: string;
  maxBatchSize: number | undefined;
  dynamicBatching: boolean | undefined;
  instanceCount: number;
  /** The ONNX file's name in the version directory, when it is not model.onnx. */
  modelFilename?: string;
}

/** config.pbtxt (protobuf text format) for an ONNX model with this signature. */
export function tritonConfig(inputs: readonly TensorSpec[], outputs: readonly TensorSpec[], options: TritonConfigOptions): string {
  const canBatch = batchable([...inputs, ...outputs]);
  const maxBatchSize = options.maxBatchSize ?? (canBatch ? DEFAULT_MAX_BATCH_SIZE : 0);
  if (maxBatchSize > 0 && !canBatch) {
    const fixed = [...inputs, ...outputs].find((t) => t.shape.length === 0 || !isVariable(t.shape[0]))!;
    throw new InputError(
      `max-batch-size: ${maxBatchSize} needs a variable first (batch) dimension on every input and output, but ${fixed.name} has shape [${fixed.shape.join(', ')}]; use 0`,
      { subject: 'max-batch-size' },
    );
  }
  if (options.dynamicBatching === true && maxBatchSize === 0) {
    throw new InputError('dynamic-batching needs max-batch-size > 0 (and a model with a variable first dimension)', { subject: 'dynamic-batching' });
  }
  const batched = maxBatchSize > 0;
  const lines = [
    `name: ${JSON.stringify(options.name)}`,
    'platform: "onnxruntime_onnx"',
    `max_batch_size: ${maxBatchSize}`,
    ...(options.modelFilename ? [`default_model_filename: ${JSON.stringify(options.modelFilename)}`] : []),
    `input [\n${inputs.map((t) => tensorBlock(t, batched)).join(',\n')}\n]`,
    `output [\n${outputs.map((t) => tensorBlock(t, batched)).join(',\n')}\n]`,
    // KIND_AUTO: on a GPU when the container has one, else on the CPU.
    `instance_group [\n  {\n    count: ${options.instanceCount}\n    kind: KIND_AUTO\n  }\n]`,
  ];
  if (batched && options.dynamicBatching !== false) lines.push('dynamic_batching { }');
  return `${lines.join('\n')}\n`;
}

export const tritonRuntime: ServingRuntime = {
  name: 'triton',
  title: 'NVIDIA Triton Inference Server',
  defaultBase: 'nvcr.io/nvidia/tritonserver:25.01-py3',
  pinnedBy: 'tag',
  port: 8000,
  protocol: 'Open Inference Protocol v2 (HTTP 8000, gRPC 8001, metrics 8002)',
  async plan({ model, options }: RuntimeContext): Promise<RuntimePlan> {
    if (model.format !== 'onnx' || model.signature === undefined) {
      throw new InputError(`runtime triton packages ONNX models, but the main file of model-path (${model.main.relPath}) is ${model.format}`, {
        subject: 'model-path',
        hint: 'export the model to ONNX, or use a runtime for its format (torchserve, tf-serving, mlserver, vllm)',
      });
    }
    if (model.main.relPath.includes('/')) {
      throw new InputError(`runtime triton: the ONNX file ${model.main.relPath} must be at the top of the model directory`, { subject: 'model-path' });
    }
    const dir = `${REPOSITORY}/${options.modelName}`;
    // A single file becomes 1/model.onnx; a directory keeps its names (external data is found by
    // relative path), and the config names the ONNX file when it is not model.onnx.
    const files = model.isDirectory ? placeUnder(`${dir}/1`, model.files) : [{ imagePath: `${dir}/1/model.onnx`, file: model.main }];
    const modelFilename = model.isDirectory && model.main.relPath !== 'model.onnx' ? model.main.relPath : undefined;
    const config = tritonConfig(model.signature.inputs, model.signature.outputs, {
      name: options.modelName,
      maxBatchSize: options.maxBatchSize,
      dynamicBatching: options.dynamicBatching,
      instanceCount: options.instanceCount,
      ...(modelFilename ? { modelFilename } : {}),
    });
    const generated = { [`${dir}/config.pbtxt`]: config };
    return {
      modelLayers: await modelLayers(files),
      configLayer: configLayer(generated),
      config: {
        entrypoint: ['/opt/tritonserver/bin/tritonserver'],
        cmd: [`--model-repository=${REPOSITORY}`, '--model-control-mode=none', '--exit-on-error=true'],
        exposedPorts: ['8000', '8001', '8002'],
        healthcheck: bashHttpProbe(8000, '/v2/health/ready', { startPeriod: 120 }),
      },
      paths: [
        ['model repository', REPOSITORY],
        ['model', files[0]!.imagePath],
        ['config', `${dir}/config.pbtxt`],
      ],
      generated,
    };
  },
};
