// Structure check for safetensors files, following the rules of the reference reader: it reads the
// 8-byte length and the JSON header only, so a 100 GB file costs what a 1 MB one does.
import { open } from 'node:fs/promises';
import { countKeyTokens, countParsedKeys, findDuplicateKey } from './json-keys.js';
import { MalformedModelError, type FileCheck, type FileCheckContext } from './types.js';

/** The reference reader's header cap; `limits.maxHeaderBytes` may lower it, never raise it. */
export const SAFETENSORS_MAX_HEADER = 100_000_000;

/** Bits per element of every dtype the format defines (sub-byte floats included). */
export const SAFETENSORS_DTYPE_BITS: Readonly<Record<string, number>> = {
  BOOL: 8, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6,
  I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
};

interface TensorEntry {
  readonly name: string;
  readonly dtype: string;
  readonly begin: number;
  readonly end: number;
  readonly elements: bigint;
}

const U64_MAX = 2n ** 64n - 1n;

export async function checkSafetensors(ctx: FileCheckContext): Promise<FileCheck> {
  const file = ctx.displayPath;
  const fail = (rule: string, detail: string): MalformedModelError => new MalformedModelError(file, rule, detail);
  const fh = await open(ctx.path, 'r');
  let headerBytes: Buffer;
  let size: number;
  try {
    size = (await fh.stat()).size;
    if (size < 8) throw fail('safetensors/header-length', `the file is ${size} bytes, too short for the 8-byte header length`);
    const lenBuf = Buffer.alloc(8);
    await fh.read(lenBuf, 0, 8, 0);
    const n = lenBuf.readBigUInt64LE(0);
    const cap = Math.min(SAFETENSORS_MAX_HEADER, ctx.limits.maxHeaderBytes);
    if (n > BigInt(cap)) throw fail('safetensors/header-length', `header length ${n} exceeds the ${cap}-byte limit`);
    if (n > BigInt(size - 8)) throw fail('safetensors/header-length', `header length ${n} runs past the end of the ${size}-byte file`);
    headerBytes = Buffer.alloc(Number(n));
    const { bytesRead } = await fh.read(headerBytes, 0, headerBytes.length, 8);
    if (bytesRead !== headerBytes.length) throw fail('safetensors/header-length', 'the file ended while reading the header');
  } finally {
    await fh.close();
  }
  ctx.signal.throwIfAborted();

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw fail('safetensors/header-utf8', 'the header is not valid UTF-8');
  }
  if (!text.startsWith('{')) throw fail('safetensors/header-json', 'the header does not start with "{"');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    throw fail('safetensors/header-json', `the header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw fail('safetensors/header-json', 'the header is not a JSON object');
  const entries = Object.entries(header as Record<string, unknown>);
  // JSON.parse keeps the last of repeated keys, which hides a second tensor or a second metadata map.
  // Counting key tokens is cheap; the exact (slower) search runs only to name the repeated key.
  let parsedKeys = entries.length;
  for (const [, info] of entries) parsedKeys += countParsedKeys(info);
  if (countKeyTokens(text) !== parsedKeys) {
    const dup = findDuplicateKey(text) ?? '?';
    throw fail('safetensors/duplicate-key', `key '${dup.slice(0, 200)}' appears more than once in the header`);
  }

  const tensors: TensorEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, info] of entries) {
    if (name === '__metadata__') {
      metadata = checkMetadata(info, fail);
      continue;
    }
    tensors.push(checkTensorInfo(name, info, fail));
  }

  // Sorted by position, each tensor must start where the previous one ended: no holes, no overlaps.
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const t of tensors) {
    if (t.begin !== expected) {
      const what = t.begin < expected ? 'overlaps the previous tensor' : `leaves a hole of ${t.begin - expected} bytes before it`;
      throw fail('safetensors/offsets-contiguous', `tensor '${t.name}' starts at ${t.begin}, expected ${expected}: it ${what}`);
    }
    expected = t.end;
  }
  const dataStart = 8 + headerBytes.length;
  if (dataStart + expected !== size) {
    throw fail(
      'safetensors/data-end',
      `tensor data ends at byte ${dataStart + expected} but the file has ${size} bytes${dataStart + expected < size ? ': trailing bytes follow the data' : ''}`,
    );
  }

  const dtypes = new Map<string, number>();
  let parameters = 0n;
  for (const t of tensors) {
    dtypes.set(t.dtype, (dtypes.get(t.dtype) ?? 0) + 1);
    parameters += t.elements;
  }
  const facts: [string, string][] = [
    ['tensors', String(tensors.length)],
    ['parameters', String(parameters)],
    ['dtypes', [...dtypes].map(([d, c]) => `${d} (${c})`).join(', ') || 'none'],
    ['header bytes', String(headerBytes.length)],
  ];
  const keys = Object.keys(metadata);
  if (keys.length > 0) facts.push(['metadata', keys.slice(0, 10).map((k) => `${k}=${(metadata[k] ?? '').slice(0, 40)}`).join(', ')]);
  return { format: 'safetensors', scanned: true, findings: [], facts };
}

function checkMetadata(info: unknown, fail: (rule: string, detail: string) => Error): Record<string, string> {
  if (typeof info !== 'object' || info === null || Array.isArray(info)) throw fail('safetensors/metadata', '__metadata__ is not an object');
  for (const [k, v] of Object.entries(info)) {
    if (typeof v !== 'string') throw fail('safetensors/metadata', `__metadata__ value of '${k}' is ${v === null ? 'null' : typeof v}, not a string`);
  }
  return info as Record<string, string>;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function checkTensorInfo(name: string, info: unknown, fail: (rule: string, detail: string) => Error): TensorEntry {
  const label = `tensor '${name.slice(0, 200)}'`;
  if (typeof info !== 'object' || info === null || Array.isArray(info)) throw fail('safetensors/tensor-info', `${label} is not an object`);
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (typeof dtype !== 'string') throw fail('safetensors/tensor-info', `${label} has no dtype string`);
  if (!Array.isArray(shape)) throw fail('safetensors/tensor-info', `${label} has no shape array`);
  if (!Array.isArray(offsets) || offsets.length !== 2) throw fail('safetensors/tensor-info', `${label} has no [begin, end] data_offsets`);
  const bits = SAFETENSORS_DTYPE_BITS[dtype];
  if (bits === undefined) throw fail('safetensors/dtype', `${label} has unknown dtype '${dtype.slice(0, 40)}'`);
  if (!shape.every(isCount)) throw fail('safetensors/shape', `${label} has a shape entry that is not a non-negative integer`);
  const [begin, end] = offsets as unknown[];
  if (!isCount(begin) || !isCount(end)) throw fail('safetensors/tensor-info', `${label} has data_offsets that are not non-negative integers`);
  if (end < begin) throw fail('safetensors/offsets-contiguous', `${label} ends (${end}) before it begins (${begin})`);
  const dims = shape as number[];
  const shown = `${dtype} × shape [${dims.slice(0, 8).join(', ')}${dims.length > 8 ? ', …' : ''}]`;
  // Stops as soon as the product leaves 64 bits, so a hostile million-entry shape stays cheap.
  let elements = dims.includes(0) ? 0n : 1n;
  for (const d of dims) {
    if (elements === 0n || elements * BigInt(bits) > U64_MAX) break;
    elements *= BigInt(d);
  }
  const totalBits = elements * BigInt(bits);
  if (totalBits > U64_MAX) throw fail('safetensors/tensor-size', `${label}: ${shown} overflows 64 bits`);
  if (totalBits % 8n !== 0n) throw fail('safetensors/tensor-size', `${label}: ${totalBits} bits of ${dtype} do not fill whole bytes`);
  const bytes = totalBits / 8n;
  if (bytes !== BigInt(end - begin)) {
    throw fail('safetensors/tensor-size', `${label}: ${shown} needs ${bytes} bytes, but data_offsets span ${end - begin}`);
  }
  return { name, dtype, begin, end, elements };
}
