// Keras models: config.json of a Keras 3 `.keras` zip, or the model_config attribute of a legacy
// HDF5 `.h5`, found by a bounded byte scan; the config rules live in keras-config.ts.
import { open, type FileHandle } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import type { Finding } from '@ferry/core';
import { scanKerasConfig } from './keras-config.js';
import { readZipDirectory, ZipFormatError, type ZipEntry } from './zip.js';
import { MalformedModelError, type FileCheck, type FileCheckContext } from './types.js';

type Fail = (rule: string, detail: string) => MalformedModelError;

const HDF5_MAGIC = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
const LOCAL_HEADER_SIG = 0x04034b50;
const SCAN_CHUNK = 4 * 1024 * 1024;
/** Where a config JSON may start: right after the attribute name, or as a Keras object anywhere. */
const ANCHOR = Buffer.from('model_config');
const OBJECT_STARTS = [Buffer.from('{"class_name"'), Buffer.from('{"module"')];
/** How far past the attribute name its (inline) value may start. */
const ANCHOR_WINDOW = 1024;
/** Candidate JSON objects tried per file (nested ones are skipped), so brace-filled files stay cheap. */
const MAX_CANDIDATES = 256;

async function readAt(fh: FileHandle, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  const { bytesRead } = await fh.read(buf, 0, len, pos);
  return buf.subarray(0, bytesRead);
}

/** Reads one zip member into memory, refusing anything large, bomb-like or malformed. */
async function readMember(fh: FileHandle, size: number, e: ZipEntry, ctx: FileCheckContext, fail: Fail): Promise<Buffer> {
  const limit = ctx.limits.maxHeaderBytes;
  if (e.uncompressedSize > limit) throw fail('keras/config-size', `${e.name} is ${e.uncompressedSize} bytes, over the ${limit}-byte limit`);
  if (e.method !== 0 && e.method !== 8) throw fail('keras/archive', `${e.name} uses zip compression method ${e.method}`);
  if (e.compressedSize > 0 && e.uncompressedSize / e.compressedSize > ctx.limits.maxCompressionRatio) {
    throw fail('keras/archive', `${e.name} expands ${Math.round(e.uncompressedSize / e.compressedSize)}× (limit ${ctx.limits.maxCompressionRatio}×): a zip bomb`);
  }
  if (e.compressedSize > limit + 1024) throw fail('keras/config-size', `${e.name} is ${e.compressedSize} bytes compressed, over the limit`);
  if (e.localHeaderOffset + 30 > size) throw fail('keras/archive', `${e.name} has a local header offset past the end of the archive`);
  const local = await readAt(fh, e.localHeaderOffset, 30);
  if (local.length < 30 || local.readUInt32LE(0) !== LOCAL_HEADER_SIG) throw fail('keras/archive', `${e.name} has no local file header`);
  const dataStart = e.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  if (dataStart + e.compressedSize > size) throw fail('keras/archive', `${e.name} runs past the end of the archive`);
  const raw = await readAt(fh, dataStart, e.compressedSize);
  if (e.method === 0) {
    if (e.compressedSize !== e.uncompressedSize) throw fail('keras/archive', `${e.name} is stored with mismatched sizes`);
    return raw;
  }
  let out: Buffer;
  try {
    out = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.uncompressedSize) });
  } catch (err) {
    throw fail('keras/archive', `${e.name} does not inflate to its declared ${e.uncompressedSize} bytes (${(err as Error).message})`);
  }
  if (out.length !== e.uncompressedSize) throw fail('keras/archive', `${e.name} inflates to ${out.length} bytes, not the declared ${e.uncompressedSize}`);
  return out;
}

function parseJson(buf: Buffer, what: string, fail: Fail): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf));
  } catch (err) {
    throw fail('keras/config-json', `${what} is not valid UTF-8 JSON (${(err as Error).message})`);
  }
}

