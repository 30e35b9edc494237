// Structure check for GGUF (llama.cpp) files: header, metadata and tensor infos are streamed with
// every count, length and nesting bounded before anything is allocated; tensor data is never read.
import { open } from 'node:fs/promises';
import type { Finding } from '@ferry/core';
import { FileCursor } from './file-cursor.js';
import { GGML_TYPES, GGML_UNQUANTIZED, GGUF_VALUE, GGUF_VALUE_BYTES } from './gguf-types.js';
import { MalformedModelError, type FileCheck, type FileCheckContext } from './types.js';

/** Bounds from the spec (keys, names, dims) and from hardened parsers (strings, nesting, counts). */
export const GGUF_LIMITS = {
  maxKeyBytes: 65_535,
  maxTensorNameBytes: 64,
  maxDims: 4,
  maxStringBytes: 16 * 1024 * 1024,
  maxArrayNesting: 4,
  maxTensors: 1_000_000,
  maxKeyValues: 1_000_000,
} as const;

const DEFAULT_ALIGNMENT = 32;
const INT64_MAX = 2n ** 63n - 1n;
/** Smallest possible tensor info (empty name, no dims) and key/value pair, for count sanity. */
const MIN_TENSOR_INFO = 24n;
const MIN_KEY_VALUE = 13n;
const BOOL_CHUNK = 64 * 1024;

type Fail = (rule: string, detail: string) => MalformedModelError;

interface TensorInfo {
  readonly name: string;
  readonly offset: bigint;
  readonly bytes: bigint;
}

/** Header-region reader: the cursor plus the budget every metadata byte is charged against. */
class GgufReader {
  readonly c: FileCursor;
  private readonly fail: Fail;
  private readonly budget: number;
  constructor(c: FileCursor, fail: Fail, budget: number) {
    this.c = c;
    this.fail = fail;
    this.budget = budget;
  }

  /** Makes n bytes available after checking they stay within the file and the metadata budget. */
  async need(n: number, what: string): Promise<void> {
    if (n > this.c.remaining) throw this.fail('gguf/truncated', `${what} needs ${n} bytes at offset ${this.c.pos}, past the end of the file`);
    if (this.c.pos + n > this.budget) {
      throw this.fail('gguf/metadata-size', `${what} at offset ${this.c.pos} takes the metadata past the ${this.budget}-byte limit`);
    }
    if (!this.c.has(n)) await this.c.need(n, what);
  }

  async u32(what: string): Promise<number> {
    await this.need(4, what);
    return this.c.u32();
  }

  async u64(what: string): Promise<bigint> {
    await this.need(8, what);
    return this.c.u64();
  }

  /** A u64-length string; read and returned only when `keep`, otherwise passed over. */
  async string(max: number, rule: string, what: string, keep: boolean): Promise<string | undefined> {
    const len = await this.u64(`${what} length`);
    if (len > BigInt(max)) throw this.fail(rule, `${what} is ${len} bytes long, over the ${max}-byte limit`);
    const n = Number(len);
    if (!keep) {
      this.skip(n, what);
      return undefined;
    }
    await this.need(n, what);
    return this.c.bytes(n).toString('utf8');
  }

  /** Bytes between the cursor and the end of the metadata budget. */
  get budgetLeft(): number {
    return this.budget - this.c.pos;
  }

  /** Passes over n bytes that must lie within the file and the metadata budget. */
  skip(n: number, what: string): void {
    if (n > this.c.remaining) throw this.fail('gguf/truncated', `${what} of ${n} bytes runs past the end of the file`);
    if (this.c.pos + n > this.budget) throw this.fail('gguf/metadata-size', `${what} takes the metadata past the ${this.budget}-byte limit`);
    this.c.skip(n);
  }
}

/**
 * Passes over up to `max` array strings that lie wholly in the cursor's buffer and within the metadata
 * budget, with plain number arithmetic, and returns how many. A vocabulary (a Llama 3 GGUF holds over
 * 400,000 tokens and merges) would otherwise cost a BigInt and a label string per element: over
 * 100 ms of a cold process for an 8 MiB header. The first string that does not qualify is left to
 * the caller, which reads it element by element and raises the precise error if it breaks a rule.
 */
