// The Open Inference Protocol's tensor data types and the onnxruntime element types they carry.

export const V2_DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
export type V2Datatype = (typeof V2_DATATYPES)[number];

/** onnxruntime-node's element types that have a v2 data type (int4/uint4 have none). */
export type OrtElementType = 'bool' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'int8' | 'int16' | 'int32' | 'int64' | 'float16' | 'float32' | 'float64' | 'string';

export interface DatatypeInfo {
  readonly ort: OrtElementType;
  /** Bytes per element in the binary tensor extension; 0 for BYTES (length-prefixed). */
  readonly size: number;
  readonly kind: 'float' | 'int' | 'bigint' | 'bool' | 'bytes';
  /** Inclusive range of integer kinds. */
  readonly min?: number | bigint;
  readonly max?: number | bigint;
}

export const DATATYPES: Readonly<Record<V2Datatype, DatatypeInfo>> = {
  BOOL: { ort: 'bool', size: 1, kind: 'bool' },
  UINT8: { ort: 'uint8', size: 1, kind: 'int', min: 0, max: 255 },
  UINT16: { ort: 'uint16', size: 2, kind: 'int', min: 0, max: 65_535 },
  UINT32: { ort: 'uint32', size: 4, kind: 'int', min: 0, max: 4_294_967_295 },
  UINT64: { ort: 'uint64', size: 8, kind: 'bigint', min: 0n, max: 2n ** 64n - 1n },
  INT8: { ort: 'int8', size: 1, kind: 'int', min: -128, max: 127 },
  INT16: { ort: 'int16', size: 2, kind: 'int', min: -32_768, max: 32_767 },
  INT32: { ort: 'int32', size: 4, kind: 'int', min: -2_147_483_648, max: 2_147_483_647 },
  INT64: { ort: 'int64', size: 8, kind: 'bigint', min: -(2n ** 63n), max: 2n ** 63n - 1n },
  FP16: { ort: 'float16', size: 2, kind: 'float' },
  FP32: { ort: 'float32', size: 4, kind: 'float' },
  FP64: { ort: 'float64', size: 8, kind: 'float' },
  BYTES: { ort: 'string', size: 0, kind: 'bytes' },
};

const BY_ORT = new Map<string, V2Datatype>(Object.entries(DATATYPES).map(([dt, info]) => [info.ort, dt as V2Datatype]));

export function isV2Datatype(value: string): value is V2Datatype {
  return Object.hasOwn(DATATYPES, value);
}

/** The v2 data type of an onnxruntime element type, or undefined when the protocol has none. */
export function datatypeOfOrt(type: string): V2Datatype | undefined {
  return BY_ORT.get(type);
}

interface Float16ArrayConstructor {
  new (length: number): ArrayLike<number> & { [i: number]: number; readonly buffer: ArrayBufferLike };
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): ArrayLike<number> & { readonly buffer: ArrayBufferLike };
}

/** Node 24 has Float16Array; older runtimes cannot convert FP16 and say so. */
export function float16Array(): Float16ArrayConstructor | undefined {
  return (globalThis as { Float16Array?: Float16ArrayConstructor }).Float16Array;
}
