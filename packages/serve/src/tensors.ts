// Converts Open Inference Protocol tensors (JSON data, flat or nested, or the binary tensor data
// extension's raw bytes) into typed arrays of the model's declared element type, and outputs back.
// Plain data, no onnxruntime: it runs on the HTTP thread, and the arrays move to an inference
// thread without a copy. Every rejection names the tensor and says what was expected.
import { DATATYPES, datatypeOfOrt, float16Array, type DatatypeInfo, type OrtElementType, type V2Datatype } from './datatypes.js';
import { badRequest, RequestError } from './errors.js';

export type TensorData = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | string[];

/** A tensor as onnxruntime takes and gives it: element type, dimensions, flat row-major data. */
export interface PlainTensor {
  readonly type: OrtElementType;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

/** One input or output as the model declares it. */
export interface TensorSignature {
  readonly name: string;
  readonly datatype: V2Datatype;
  /** v2 shape: -1 for a dimension the model leaves open. */
  readonly shape: readonly number[];
  /** False when the model declares no shape, so any shape is passed on to onnxruntime. */
  readonly ranked: boolean;
}

/** An input tensor of a request, after the request's JSON was checked. */
export interface RequestTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly datatype: string;
  /** JSON data (flat or nested), or undefined when the bytes come from `binary`. */
  readonly data: unknown;
  readonly binary: Buffer | undefined;
}

export interface OutputTensor {
  readonly name: string;
  readonly datatype: V2Datatype;
  readonly shape: number[];
  data?: unknown[];
  parameters?: { binary_data_size: number };
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Checks the request's datatype and shape against the model's declaration. */
export function checkAgainstSignature(input: RequestTensor, sig: TensorSignature): V2Datatype {
  if (input.datatype !== sig.datatype) {
    throw badRequest(`input ${input.name}: datatype ${input.datatype} does not match the model, which takes ${sig.datatype}`);
  }
  if (!sig.ranked) return sig.datatype;
  const fits = input.shape.length === sig.shape.length && sig.shape.every((d, i) => d < 0 || d === input.shape[i]);
  if (!fits) {
    throw badRequest(
      `input ${input.name}: shape ${formatShape(input.shape)} does not match the model's ${formatShape(sig.shape)} (-1 is any size)`,
    );
  }
  return sig.datatype;
}

function flatData(input: RequestTensor, count: number): unknown[] {
  const { data } = input;
  if (!Array.isArray(data)) throw badRequest(`input ${input.name}: "data" must be an array`);
  // Nested arrays are accepted as a convenience; the protocol's own form is row-major flat.
  const flat = data.length > 0 && Array.isArray(data[0]) ? (data.flat(Infinity) as unknown[]) : (data as unknown[]);
  if (flat.length !== count) {
    throw badRequest(`input ${input.name}: shape ${formatShape(input.shape)} holds ${count} elements, but "data" has ${flat.length}`);
  }
  return flat;
}

function elementError(input: RequestTensor, index: number, value: unknown, expected: string): RequestError {
  return badRequest(`input ${input.name}: element ${index} is ${JSON.stringify(value) ?? String(value)}, expected ${expected} for ${input.datatype}`);
}

function numericArray(dt: V2Datatype, count: number): Exclude<TensorData, string[] | BigInt64Array | BigUint64Array> {
  switch (dt) {
    case 'FP32':
      return new Float32Array(count);
    case 'FP64':
      return new Float64Array(count);
    case 'INT8':
      return new Int8Array(count);
    case 'UINT8':
    case 'BOOL':
      return new Uint8Array(count);
    case 'INT16':
      return new Int16Array(count);
    case 'UINT16':
      return new Uint16Array(count);
    case 'INT32':
      return new Int32Array(count);
    case 'UINT32':
      return new Uint32Array(count);
    default:
      throw new Error(`no plain typed array for ${dt}`);
  }
}

function fromJson(input: RequestTensor, dt: V2Datatype, info: DatatypeInfo, values: unknown[]): TensorData {
  const count = values.length;
  switch (info.kind) {
    case 'float': {
      if (dt === 'FP16') {
        const F16 = float16Array();
        if (!F16) throw badRequest(`input ${input.name}: FP16 needs Node.js 24 or later on the server`);
        const out = new F16(count);
        for (let i = 0; i < count; i++) {
          const v = values[i];
          if (typeof v !== 'number') throw elementError(input, i, v, 'a number');
          out[i] = v;
        }
        return new Uint16Array(out.buffer);
      }
      const out = numericArray(dt, count);
      for (let i = 0; i < count; i++) {
        const v = values[i];
        if (typeof v !== 'number') throw elementError(input, i, v, 'a number');
        out[i] = v;
      }
      return out;
    }
    case 'int': {
      const out = numericArray(dt, count);
      const min = info.min as number;
      const max = info.max as number;
      for (let i = 0; i < count; i++) {
        const v = values[i];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw elementError(input, i, v, `an integer in [${min}, ${max}]`);
        out[i] = v;
      }
      return out;
    }
    case 'bigint': {
      const out = dt === 'INT64' ? new BigInt64Array(count) : new BigUint64Array(count);
      const min = info.min as bigint;
      const max = info.max as bigint;
      for (let i = 0; i < count; i++) {
        const v = values[i];
        // A decimal string carries 64-bit values exactly; a JSON number is exact only up to 2^53.
        let b: bigint | undefined;
        if (typeof v === 'number' && Number.isInteger(v)) b = BigInt(v);
        else if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) b = BigInt(v);
        if (b === undefined || b < min || b > max) throw elementError(input, i, v, `an integer in [${min}, ${max}] (a number, or a decimal string for exact 64-bit values)`);
        out[i] = b;
      }
      return out;
    }
    case 'bool': {
      const out = new Uint8Array(count);
      for (let i = 0; i < count; i++) {
        const v = values[i];
        if (typeof v !== 'boolean') throw elementError(input, i, v, 'true or false');
        out[i] = v ? 1 : 0;
      }
      return out;
    }
    case 'bytes': {
      const out: string[] = new Array<string>(count);
      for (let i = 0; i < count; i++) {
        const v = values[i];
        if (typeof v !== 'string') throw elementError(input, i, v, 'a string');
        out[i] = v;
      }
      return out;
    }
  }
}