async function checkKerasZip(fh: FileHandle, size: number, ctx: FileCheckContext, fail: Fail): Promise<FileCheck> {
  let entries: ZipEntry[];
  try {
    entries = await readZipDirectory(fh, size);
  } catch (err) {
    // A hostile zip64 record can hold offsets beyond what a file read accepts (RangeError).
    if (err instanceof ZipFormatError || err instanceof RangeError) throw fail('keras/archive', err.message);
    throw err;
  }
  if (entries.length > ctx.limits.maxArchiveEntries) throw fail('keras/archive', `${entries.length} members exceed the limit of ${ctx.limits.maxArchiveEntries}`);
  // Python's zipfile reads the last of same-named members: a second config.json would let the file
  // show this check one config and Keras another.
  const names = new Set<string>();
  for (const e of entries) {
    if (names.has(e.name)) throw fail('keras/archive', `member '${e.name}' appears more than once`);
    names.add(e.name);
  }
  const configEntry = entries.find((e) => e.name === 'config.json');
  if (!configEntry) throw fail('keras/config-missing', 'the archive has no config.json');
  const config = parseJson(await readMember(fh, size, configEntry, ctx, fail), 'config.json', fail);
  const scan = scanKerasConfig(config, ctx.displayPath, 'config.json');
  const facts: [string, string][] = [['model class', scan.modelClass ?? 'unknown'], ['layers', String(scan.layers)]];
  const metaEntry = entries.find((e) => e.name === 'metadata.json');
  if (metaEntry) {
    const meta = parseJson(await readMember(fh, size, metaEntry, ctx, fail), 'metadata.json', fail) as Record<string, unknown> | null;
    if (meta && typeof meta.keras_version === 'string') facts.push(['keras version', meta.keras_version]);
  }
  return { format: 'keras', scanned: true, findings: scan.findings, facts };
}

/**
 * Extracts the balanced JSON object starting at `pos`, reading at most `maxLen` bytes forward. `text`
 * is undefined when the bytes are not one (a NUL byte, which JSON text never holds, ends the attempt).
 */
async function extractJson(fh: FileHandle, pos: number, size: number, maxLen: number): Promise<{ text: Buffer | undefined; read: number }> {
  let depth = 0;
  let inString = false;
  let escape = false;
  const parts: Buffer[] = [];
  let at = pos;
  while (at < size && at - pos < maxLen) {
    const chunk = await readAt(fh, at, Math.min(64 * 1024, size - at, maxLen - (at - pos)));
    if (chunk.length === 0) break;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === 0) return { text: undefined, read: at + i - pos };
      if (inString) {
        if (escape) escape = false;
        else if (b === 0x5c) escape = true;
        else if (b === 0x22) inString = false;
      } else if (b === 0x22) inString = true;
      else if (b === 0x7b) depth++;
      else if (b === 0x7d && --depth === 0) {
        parts.push(chunk.subarray(0, i + 1));
        return { text: Buffer.concat(parts), read: at + i + 1 - pos };
      }
    }
    parts.push(chunk);
    at += chunk.length;
  }
  return { text: undefined, read: at - pos };
}

function isKerasObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && typeof (v as Record<string, unknown>).class_name === 'string';
}

