// Checkers for files that are pickle streams from their first byte: a plain pickle (one or several
// concatenated), and the legacy torch.save format (five pickles, then raw storage records).
import { open, type FileHandle } from 'node:fs/promises';
import { FileRangeSource, readFully } from '../formats/byte-source.js';
import { MalformedModelError, type FileCheck, type FileCheckContext } from '../formats/types.js';
import { scanFacts, settleMalformed, streamFindings, type ScannedStream } from './pickle-findings.js';
import { DEFAULT_PICKLE_POLICY, type PicklePolicy } from './pickle-policy.js';
import { scanPickleStream } from './pickle-scanner.js';
import type { PickleValue } from './pickle-values.js';
import { storageRef, type StorageRef } from './torch-storage.js';

/** magic number, protocol version, system info, the object, the storage keys. */
const LEGACY_PICKLES = 5;

async function withFile<T>(path: string, fn: (fh: FileHandle, size: number) => Promise<T>): Promise<T> {
  const fh = await open(path, 'r');
  try {
    return await fn(fh, (await fh.stat()).size);
  } finally {
    await fh.close();
  }
}

/** A plain pickle file: every concatenated pickle in it is scanned, to the last byte. */
export async function checkPickle(ctx: FileCheckContext, policy: PicklePolicy = DEFAULT_PICKLE_POLICY): Promise<FileCheck> {
  return withFile(ctx.path, async (fh, size) => {
    const scan = await scanPickleStream(new FileRangeSource(fh, 0, size), {
      label: ctx.displayPath,
      maxBytes: ctx.limits.maxPickleBytes,
      signal: ctx.signal,
    });
    const stream: ScannedStream = { where: ctx.displayPath, scan };
    const findings = settleMalformed(streamFindings(stream, ctx.displayPath, policy), scan.malformed ? [scan.malformed] : [], ctx.displayPath);
    return { format: 'pickle', scanned: !scan.malformed, findings, facts: scanFacts([stream], policy) };
  });
}

/**
 * Walks the legacy storage records after the pickles: for each storage (sorted by key, as torch.save
 * writes them) an 8-byte element count and the raw bytes. They must fill the rest of the file exactly.
 */
async function checkLegacyStorages(fh: FileHandle, size: number, start: number, refs: ReadonlyMap<string, StorageRef>, label: string): Promise<void> {
  let pos = start;
  for (const key of [...refs.keys()].sort()) {
    const ref = refs.get(key) as StorageRef;
    const head = await readFully(new FileRangeSource(fh, pos, size), 8);
    if (head.length < 8) throw new MalformedModelError(label, 'pytorch-legacy/storage-data', `the file ends before storage ${key}`);
    const count = head.readBigInt64LE(0);
    if (count !== BigInt(ref.numel)) {
      throw new MalformedModelError(label, 'pytorch-legacy/storage-data', `storage ${key} records ${count} elements at byte ${pos}, its persistent id says ${ref.numel}`);
    }
    pos += 8 + ref.bytes;
  }
  if (pos !== size) {
    const what = pos < size ? `${size - pos} bytes follow the last storage` : `the storages need ${pos - size} bytes more than the file holds`;
    throw new MalformedModelError(label, 'pytorch-legacy/storage-data', what);
  }
}

/** Legacy torch.save (`_use_new_zipfile_serialization=False`): five pickles, then storage records. */
export async function checkPytorchLegacy(ctx: FileCheckContext, policy: PicklePolicy = DEFAULT_PICKLE_POLICY): Promise<FileCheck> {
  return withFile(ctx.path, async (fh, size) => {
    const refs = new Map<string, StorageRef>();
    const badIds: string[] = [];
    const onPersistentId = (pid: PickleValue): void => {
      const ref = storageRef(pid);
      if (typeof ref === 'string') badIds.push(ref);
      else refs.set(ref.key, ref);
    };
    const scan = await scanPickleStream(new FileRangeSource(fh, 0, size), {
      label: ctx.displayPath,
      maxBytes: ctx.limits.maxPickleBytes,
      maxPickles: LEGACY_PICKLES,
      onPersistentId,
      signal: ctx.signal,
    });
    const stream: ScannedStream = { where: ctx.displayPath, scan };
    const malformed: MalformedModelError[] = scan.malformed ? [scan.malformed] : [];
    if (!scan.malformed) {
      try {
        if (scan.pickles < LEGACY_PICKLES) {
          throw new MalformedModelError(ctx.displayPath, 'pytorch-legacy/pickle-count', `holds ${scan.pickles} pickles, the legacy format writes ${LEGACY_PICKLES}`);
        }
        if (badIds[0] !== undefined) throw new MalformedModelError(ctx.displayPath, 'pytorch-legacy/persistent-id', badIds[0]);
        await checkLegacyStorages(fh, size, scan.endOffset, refs, ctx.displayPath);
      } catch (err) {
        if (!(err instanceof MalformedModelError)) throw err;
        malformed.push(err);
      }
    }
    const findings = settleMalformed(streamFindings(stream, ctx.displayPath, policy), malformed, ctx.displayPath);
    const storageBytes = [...refs.values()].reduce((s, r) => s + r.bytes, 0);
    return {
      format: 'pytorch-legacy',
      scanned: malformed.length === 0,
      findings,
      facts: [...scanFacts([stream], policy), ['storages', String(refs.size)], ['storage bytes', String(storageBytes)]],
    };
  });
}