/** BYTES in the binary extension: each element is a 4-byte little-endian length and that many bytes. */
function bytesFromBinary(input: RequestTensor, bytes: Buffer, count: number): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) throw badRequest(`input ${input.name}: binary BYTES data ends inside an element's 4-byte length`);
    const len = bytes.readUInt32LE(at);
    at += 4;
    if (at + len > bytes.length) throw badRequest(`input ${input.name}: binary BYTES element ${out.length} claims ${len} bytes, past the end of its data`);
    out.push(bytes.toString('utf8', at, at + len));
    at += len;
  }
  if (out.length !== count) throw badRequest(`input ${input.name}: shape ${formatShape(input.shape)} holds ${count} elements, but the binary data has ${out.length}`);
  return out;
}

function fromBinary(input: RequestTensor, dt: V2Datatype, info: DatatypeInfo, bytes: Buffer, count: number): TensorData {
  if (info.kind === 'bytes') return bytesFromBinary(input, bytes, count);
  if (bytes.length !== count * info.size) {
    throw badRequest(`input ${input.name}: shape ${formatShape(input.shape)} of ${dt} needs ${count * info.size} bytes, but binary_data_size is ${bytes.length}`);
  }
  // Copy: the slice of the request body is not aligned for wider element types.
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  const buffer = copy.buffer;
  switch (dt) {
    case 'FP32':
      return new Float32Array(buffer);
    case 'FP64':
      return new Float64Array(buffer);
    case 'FP16':
    case 'UINT16':
      return new Uint16Array(buffer);
    case 'INT8':
      return new Int8Array(buffer);
    case 'UINT8':
      return copy;
    case 'BOOL':
      for (let i = 0; i < copy.length; i++) if (copy[i]! > 1) throw elementError(input, i, copy[i], 'a byte 0 or 1');
      return copy;
    case 'INT16':
      return new Int16Array(buffer);
    case 'INT32':
      return new Int32Array(buffer);
    case 'UINT32':
      return new Uint32Array(buffer);
    case 'INT64':
      return new BigInt64Array(buffer);
    case 'UINT64':
      return new BigUint64Array(buffer);
    case 'BYTES':
      return bytesFromBinary(input, bytes, count);
  }
}

/** The typed data of one request input, checked against the model's signature. */
export function decodeInput(input: RequestTensor, sig: TensorSignature): PlainTensor {
  const dt = checkAgainstSignature(input, sig);
  const info = DATATYPES[dt];
  const count = elementCount(input.shape);
  const data = input.binary !== undefined ? fromBinary(input, dt, info, input.binary, count) : fromJson(input, dt, info, flatData(input, count));
  return { type: info.ort, dims: input.shape, data };
}

interface JsonWithRaw {
  rawJSON?: (text: string) => unknown;
}
const rawJSON = (JSON as unknown as JsonWithRaw).rawJSON;

function bigintToJson(v: bigint): unknown {
  const n = Number(v);
  if (Number.isSafeInteger(n)) return n;
  // Beyond 2^53 a JSON number parsed as a double would lose digits; write the exact digits.
  return rawJSON ? rawJSON(v.toString()) : n;
}

function jsonData(tensor: PlainTensor): unknown[] {
  const data = tensor.data as ArrayLike<unknown>;
  switch (tensor.type) {
    case 'bool':
      return Array.from(data as Uint8Array, (v) => v !== 0);
    case 'float16': {
      const F16 = float16Array();
      const bits = data as Uint16Array;
      if (!F16) throw new RequestError('internal', `an FP16 output needs Node.js 24 or later on the server`);
      return Array.from(new F16(bits.buffer, bits.byteOffset, bits.length));
    }
    case 'int64':
    case 'uint64':
      return Array.from(data as BigInt64Array, bigintToJson);
    default:
      return Array.from(data);
  }
}

function binaryData(tensor: PlainTensor): Buffer {
  if (tensor.type === 'string') {
    const parts: Buffer[] = [];
    for (const s of tensor.data as string[]) {
      const bytes = Buffer.from(s, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32LE(bytes.length);
      parts.push(len, bytes);
    }
    return Buffer.concat(parts);
  }
  const view = tensor.data as Exclude<TensorData, string[]>;
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/** An output tensor in the response: JSON `data`, or raw bytes when the client asked for binary. */
export function encodeOutput(name: string, tensor: PlainTensor, binary: boolean): { output: OutputTensor; blob: Buffer | undefined } {
  const datatype = datatypeOfOrt(tensor.type);
  if (!datatype) throw new RequestError('internal', `output ${name} has element type ${tensor.type}, which the Open Inference Protocol cannot carry`);
  const shape = tensor.dims.map(Number);
  if (binary) {
    const blob = binaryData(tensor);
    return { output: { name, datatype, shape, parameters: { binary_data_size: blob.length } }, blob };
  }
  return { output: { name, datatype, shape, data: jsonData(tensor) }, blob: undefined };
}
