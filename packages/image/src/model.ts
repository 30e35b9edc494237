// The model being packaged: its files with their sha256 digests (from the digest cache when the
// files are unchanged), the model digest exactly as validate-model computes it, the format of its
// main file and, for ONNX, the serving signature the runtimes' configurations are written from.
import type { BigIntStats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { InputError, throwIfCancelled } from '@ferry/core';
import type { Logger } from '@ferry/core';
import { checkOnnx, DEFAULT_LIMITS, detectFormat, listModelFiles, modelDigest, sha256Files, WEIGHT_FORMATS } from '@ferry/model';
import type { ModelFormat, ModelSignature } from '@ferry/model';
import { crc32 } from './archive/crc32.js';
import type { DigestCache } from './digest-cache.js';

export interface ModelFileEntry {
  /** Path relative to the model root, with '/' (the file name for a single-file model). */
  readonly relPath: string;
  readonly absPath: string;
  readonly size: number;
  /** sha256 of the content, hex. */
  readonly sha256: string;
  readonly format: ModelFormat;
  /** Identity on disk when the digest was taken: the digest cache's key. */
  readonly stat: BigIntStats;
}

export interface ModelInfo {
  /** Absolute path as given. */
  readonly path: string;
  readonly isDirectory: boolean;
  readonly files: readonly ModelFileEntry[];
  /** sha256 over the sorted "<digest>  <path>" lines: validate-model's model-digest. */
  readonly digest: string;
  readonly totalBytes: number;
  /** The largest weight file (a side file such as config.json never decides the format). */
  readonly main: ModelFileEntry;
  readonly format: ModelFormat;
  /** Inputs and outputs of an ONNX main file. */
  readonly signature: ModelSignature | undefined;
  /** Files the digest cache answered for, without reading them. */
  readonly cachedFiles: number;
}

export interface ReadModelOptions {
  logger: Logger;
  signal: AbortSignal;
  cache: DigestCache | undefined;
}

function mainFile(files: readonly ModelFileEntry[]): ModelFileEntry {
  let best: ModelFileEntry | undefined;
  for (const file of files) {
    const weight = WEIGHT_FORMATS.has(file.format);
    const bestWeight = best !== undefined && WEIGHT_FORMATS.has(best.format);
    if (best === undefined || (weight && !bestWeight) || (weight === bestWeight && file.size > best.size)) best = file;
  }
  return best!;
}

/** "models/My Classifier.onnx" → "my-classifier": a name every runtime accepts. */
export function defaultModelName(modelPath: string): string {
  const base = basename(modelPath).replace(/\.[A-Za-z0-9]+$/, '');
  const name = base.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 128);
  return name === '' ? 'model' : name;
}

export async function readModel(modelPath: string, options: ReadModelOptions): Promise<ModelInfo> {
  const { logger, signal, cache } = options;
  const listing = await listModelFiles(modelPath);
  if (listing.skipped.length > 0) {
    const first = listing.skipped[0]!;
    throw new InputError(`model-path: ${first.relPath} in ${modelPath} cannot be packaged (${first.reason})`, {
      subject: 'model-path',
      hint: 'an image holds regular files only: copy the model with links resolved (cp -rL) and package the copy',
    });
  }
  if (listing.files.length === 0) throw new InputError(`model-path: ${modelPath} holds no files`, { subject: 'model-path' });

  const stats = await Promise.all(listing.files.map((file) => stat(file.absPath, { bigint: true })));
  const known = await Promise.all(listing.files.map((file, i) => (cache ? cache.file(file.absPath, stats[i]!) : undefined)));
  const missing = listing.files.map((file, i) => ({ file, i })).filter(({ i }) => known[i] === undefined);
  const digests: string[] = known.map((entry) => entry?.sha256 ?? '');
  if (missing.length > 0) {
    const bytes = missing.reduce((sum, { file }) => sum + file.size, 0);
    await logger.group(`Hash ${missing.length} model file(s)`, async () => {
      const progress = logger.progress('sha256 of the model', bytes, 'bytes');
      let done = 0;
      try {
        const hashed = await sha256Files(
          missing.map(({ file }) => ({ path: file.absPath, size: file.size })),
          (n) => progress.update((done += n)),
          signal,
        );
        for (const [k, { file, i }] of missing.entries()) {
          digests[i] = hashed[k]!;
          await cache?.rememberFile(file.absPath, stats[i]!, { sha256: hashed[k]! });
        }
      } finally {
        progress.end();
      }
    });
  }

  const files: ModelFileEntry[] = [];
  for (const [i, file] of listing.files.entries()) {
    throwIfCancelled(signal);
    const info = stats[i]!;
    if (Number(info.size) !== file.size) throw new InputError(`model-path: ${file.absPath} changed while it was being read`, { subject: 'model-path' });
    files.push({ relPath: file.relPath, absPath: file.absPath, size: file.size, sha256: digests[i]!, format: (await detectFormat(file.absPath)).format, stat: info });
  }
  const main = mainFile(files);
  let signature: ModelSignature | undefined;
  if (main.format === 'onnx') {
    const check = await checkOnnx({
      path: main.absPath,
      displayPath: main.relPath,
      modelRoot: listing.isDirectory ? listing.root : dirname(main.absPath),
      limits: DEFAULT_LIMITS,
      signal,
    });
    signature = check.signature;
  }
  return {
    path: modelPath,
    isDirectory: listing.isDirectory,
    files,
    digest: modelDigest(files.map((file) => ({ path: file.relPath, sha256: file.sha256 }))),
    totalBytes: files.reduce((sum, file) => sum + file.size, 0),
    main,
    format: main.format,
    signature,
    cachedFiles: known.filter((entry) => entry !== undefined).length,
  };
}

/** CRC-32 of each file (for zip members), from the cache when known, else read once and remembered. */
export async function crc32Of(files: readonly ModelFileEntry[], options: ReadModelOptions): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  const todo: ModelFileEntry[] = [];
  for (const file of files) {
    const known = await options.cache?.file(file.absPath, file.stat);
    if (known?.crc32 !== undefined && known.sha256 === file.sha256) result.set(file.relPath, known.crc32);
    else todo.push(file);
  }
  if (todo.length === 0) return result;
  const total = todo.reduce((sum, file) => sum + file.size, 0);
  const progress = options.logger.progress('CRC-32 for the model archive', total, 'bytes');
  let done = 0;
  try {
    for (const file of todo) {
      const value = await crc32File(file.absPath, (n) => progress.update((done += n)), options.signal);
      result.set(file.relPath, value);
      await options.cache?.rememberFile(file.absPath, file.stat, { sha256: file.sha256, crc32: value });
    }
  } finally {
    progress.end();
  }
  return result;
}

async function crc32File(path: string, onBytes: (n: number) => void, signal: AbortSignal): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
    let value = 0;
    for (let position = 0; ; ) {
      throwIfCancelled(signal);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return value;
      value = crc32(buffer.subarray(0, bytesRead), value);
      position += bytesRead;
      onBytes(bytesRead);
    }
  } finally {
    await handle.close();
  }
}