function passBufferedStrings(r: GgufReader, max: number): number {
  const buf = r.c.peek();
  const end = Math.min(buf.length, r.budgetLeft);
  let off = 0;
  let count = 0;
  while (count < max && off + 8 <= end) {
    // Indexed bytes rather than readUInt32LE: no call per element while the code is still cold.
    const len = (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16)) + buf[off + 3] * 0x1000000;
    if ((buf[off + 4] | buf[off + 5] | buf[off + 6] | buf[off + 7]) !== 0 || len > GGUF_LIMITS.maxStringBytes || off + 8 + len > end) break;
    off += 8 + len;
    count++;
  }
  r.c.skip(off);
  return count;
}

const KEPT_KEYS = new Set(['general.architecture', 'general.alignment', 'general.quantization_version', 'general.name']);

async function readValue(r: GgufReader, type: number, key: string, depth: number, fail: Fail): Promise<string | number | undefined> {
  const fixed = GGUF_VALUE_BYTES[type];
  if (fixed !== undefined) {
    await r.need(fixed, `value of '${key}'`);
    if (type === GGUF_VALUE.BOOL) {
      const b = r.c.u8();
      if (b > 1) throw fail('gguf/bool-value', `'${key}' holds bool byte ${b}; only 0 and 1 are valid`);
      return b;
    }
    if (type === GGUF_VALUE.UINT32) return r.c.u32();
    r.c.skip(fixed);
    return undefined;
  }
  if (type === GGUF_VALUE.STRING) {
    return r.string(GGUF_LIMITS.maxStringBytes, 'gguf/string-length', `string value of '${key}'`, KEPT_KEYS.has(key));
  }
  if (type !== GGUF_VALUE.ARRAY) throw fail('gguf/value-type', `'${key}' has value type ${type}; valid types are 0 to 12`);
  if (depth >= GGUF_LIMITS.maxArrayNesting) throw fail('gguf/array-nesting', `'${key}' nests arrays more than ${GGUF_LIMITS.maxArrayNesting} deep`);
  const elemType = await r.u32(`array type of '${key}'`);
  const len = await r.u64(`array length of '${key}'`);
  const elemBytes = GGUF_VALUE_BYTES[elemType];
  // Each element needs at least this many bytes, so the length is checked before any loop runs.
  const minBytes = elemBytes ?? (elemType === GGUF_VALUE.STRING ? 8 : elemType === GGUF_VALUE.ARRAY ? 12 : undefined);
  if (minBytes === undefined) throw fail('gguf/value-type', `array '${key}' has element type ${elemType}; valid types are 0 to 12`);
  if (len * BigInt(minBytes) > BigInt(r.c.remaining)) {
    throw fail('gguf/array-length', `array '${key}' claims ${len} elements, more than the ${r.c.remaining} bytes left in the file can hold`);
  }
  const n = Number(len);
  if (elemBytes !== undefined && elemType !== GGUF_VALUE.BOOL) {
    r.skip(n * elemBytes, `array '${key}'`);
    return undefined;
  }
  if (elemType === GGUF_VALUE.BOOL) {
    for (let left = n; left > 0; ) {
      const chunk = Math.min(left, BOOL_CHUNK);
      await r.need(chunk, `array '${key}'`);
      const bytes = r.c.bytes(chunk);
      const bad = bytes.findIndex((b) => b > 1);
      if (bad >= 0) throw fail('gguf/bool-value', `array '${key}' holds bool byte ${bytes[bad]}; only 0 and 1 are valid`);
      left -= chunk;
    }
    return undefined;
  }
  if (elemType === GGUF_VALUE.STRING) {
    for (let i = 0; i < n; ) {
      i += passBufferedStrings(r, n - i);
      if (i === n) break;
      // The next string is not wholly buffered (or breaks a limit): one element the careful way.
      if (!r.c.has(8)) await r.need(8, `element ${i} of '${key}'`);
      const len = r.c.u64();
      if (len > BigInt(GGUF_LIMITS.maxStringBytes)) {
        throw fail('gguf/string-length', `element ${i} of '${key}' is ${len} bytes long, over the ${GGUF_LIMITS.maxStringBytes}-byte limit`);
      }
      r.skip(Number(len), `element ${i} of '${key}'`);
      i++;
    }
    return undefined;
  }
  for (let i = 0; i < n; i++) await readValue(r, GGUF_VALUE.ARRAY, `${key}[${i}]`, depth + 1, fail);
  return undefined;
}

