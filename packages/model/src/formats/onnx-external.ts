// ONNX external data: every tensor stored outside the .onnx file must point, by a plain relative
// path without symlinks, to a regular file inside the model directory that holds all of its bytes.
import { lstat, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { FileCheckContext } from './types.js';
import { tensorBytes, type Fail } from './onnx-graph.js';
import type { OnnxTensor } from './onnx-proto.js';

export interface ExternalDataSummary {
  readonly files: number;
  readonly bytes: bigint;
}

const RULE = 'onnx/external-data';

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function parseCount(value: string | undefined, key: string, label: string, fail: Fail): bigint | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,19}$/.test(value)) throw fail(RULE, `${label}: external_data ${key} '${value.slice(0, 40)}' is not a byte count`);
  return BigInt(value);
}

/** Resolves one location once: lexical checks first, then no symlink on the way, then a regular file. */
async function resolveLocation(location: string, ctx: FileCheckContext, rootReal: string, label: string, fail: Fail): Promise<number> {
  if (location === '') throw fail(RULE, `${label} is stored externally but names no location`);
  if (location.includes('\u0000')) throw fail(RULE, `${label}: external data location contains a NUL byte`);
  if (isAbsolute(location) || /^[A-Za-z]:/.test(location) || location.startsWith('\\')) {
    throw fail(RULE, `${label}: external data location '${location}' is absolute; it must be relative to the model`);
  }
  const parts = location.split(/[\\/]/);
  if (parts.includes('..')) throw fail(RULE, `${label}: external data location '${location}' contains '..'`);
  const modelDir = dirname(ctx.path);
  const full = resolve(modelDir, location);
  if (!isInside(resolve(ctx.modelRoot), full)) throw fail(RULE, `${label}: external data '${location}' lies outside the model directory`);
  let cur = modelDir;
  let last: Awaited<ReturnType<typeof lstat>> | undefined;
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    cur = join(cur, part);
    let st;
    try {
      st = await lstat(cur);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw fail(RULE, `${label}: external data '${location}' cannot be read (${code})`);
    }
    if (st.isSymbolicLink()) throw fail(RULE, `${label}: external data path '${location}' goes through a symbolic link`);
    last = st;
  }
  if (!last?.isFile()) throw fail(RULE, `${label}: external data '${location}' is not a regular file`);
  // The lexical check cannot see a model directory that is itself reached through a link.
  const real = await realpath(full).catch(() => full);
  if (!isInside(rootReal, real)) throw fail(RULE, `${label}: external data '${location}' resolves outside the model directory`);
  return Number(last.size);
}

export async function checkExternalData(tensors: readonly OnnxTensor[], ctx: FileCheckContext, fail: Fail): Promise<ExternalDataSummary> {
  if (tensors.length === 0) return { files: 0, bytes: 0n };
  const rootReal = await realpath(ctx.modelRoot).catch(() => resolve(ctx.modelRoot));
  const sizes = new Map<string, number>();
  let bytes = 0n;
  for (const t of tensors) {
    ctx.signal.throwIfAborted();
    const label = `tensor '${t.name}'`;
    const entries = new Map(t.external);
    const location = entries.get('location') ?? '';
    let size = sizes.get(location);
    if (size === undefined) {
      size = await resolveLocation(location, ctx, rootReal, label, fail);
      sizes.set(location, size);
    }
    const offset = parseCount(entries.get('offset'), 'offset', label, fail) ?? 0n;
    const length = parseCount(entries.get('length'), 'length', label, fail);
    const want = tensorBytes(t);
    if (length !== undefined && want !== undefined && length !== want) {
      throw fail(RULE, `${label}: external_data length ${length} does not match the ${want} bytes its type and shape need`);
    }
    const span = length ?? want ?? BigInt(size) - offset;
    if (offset + span > BigInt(size)) {
      throw fail(RULE, `${label}: bytes ${offset}..${offset + span} lie past the end of '${location}' (${size} bytes)`);
    }
    bytes += span;
  }
  return { files: sizes.size, bytes };
}