async function checkKerasH5(fh: FileHandle, size: number, ctx: FileCheckContext): Promise<FileCheck> {
  const file = ctx.displayPath;
  const scanLen = Math.min(size, ctx.limits.maxHeaderBytes);
  const findings: Finding[] = [];
  let modelClass: string | undefined;
  let layers = 0;
  let configs = 0;
  let anchorsSeen = 0;
  let attempts = 0;
  let incomplete = false;
  // Bytes read past the scan window to complete candidates: bounded whatever a hostile file arranges.
  let budget = ctx.limits.maxHeaderBytes;
  // JSON already parsed; Keras objects nested inside it match the start pattern too and are skipped.
  let coveredEnd = -1;

  const tryAt = async (pos: number, anchored: boolean): Promise<void> => {
    if (pos < coveredEnd) return;
    if (attempts >= MAX_CANDIDATES || budget <= 0) {
      incomplete = true;
      return;
    }
    attempts++;
    const json = await extractJson(fh, pos, size, budget);
    budget -= json.read;
    if (!json.text) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(json.text.toString('utf8'));
    } catch {
      return;
    }
    if (!isKerasObject(parsed)) return;
    coveredEnd = pos + json.read;
    const scan = scanKerasConfig(parsed, file, anchored ? 'model_config' : `Keras config at byte ${pos}`);
    findings.push(...scan.findings);
    configs++;
    if (anchored || modelClass === undefined) {
      modelClass = scan.modelClass;
      layers = scan.layers;
    }
  };

  const overlap = 64;
  for (let at = 0; at < scanLen && !incomplete; at += SCAN_CHUNK) {
    ctx.signal.throwIfAborted();
    const chunk = await readAt(fh, at, Math.min(SCAN_CHUNK + overlap, scanLen - at));
    const hits: { pos: number; anchor: boolean }[] = [];
    for (const [needle, anchor] of [[ANCHOR, true], ...OBJECT_STARTS.map((b) => [b, false] as const)] as const) {
      for (let i = chunk.indexOf(needle); i >= 0 && i < SCAN_CHUNK; i = chunk.indexOf(needle, i + 1)) hits.push({ pos: at + i, anchor });
    }
    hits.sort((a, b) => a.pos - b.pos);
    for (const h of hits) {
      if (!h.anchor) {
        await tryAt(h.pos, false);
        continue;
      }
      // An inline attribute value follows its name closely; a variable-length one lives in a heap
      // elsewhere, where its own first bytes match the start pattern.
      anchorsSeen++;
      const near = await readAt(fh, h.pos, Math.min(ANCHOR_WINDOW, size - h.pos));
      const brace = near.indexOf(0x7b);
      if (brace >= 0) await tryAt(h.pos + brace, true);
    }
  }

  const facts: [string, string][] = [['keras configs found', String(configs)]];
  if (incomplete) {
    findings.push({ severity: 'high', rule: 'keras/config-unreadable', message: 'too many config-like byte runs to check within the read budget; some were not checked', file });
    return { format: 'hdf5', scanned: false, findings, facts };
  }
  if (configs > 0) {
    facts.push(['model class', modelClass ?? 'unknown'], ['layers', String(layers)]);
    return { format: 'hdf5', scanned: true, findings, facts };
  }
  if (anchorsSeen > 0) {
    findings.push({ severity: 'high', rule: 'keras/config-unreadable', message: 'a model_config attribute is present but its JSON could not be read, so its layers were not checked', file });
    return { format: 'hdf5', scanned: false, findings, facts };
  }
  if (size > scanLen) {
    findings.push({ severity: 'info', rule: 'keras/config-not-found', message: `no Keras config in the first ${scanLen} bytes; the rest of the file was not scanned`, file });
    return { format: 'hdf5', scanned: false, findings, facts };
  }
  facts.push(['model config', 'none (weights or data only)']);
  return { format: 'hdf5', scanned: true, findings, facts };
}

export async function checkKeras(ctx: FileCheckContext): Promise<FileCheck> {
  const fail: Fail = (rule, detail) => new MalformedModelError(ctx.displayPath, rule, detail);
  const fh = await open(ctx.path, 'r');
  try {
    const { size } = await fh.stat();
    const head = await readAt(fh, 0, 8);
    if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b) return await checkKerasZip(fh, size, ctx, fail);
    if (head.equals(HDF5_MAGIC)) return await checkKerasH5(fh, size, ctx);
    throw fail('keras/format', 'the file is neither a zip archive (.keras) nor HDF5 (.h5)');
  } finally {
    await fh.close();
  }
}
