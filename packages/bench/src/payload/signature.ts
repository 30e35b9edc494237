// Payloads generated from a model signature (the tensor list validate-model reads from an ONNX
// graph): every input filled with seeded pseudo-random values of its type. Symbolic or unknown
// dimensions become 1 (batch 1) unless `dims` names a size for them.
import { InputError } from '@ferry/core';
import { SeededRandom } from '../schedule/random.js';

/** Same shape as @ferry/model's TensorSpec. */
export interface TensorSpecLike {
  readonly name: string;
  /** ONNX element type name (FLOAT, INT64, …) or an OIP datatype (FP32, INT64, …). */
  readonly dtype: string;
  readonly shape: readonly (number | string)[];
}

export interface SignaturePayloadOptions {
  readonly inputs: readonly TensorSpecLike[];
  /** How many distinct payloads (default 16); requests cycle through them. */
  readonly count?: number;
  readonly seed?: number;
  /** Sizes for symbolic dimensions by name; unnamed ones are 1. */
  readonly dims?: Readonly<Record<string, number>>;
}

const ONNX_TO_OIP: Record<string, string> = {
  FLOAT: 'FP32',
  DOUBLE: 'FP64',
  FLOAT16: 'FP16',
  BFLOAT16: 'BF16',
  INT8: 'INT8',
  INT16: 'INT16',
  INT32: 'INT32',
  INT64: 'INT64',
  UINT8: 'UINT8',
  UINT16: 'UINT16',
  UINT32: 'UINT32',
  UINT64: 'UINT64',
  BOOL: 'BOOL',
  STRING: 'BYTES',
};
const OIP_TYPES = new Set(Object.values(ONNX_TO_OIP));

/** The Open Inference Protocol datatype for an ONNX element type (or an OIP name, unchanged). */
export function oipDatatype(dtype: string): string {
  const up = dtype.toUpperCase();
  const t = ONNX_TO_OIP[up] ?? (OIP_TYPES.has(up) ? up : undefined);
  if (t === undefined) throw new InputError(`no Open Inference Protocol datatype for tensor element type ${dtype}`, { subject: 'signature' });
  return t;
}

export function concreteShape(shape: readonly (number | string)[], dims: Readonly<Record<string, number>> = {}): number[] {
  return shape.map((d) => (typeof d === 'number' ? (d < 0 ? 1 : d) : (dims[d] ?? 1)));
}

function value(datatype: string, random: SeededRandom, i: number): number | boolean | string {
  switch (datatype) {
    case 'FP32':
    case 'FP64':
    case 'FP16':
    case 'BF16':
      return Math.round((random.uniform() * 2 - 1) * 1e4) / 1e4;
    case 'BOOL':
      return random.uniform() < 0.5;
    case 'BYTES':
      return `s${i}`;
    case 'INT8':
      return Math.floor(random.uniform() * 256) - 128;
    case 'UINT8':
      return Math.floor(random.uniform() * 256);
    default:
      // Integer inputs are often indices (token ids, categories): keep them small and non-negative.
      return Math.floor(random.uniform() * 100);
  }
}

export interface GeneratedTensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: number[];
  /** Row-major, flat. */
  readonly data: (number | boolean | string)[];
}

export function generateTensors(options: SignaturePayloadOptions): GeneratedTensor[][] {
  if (options.inputs.length === 0) throw new InputError('the model signature has no inputs to generate payloads for', { subject: 'signature' });
  const random = new SeededRandom(options.seed ?? 1);
  const count = options.count ?? 16;
  const out: GeneratedTensor[][] = [];
  for (let p = 0; p < count; p++) {
    out.push(
      options.inputs.map((spec) => {
        const datatype = oipDatatype(spec.dtype);
        const shape = concreteShape(spec.shape, options.dims);
        const n = shape.reduce((a, b) => a * b, 1);
        if (n > 16 * 1024 * 1024) throw new InputError(`input ${spec.name} of shape [${shape.join(', ')}] is too large to generate`, { subject: 'signature' });
        const data: (number | boolean | string)[] = new Array(n);
        for (let i = 0; i < n; i++) data[i] = value(datatype, random, i);
        return { name: spec.name, datatype, shape, data };
      }),
    );
  }
  return out;
}

/** Nests a flat row-major array into `shape`. */
function nest(data: readonly unknown[], shape: readonly number[]): unknown {
  if (shape.length === 0) return data[0];
  if (shape.length === 1) return data.slice(0, shape[0]);
  const step = data.length / shape[0]!;
  return Array.from({ length: shape[0]! }, (_, i) => nest(data.slice(i * step, (i + 1) * step), shape.slice(1)));
}

/** Payloads for a protocol from a signature: OIP v2 infer bodies, KServe v1 `instances`, or TorchServe JSON. */
export function signaturePayloads(protocol: 'oip-v2' | 'kserve-v1' | 'torchserve', options: SignaturePayloadOptions): unknown[] {
  return generateTensors(options).map((tensors) => {
    if (protocol === 'oip-v2') return { inputs: tensors.map((t) => ({ name: t.name, shape: t.shape, datatype: t.datatype, data: t.data })) };
    if (protocol === 'kserve-v1') {
      // Row format: one instance per batch row, each input's row without the batch dimension.
      const rows = tensors[0]!.shape[0] ?? 1;
      const instances = Array.from({ length: rows }, (_, r) => {
        const one = (t: GeneratedTensor): unknown => {
          const perRow = t.data.length / (t.shape[0] ?? 1);
          return nest(t.data.slice(r * perRow, (r + 1) * perRow), t.shape.slice(1));
        };
        return tensors.length === 1 ? one(tensors[0]!) : Object.fromEntries(tensors.map((t) => [t.name, one(t)]));
      });
      return { instances };
    }
    return tensors.length === 1 ? { data: nest(tensors[0]!.data, tensors[0]!.shape) } : Object.fromEntries(tensors.map((t) => [t.name, nest(t.data, t.shape)]));
  });
}