export async function checkGguf(ctx: FileCheckContext): Promise<FileCheck> {
  const file = ctx.displayPath;
  const fail: Fail = (rule, detail) => new MalformedModelError(file, rule, detail);
  const fh = await open(ctx.path, 'r');
  try {
    const { size } = await fh.stat();
    const cursor = new FileCursor(fh, size, (d) => fail('gguf/truncated', d), ctx.signal);
    return await checkStream(new GgufReader(cursor, fail, ctx.limits.maxHeaderBytes), size, file, fail);
  } finally {
    await fh.close();
  }
}

async function checkStream(r: GgufReader, size: number, file: string, fail: Fail): Promise<FileCheck> {
  const findings: Finding[] = [];
  if (size < 4) throw fail('gguf/magic', `the file is ${size} bytes, too short for the GGUF magic`);
  await r.need(4, 'magic');
  const magic = r.c.bytes(4).toString('latin1');
  if (magic !== 'GGUF') throw fail('gguf/magic', `the file starts with ${JSON.stringify(magic)}, not "GGUF"`);
  const version = await r.u32('version');
  if (version === 2) {
    findings.push({ severity: 'medium', rule: 'gguf/legacy-version', message: 'GGUF version 2: readable, but current tools write version 3', file });
  } else if (version !== 3) {
    const bigEndian = version >>> 24 >= 1 && version >>> 24 <= 3 && (version & 0xffffff) === 0;
    throw fail('gguf/version', bigEndian ? 'big-endian GGUF files are not supported' : `version ${version} is not supported (expected 3)`);
  }
  const tensorCount = await r.u64('tensor count');
  const kvCount = await r.u64('metadata count');
  if (tensorCount > BigInt(GGUF_LIMITS.maxTensors) || tensorCount * MIN_TENSOR_INFO > BigInt(size)) {
    throw fail('gguf/tensor-count', `the header claims ${tensorCount} tensors, more than a ${size}-byte file can describe`);
  }
  if (kvCount > BigInt(GGUF_LIMITS.maxKeyValues) || kvCount * MIN_KEY_VALUE > BigInt(size)) {
    throw fail('gguf/kv-count', `the header claims ${kvCount} metadata entries, more than a ${size}-byte file can hold`);
  }

  const kept = new Map<string, { type: number; value: string | number | undefined }>();
  const keys = new Set<string>();
  for (let i = 0; i < Number(kvCount); i++) {
    const key = (await r.string(GGUF_LIMITS.maxKeyBytes, 'gguf/string-length', `key ${i}`, true)) ?? '';
    if (key === '' || !/^[\x20-\x7e]+$/.test(key)) throw fail('gguf/key', `key ${i} ${JSON.stringify(key.slice(0, 80))} is not a non-empty ASCII name`);
    if (keys.has(key)) throw fail('gguf/duplicate-key', `key '${key}' appears more than once`);
    keys.add(key);
    const type = await r.u32(`type of '${key}'`);
    const value = await readValue(r, type, key, 0, fail);
    if (KEPT_KEYS.has(key)) kept.set(key, { type, value });
  }

  const arch = kept.get('general.architecture');
  if (!arch) throw fail('gguf/architecture', 'general.architecture is missing');
  if (arch.type !== GGUF_VALUE.STRING || !arch.value) throw fail('gguf/architecture', 'general.architecture is not a non-empty string');
  let alignment = DEFAULT_ALIGNMENT;
  const align = kept.get('general.alignment');
  if (align) {
    const v = align.value;
    if (align.type !== GGUF_VALUE.UINT32 || typeof v !== 'number' || v === 0 || (v & (v - 1)) !== 0) {
      throw fail('gguf/alignment', `general.alignment must be a non-zero power of two stored as uint32, got ${String(v)} (type ${align.type})`);
    }
    alignment = v;
  }

  const tensors: TensorInfo[] = [];
  const names = new Set<string>();
  const types = new Map<string, number>();
  let parameters = 0n;
  for (let i = 0; i < Number(tensorCount); i++) {
    const name = (await r.string(GGUF_LIMITS.maxTensorNameBytes, 'gguf/tensor-name', `name of tensor ${i}`, true)) ?? '';
    if (names.has(name)) throw fail('gguf/duplicate-tensor', `tensor '${name}' appears more than once`);
    names.add(name);
    const nDims = await r.u32(`dims of '${name}'`);
    if (nDims > GGUF_LIMITS.maxDims) throw fail('gguf/tensor-dims', `tensor '${name}' has ${nDims} dimensions; at most ${GGUF_LIMITS.maxDims} are allowed`);
    const dims: bigint[] = [];
    let elements = 1n;
    for (let d = 0; d < nDims; d++) {
      const ne = await r.u64(`dimension ${d} of '${name}'`);
      dims.push(ne);
      elements *= ne;
      if (elements > INT64_MAX) throw fail('gguf/tensor-dims', `tensor '${name}' has more than 2^63 elements`);
    }
    const typeId = await r.u32(`type of '${name}'`);
    const type = GGML_TYPES.get(typeId);
    if (!type) throw fail('gguf/tensor-type', `tensor '${name}' has unknown ggml type ${typeId}`);
    const rowLength = dims[0] ?? 1n;
    if (rowLength % BigInt(type.block) !== 0n) {
      throw fail('gguf/block-size', `tensor '${name}' of type ${type.name} has rows of ${rowLength} elements, not a multiple of its block size ${type.block}`);
    }
    const offset = await r.u64(`offset of '${name}'`);
    if (offset % BigInt(alignment) !== 0n) throw fail('gguf/alignment', `tensor '${name}' starts at data offset ${offset}, not a multiple of the alignment ${alignment}`);
    tensors.push({ name, offset, bytes: (elements / BigInt(type.block)) * BigInt(type.bytes) });
    types.set(type.name, (types.get(type.name) ?? 0) + 1);
    parameters += elements;
  }

  const dataStart = BigInt(Math.ceil(r.c.pos / alignment) * alignment);
  const dataBytes = BigInt(size) - dataStart;
  for (const t of tensors) {
    if (t.offset + t.bytes > dataBytes) {
      throw fail('gguf/tensor-bounds', `tensor '${t.name}' spans data bytes ${t.offset}..${t.offset + t.bytes}, past the end of the file's ${dataBytes < 0n ? 0n : dataBytes} data bytes`);
    }
  }
  const byOffset = [...tensors].sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1];
    const cur = byOffset[i];
    if (prev && cur && cur.offset < prev.offset + prev.bytes) throw fail('gguf/tensor-overlap', `tensor '${cur.name}' overlaps tensor '${prev.name}'`);
  }

  const quantized = [...types.keys()].some((t) => !GGML_UNQUANTIZED.has(t));
  if (quantized && !kept.has('general.quantization_version')) {
    findings.push({ severity: 'low', rule: 'gguf/quantization-version', message: 'quantized tensors but no general.quantization_version, which the format requires', file });
  }
  const facts: [string, string][] = [
    ['gguf version', String(version)],
    ['architecture', String(arch.value)],
    ['tensors', String(tensors.length)],
    ['parameters', String(parameters)],
    ['quantization types', [...types].map(([t, c]) => `${t} (${c})`).join(', ') || 'none'],
    ['metadata keys', String(keys.size)],
    ['alignment', String(alignment)],
  ];
  const name = kept.get('general.name')?.value;
  if (typeof name === 'string' && name) facts.push(['name', name]);
  return { format: 'gguf', scanned: true, findings, facts };
}
