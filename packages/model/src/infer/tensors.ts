// Turns JSON sample values (nested arrays) into onnxruntime tensors of the model's declared type,
// and back into flat numbers for comparison.
import { InputError } from '@ferry/core';
import type { Ort } from './runtime.js';

type Tensor = InstanceType<Ort['Tensor']>;

/** Shape and flat values of a nested JSON array; ragged arrays are an error. */
export function flatten(value: unknown, where: string): { shape: number[]; values: unknown[] } {
  const shape: number[] = [];
  let probe: unknown = value;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const values: unknown[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (Array.isArray(v)) throw new InputError(`${where}: ragged array (deeper than its first element)`, { subject: where });
      values.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) throw new InputError(`${where}: ragged array at depth ${depth}`, { subject: where });
    for (const x of v) walk(x, depth + 1);
  };
  walk(value, 0);
  return { shape, values };
}

export function toTensor(ort: Ort, type: string, value: unknown, where: string): Tensor {
  const { shape, values } = flatten(value, where);
  const num = (v: unknown): number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(`${where}: expected numbers, found ${JSON.stringify(v)}`, { subject: where });
    return v;
  };
  switch (type) {
    case 'float32':
      return new ort.Tensor('float32', Float32Array.from(values, num), shape);
    case 'float64':
      return new ort.Tensor('float64', Float64Array.from(values, num), shape);
    case 'int32':
      return new ort.Tensor('int32', Int32Array.from(values, num), shape);
    case 'int64':
      return new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(Math.trunc(num(v)))), shape);
    case 'bool':
      return new ort.Tensor('bool', Uint8Array.from(values, (v) => (v ? 1 : 0)), shape);
    case 'string':
      return new ort.Tensor('string', values.map((v) => String(v)), shape);
    default:
      throw new InputError(`${where}: the model's input type ${type} is not supported by the smoke test`, { subject: where });
  }
}

/** Flat numbers of an output tensor (strings become NaN, so they never compare equal by accident). */
export function tensorNumbers(t: Tensor): number[] {
  const data = t.data as ArrayLike<number | bigint | string | boolean>;
  return Array.from(data, (v) => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : Number.NaN));
}
