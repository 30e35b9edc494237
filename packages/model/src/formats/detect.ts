// Detects a model file's format from its bytes, never from its name: a pickle renamed
// .safetensors is still a pickle.
import { open } from 'node:fs/promises';
import { readZipDirectory, ZipFormatError } from './zip.js';

export const MODEL_FORMATS = [
  'safetensors',
  'gguf',
  'onnx',
  'tf-savedmodel',
  'pytorch-zip',
  'pytorch-legacy',
  'pickle',
  'numpy',
  'npz',
  'keras',
  'hdf5',
  'zip',
  'json',
  'text',
  'unknown',
] as const;
export type ModelFormat = (typeof MODEL_FORMATS)[number];

/** Formats that hold weights or code, as opposed to side files such as tokenizer.json. */
export const WEIGHT_FORMATS: ReadonlySet<ModelFormat> = new Set([
  'safetensors',
  'gguf',
  'onnx',
  'tf-savedmodel',
  'pytorch-zip',
  'pytorch-legacy',
  'pickle',
  'numpy',
  'npz',
  'keras',
  'hdf5',
]);

export interface Detection {
  readonly format: ModelFormat;
  /** Why this format was chosen, in words a reviewer can check. */
  readonly evidence: string;
}

const HEAD_BYTES = 4096;
const TORCH_LEGACY_MAGIC = Buffer.from([0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);
const HDF5_MAGIC = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
const NUMPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

function readVarint(buf: Buffer, pos: number): { value: number; next: number } | undefined {
  let value = 0;
  let shift = 0;
  for (let i = pos; i < buf.length && i < pos + 10; i++) {
    const b = buf[i] ?? 0;
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return { value, next: i + 1 };
  }
  return undefined;
}

/**
 * Walks the first protobuf fields. ONNX ModelProto starts with ir_version (field 1, ≥ 3 in practice)
 * followed by short strings; a SavedModel starts with schema version 1 then one large meta graph.
 */
function sniffProtobuf(head: Buffer, size: number): Detection | undefined {
  if (head[0] !== 0x08) return undefined;
  const ver = readVarint(head, 1);
  if (!ver) return undefined;
  const tag = readVarint(head, ver.next);
  if (!tag) return undefined;
  const field = Math.floor(tag.value / 8);
  const wire = tag.value & 7;
  if (wire !== 2) return undefined;
  const len = readVarint(head, tag.next);
  if (!len || len.next + len.value > size) return undefined;
  if (ver.value >= 3 && ver.value <= 64 && field >= 2 && field <= 20) {
    return { format: 'onnx', evidence: `protobuf ModelProto with ir_version ${ver.value}` };
  }
  if (ver.value === 1 && field === 2) {
    return { format: 'tf-savedmodel', evidence: 'protobuf SavedModel with schema version 1 and a meta graph' };
  }
  return undefined;
}

function looksLikeSafetensors(head: Buffer, size: number): boolean {
  if (head.length < 10 || size < 10) return false;
  const n = head.readBigUInt64LE(0);
  if (n < 2n || n > BigInt(size - 8)) return false;
  return head[8] === 0x7b; // '{'
}

function looksLikeText(head: Buffer): boolean {
  if (head.length === 0) return false;
  for (const b of head) {
    if (b === 0) return false;
    if (b < 0x09 || (b > 0x0d && b < 0x20 && b !== 0x1b)) return false;
  }
  return true;
}

/** Protocol 0 and 1 pickles start with one of these opcodes; binary ones with PROTO (0x80). */
const PICKLE_START = new Set([0x28, 0x63, 0x5d, 0x7d, 0x49, 0x4c, 0x53, 0x56, 0x4e, 0x29, 0x69, 0x47, 0x58, 0x4a, 0x4b]);

export async function detectFormat(path: string): Promise<Detection> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(HEAD_BYTES, size));
    await fh.read(head, 0, head.length, 0);
    if (size === 0) return { format: 'unknown', evidence: 'empty file' };
    if (head.subarray(0, 4).toString('latin1') === 'GGUF') return { format: 'gguf', evidence: 'GGUF magic' };
    if (head.subarray(0, 8).equals(HDF5_MAGIC)) return { format: 'hdf5', evidence: 'HDF5 signature' };
    if (head.subarray(0, 6).equals(NUMPY_MAGIC)) return { format: 'numpy', evidence: 'NumPy .npy magic' };
    if (head[0] === 0x50 && head[1] === 0x4b && (head[2] === 0x03 || head[2] === 0x05)) {
      return await classifyZip(fh, size);
    }
    if (head[0] === 0x80 && (head[1] ?? 0) >= 2 && (head[1] ?? 0) <= 5) {
      if (head.indexOf(TORCH_LEGACY_MAGIC) === 2) {
        return { format: 'pytorch-legacy', evidence: 'pickle stream starting with the legacy torch.save magic number' };
      }
      return { format: 'pickle', evidence: `pickle protocol ${head[1]} header` };
    }
    if (looksLikeSafetensors(head, size)) return { format: 'safetensors', evidence: '8-byte header length followed by JSON' };
    const pb = sniffProtobuf(head, size);
    if (pb) return pb;
    const first = head[0] ?? 0;
    const text = looksLikeText(head);
    if (text) {
      const trimmed = head.toString('utf8').trimStart();
      if (trimmed.startsWith('{') || trimmed.startsWith('[')) return { format: 'json', evidence: 'UTF-8 text starting with JSON' };
    }
    // A protocol 0/1 pickle is printable text too, so check its shape before calling it text.
    if (PICKLE_START.has(first) && head.includes(0x2e) && /^(\(|c[\w.]+\n|[\]})])/.test(head.toString('latin1'))) {
      return { format: 'pickle', evidence: 'protocol 0/1 pickle opcodes' };
    }
    if (text) return { format: 'text', evidence: 'printable text' };
    return { format: 'unknown', evidence: 'no known signature in the first bytes' };
  } finally {
    await fh.close();
  }
}

async function classifyZip(fh: import('node:fs/promises').FileHandle, size: number): Promise<Detection> {
  let names: string[];
  try {
    names = (await readZipDirectory(fh, size)).map((e) => e.name);
  } catch (err) {
    if (err instanceof ZipFormatError) return { format: 'zip', evidence: `zip signature, unreadable directory: ${err.message}` };
    throw err;
  }
  if (names.some((n) => n === 'data.pkl' || n.endsWith('/data.pkl'))) {
    return { format: 'pytorch-zip', evidence: 'zip archive with a data.pkl member (torch.save format)' };
  }
  if (names.includes('config.json') && names.some((n) => n.endsWith('.weights.h5'))) {
    return { format: 'keras', evidence: 'zip archive with config.json and model.weights.h5 (Keras v3)' };
  }
  if (names.length > 0 && names.every((n) => n.endsWith('.npy'))) {
    return { format: 'npz', evidence: 'zip archive of .npy members' };
  }
  return { format: 'zip', evidence: `zip archive with ${names.length} members` };
}
