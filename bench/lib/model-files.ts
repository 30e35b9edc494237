// Model files for the validate-model suites: valid safetensors and GGUF headers laid out like a real
// decoder-only LLM (so the header is as big and as varied as a real one), written either in front of
// random tensor data or in front of a sparse hole, and checkpoints written by real torch and pickle.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { PYTHON } from '../../test/support/python.ts';

/** One tensor: its name, dtype (safetensors spelling) and shape in row-major order (outermost first). */
export interface TensorSpec {
  readonly name: string;
  readonly dtype: 'F16' | 'F32';
  readonly shape: readonly number[];
}

const DTYPE_BYTES = { F16: 2, F32: 4 } as const;
/** ggml type ids (ggml.h): F32 = 0, F16 = 1. */
const GGML_TYPE = { F16: 1, F32: 0 } as const;

export function tensorBytes(t: TensorSpec): number {
  return t.shape.reduce((a, b) => a * b, DTYPE_BYTES[t.dtype]);
}

const HIDDEN = 4096;
const FFN = 11008;

/** A Llama-style model's shape: how many blocks, and the vocabulary (GGUF's tokenizer arrays have one entry per token). */
export interface LlamaLike {
  readonly tensors: TensorSpec[];
  readonly layers: number;
  readonly vocab: number;
}

/** Llama 3's vocabulary and BPE merges: what a current GGUF's tokenizer arrays hold. */
const LLAMA3_VOCAB = 128_256;
export const LLAMA3_MERGES = 280_147;

/**
 * A Llama-style F16 model of about `targetBytes` of weights (hidden 4096, MLP 11008; 21 blocks at
 * 10 GiB): as many blocks of attention and MLP weights with their norms as leave room for an
 * embedding and output head of Llama 3's vocabulary (at least one block), then the vocabulary grown
 * or shrunk to fill the rest.
 */
export function llamaLikeTensors(targetBytes: number): LlamaLike {
  const perBlock = (i: number): TensorSpec[] => [
    { name: `model.layers.${i}.input_layernorm.weight`, dtype: 'F16', shape: [HIDDEN] },
    { name: `model.layers.${i}.self_attn.q_proj.weight`, dtype: 'F16', shape: [HIDDEN, HIDDEN] },
    { name: `model.layers.${i}.self_attn.k_proj.weight`, dtype: 'F16', shape: [HIDDEN, HIDDEN] },
    { name: `model.layers.${i}.self_attn.v_proj.weight`, dtype: 'F16', shape: [HIDDEN, HIDDEN] },
    { name: `model.layers.${i}.self_attn.o_proj.weight`, dtype: 'F16', shape: [HIDDEN, HIDDEN] },
    { name: `model.layers.${i}.post_attention_layernorm.weight`, dtype: 'F16', shape: [HIDDEN] },
    { name: `model.layers.${i}.mlp.gate_proj.weight`, dtype: 'F16', shape: [FFN, HIDDEN] },
    { name: `model.layers.${i}.mlp.up_proj.weight`, dtype: 'F16', shape: [FFN, HIDDEN] },
    { name: `model.layers.${i}.mlp.down_proj.weight`, dtype: 'F16', shape: [HIDDEN, FFN] },
  ];
  const blockBytes = perBlock(0).reduce((s, t) => s + tensorBytes(t), 0);
  const norm: TensorSpec = { name: 'model.norm.weight', dtype: 'F16', shape: [HIDDEN] };
  // Embedding and head are vocab × hidden each.
  const layers = Math.max(1, Math.floor((targetBytes - LLAMA3_VOCAB * 2 * HIDDEN * DTYPE_BYTES.F16 - tensorBytes(norm)) / blockBytes));
  const blocks: TensorSpec[] = [];
  for (let i = 0; i < layers; i++) blocks.push(...perBlock(i));
  const vocab = Math.max(1, Math.floor((targetBytes - layers * blockBytes - tensorBytes(norm)) / (2 * HIDDEN * DTYPE_BYTES.F16)));
  return {
    layers,
    vocab,
    tensors: [
      { name: 'model.embed_tokens.weight', dtype: 'F16', shape: [vocab, HIDDEN] },
      ...blocks,
      norm,
      { name: 'lm_head.weight', dtype: 'F16', shape: [vocab, HIDDEN] },
    ],
  };
}

/** Tensors of about `chunkBytes` each filling `totalBytes` exactly (F16 rows of 4096), for real-data files. */
export function uniformTensors(totalBytes: number, chunkBytes = 64 * 1024 * 1024): TensorSpec[] {
  const rowBytes = HIDDEN * DTYPE_BYTES.F16;
  if (totalBytes % rowBytes !== 0) throw new Error(`${totalBytes} is not a multiple of ${rowBytes}`);
  const out: TensorSpec[] = [];
  for (let left = totalBytes / rowBytes, i = 0; left > 0; i++) {
    const rows = Math.min(left, chunkBytes / rowBytes);
    out.push({ name: `model.layers.${i}.weight`, dtype: 'F16', shape: [rows, HIDDEN] });
    left -= rows;
  }
  return out;
}

/** The safetensors header: 8-byte little-endian length, then the JSON padded with spaces to 8 bytes, as the reference writer does. */
export function safetensorsHeader(tensors: readonly TensorSpec[]): { head: Buffer; dataBytes: number } {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    const end = offset + tensorBytes(t);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, end] };
    offset = end;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const body = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(body.length));
  return { head: Buffer.concat([len, body]), dataBytes: offset };
}

/** Little-endian GGUF v3 writer for the header region (ggml docs/gguf.md). */
class GgufHeaderWriter {
  private readonly parts: Buffer[] = [];
  private length = 0;
  private push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  u64(v: number | bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32s(values: readonly number[]): void {
    const b = Buffer.alloc(4 * values.length);
    values.forEach((v, i) => b.writeFloatLE(v, 4 * i));
    this.push(b);
  }
  i32s(values: readonly number[]): void {
    const b = Buffer.alloc(4 * values.length);
    values.forEach((v, i) => b.writeInt32LE(v, 4 * i));
    this.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  raw(b: Buffer): void {
    this.push(b);
  }
  get size(): number {
    return this.length;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const GGUF = { UINT32: 4, INT32: 5, FLOAT32: 6, STRING: 8, ARRAY: 9 } as const;

/** A BPE-looking token of 1 to 13 characters (a third of them with the GPT-2 space marker). */
function token(i: number): string {
  const base = i.toString(36);
  return i % 3 === 0 ? `Ġ${base}` : base.padEnd(1 + (i % 12), 'e');
}

/** GGUF tensor names as llama.cpp's converter writes them. */
function ggufName(hf: string): string {
  return hf
    .replace('model.embed_tokens.weight', 'token_embd.weight')
    .replace('lm_head.weight', 'output.weight')
    .replace('model.norm.weight', 'output_norm.weight')
    .replace(/^model\.layers\.(\d+)\./, 'blk.$1.')
    .replace('input_layernorm', 'attn_norm')
    .replace('post_attention_layernorm', 'ffn_norm')
    .replace('self_attn.q_proj', 'attn_q')
    .replace('self_attn.k_proj', 'attn_k')
    .replace('self_attn.v_proj', 'attn_v')
    .replace('self_attn.o_proj', 'attn_output')
    .replace('mlp.gate_proj', 'ffn_gate')
    .replace('mlp.up_proj', 'ffn_up')
    .replace('mlp.down_proj', 'ffn_down');
}

/**
 * A GGUF v3 header for the model: llama metadata, a Llama 3 style BPE tokenizer (`vocab` tokens and
 * their types, 280k merges: the bulk of a real GGUF header), general.alignment, then the tensor infos and
 * padding to the alignment. Returns the header bytes and the size of the whole file.
 */
export function ggufHeader(model: LlamaLike, alignment = 32): { head: Buffer; fileBytes: number } {
  const { tensors, vocab, layers } = model;
  const w = new GgufHeaderWriter();
  w.raw(Buffer.from('GGUF', 'latin1'));
  w.u32(3);
  w.u64(tensors.length);
  const kvs: [string, () => void][] = [
    ['general.architecture', () => (w.u32(GGUF.STRING), w.str('llama'))],
    ['general.name', () => (w.u32(GGUF.STRING), w.str('ferry-bench-llama'))],
    ['general.alignment', () => (w.u32(GGUF.UINT32), w.u32(alignment))],
    ['llama.context_length', () => (w.u32(GGUF.UINT32), w.u32(4096))],
    ['llama.embedding_length', () => (w.u32(GGUF.UINT32), w.u32(HIDDEN))],
    ['llama.block_count', () => (w.u32(GGUF.UINT32), w.u32(layers))],
    ['llama.feed_forward_length', () => (w.u32(GGUF.UINT32), w.u32(FFN))],
    ['llama.attention.head_count', () => (w.u32(GGUF.UINT32), w.u32(32))],
    ['llama.attention.layer_norm_rms_epsilon', () => (w.u32(GGUF.FLOAT32), w.f32s([1e-5]))],
    ['general.file_type', () => (w.u32(GGUF.UINT32), w.u32(1))],
    ['tokenizer.ggml.model', () => (w.u32(GGUF.STRING), w.str('gpt2'))],
    ['tokenizer.ggml.pre', () => (w.u32(GGUF.STRING), w.str('llama-bpe'))],
    [
      'tokenizer.ggml.tokens',
      () => {
        w.u32(GGUF.ARRAY);
        w.u32(GGUF.STRING);
        w.u64(vocab);
        for (let i = 0; i < vocab; i++) w.str(token(i));
      },
    ],
    ['tokenizer.ggml.token_type', () => (w.u32(GGUF.ARRAY), w.u32(GGUF.INT32), w.u64(vocab), w.i32s(Array.from({ length: vocab }, () => 1)))],
    [
      'tokenizer.ggml.merges',
      () => {
        w.u32(GGUF.ARRAY);
        w.u32(GGUF.STRING);
        w.u64(LLAMA3_MERGES);
        for (let i = 0; i < LLAMA3_MERGES; i++) w.str(`${token(i % 4000)} ${token((i * 7919) % vocab)}`);
      },
    ],
    ['tokenizer.ggml.bos_token_id', () => (w.u32(GGUF.UINT32), w.u32(vocab - 2))],
    ['tokenizer.ggml.eos_token_id', () => (w.u32(GGUF.UINT32), w.u32(vocab - 1))],
  ];
  w.u64(kvs.length);
  for (const [key, value] of kvs) {
    w.str(key);
    value();
  }
  let offset = 0;
  let dataBytes = 0;
  for (const t of tensors) {
    w.str(ggufName(t.name));
    w.u32(t.shape.length);
    // GGUF lists dimensions innermost first (ne[0] is the row length).
    for (const d of [...t.shape].reverse()) w.u64(d);
    w.u32(GGML_TYPE[t.dtype]);
    w.u64(offset);
    dataBytes = offset + tensorBytes(t);
    offset += Math.ceil(tensorBytes(t) / alignment) * alignment;
  }
  w.raw(Buffer.alloc((alignment - (w.size % alignment)) % alignment));
  const head = w.done();
  return { head, fileBytes: head.length + dataBytes };
}

export type CheckpointFormat = 'zip' | 'legacy' | 'pickle';

/**
 * Writes a checkpoint of `layers` float32 weight matrices of side `side` plus biases with the real
 * tools: torch.save in its zip format or its legacy one (`_use_new_zipfile_serialization=False`),
 * or plain `pickle.dump` of numpy arrays (protocol 4: the array bytes sit inside the pickle stream).
 */
export function writeCheckpoint(path: string, opts: { layers: number; side: number; format: CheckpointFormat }): void {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: run "sudo bash scripts/install-python-deps.sh" (it installs torch)`);
  const script = [
    'import collections, pickle, sys',
    'layers, side, path, fmt = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]',
    'sd = collections.OrderedDict()',
    "if fmt == 'pickle':",
    '    import numpy as np',
    '    rng = np.random.default_rng(0)',
    '    for i in range(layers):',
    "        sd[f'layers.{i}.weight'] = rng.standard_normal((side, side), dtype=np.float32)",
    "        sd[f'layers.{i}.bias'] = rng.standard_normal(side, dtype=np.float32)",
    "    with open(path, 'wb') as f:",
    '        pickle.dump(sd, f, protocol=4)',
    'else:',
    '    import torch',
    '    torch.manual_seed(0)',
    '    for i in range(layers):',
    "        sd[f'layers.{i}.weight'] = torch.randn(side, side)",
    "        sd[f'layers.{i}.bias'] = torch.randn(side)",
    "    torch.save(sd, path, _use_new_zipfile_serialization=(fmt == 'zip'))",
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script, String(opts.layers), String(opts.side), path, opts.format], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`writing the ${opts.format} checkpoint failed (${r.status ?? r.signal}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
}
