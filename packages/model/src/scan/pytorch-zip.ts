// torch.save's zip format: every .pkl member is scanned (not only data.pkl), members that begin
// like a pickle under any other name are scanned too, and each storage data.pkl references must be
// a member of exactly the size it declares. Archive bombs and traversal are checked first.
import { open, type FileHandle } from 'node:fs/promises';
import type { Finding } from '@ferry/core';
import { checkArchiveAt, type ArchiveCheck } from '../formats/archive.js';
import { MalformedModelError, type FileCheck, type FileCheckContext } from '../formats/types.js';
import type { ZipEntry } from '../formats/zip.js';
import { openZipMember } from '../formats/zip-member.js';
import { scanFacts, settleMalformed, streamFindings, type ScannedStream } from './pickle-findings.js';
import { DEFAULT_PICKLE_POLICY, type PicklePolicy } from './pickle-policy.js';
import { scanPickleStream, type PickleScan } from './pickle-scanner.js';
import type { PickleValue } from './pickle-values.js';
import { storageRef, type StorageRef } from './torch-storage.js';

/** A member that starts like a binary pickle: PROTO 2–5. */
export async function memberLooksLikePickle(fh: FileHandle, size: number, entry: ZipEntry, label: string): Promise<boolean> {
  if (entry.uncompressedSize < 2) return false;
  const source = await openZipMember(fh, size, entry, label);
  try {
    const head = Buffer.alloc(2);
    let got = 0;
    while (got < 2) {
      const n = await source.read(head, got, 2 - got);
      if (n === 0) break;
      got += n;
    }
    return got === 2 && head[0] === 0x80 && (head[1] ?? 0) >= 2 && (head[1] ?? 0) <= 5;
  } finally {
    await source.close();
  }
}

/** Scans one member as a pickle stream. */
export async function scanMember(
  fh: FileHandle,
  size: number,
  entry: ZipEntry,
  ctx: FileCheckContext,
  onPersistentId?: (pid: PickleValue) => void,
): Promise<ScannedStream> {
  const where = `${ctx.displayPath}:${entry.name}`;
  const source = await openZipMember(fh, size, entry, where);
  let scan: PickleScan;
  try {
    scan = await scanPickleStream(source, {
      label: where,
      maxBytes: ctx.limits.maxPickleBytes,
      signal: ctx.signal,
      ...(onPersistentId ? { onPersistentId } : {}),
    });
  } finally {
    await source.close();
  }
  return { where, scan };
}

/** A finding for a member that should have been scanned but could not be read. */
export function unscannedMember(ctx: FileCheckContext, entry: ZipEntry, reason: string): Finding {
  return {
    severity: 'high',
    rule: 'pickle/unscanned-member',
    message: `${ctx.displayPath}:${entry.name}: not scanned because ${reason}; a pickle that was not scanned is never treated as safe`,
    file: ctx.displayPath,
  };
}

function dirOf(name: string): string {
  const slash = name.lastIndexOf('/');
  return slash < 0 ? '' : name.slice(0, slash + 1);
}

function checkStorages(archive: ArchiveCheck, dataPkl: ZipEntry, refs: readonly StorageRef[], label: string): void {
  const byName = new Map(archive.entries.map((e) => [e.name, e]));
  const prefix = dirOf(dataPkl.name);
  for (const ref of refs) {
    const member = byName.get(`${prefix}data/${ref.key}`);
    if (!member) throw new MalformedModelError(label, 'pytorch-zip/missing-storage', `${dataPkl.name} references storage ${ref.key} but ${prefix}data/${ref.key} is not in the archive`);
    if (member.uncompressedSize !== ref.bytes) {
      throw new MalformedModelError(label, 'pytorch-zip/storage-size', `${member.name} holds ${member.uncompressedSize} bytes, ${ref.storageType} of ${ref.numel} elements needs ${ref.bytes}`);
    }
  }
}

export async function checkPytorchZip(ctx: FileCheckContext, policy: PicklePolicy = DEFAULT_PICKLE_POLICY): Promise<FileCheck> {
  const fh = await open(ctx.path, 'r');
  try {
    const size = (await fh.stat()).size;
    const archive = await checkArchiveAt(fh, size, ctx);
    const findings: Finding[] = [...archive.findings];
    const streams: ScannedStream[] = [];
    const malformed: MalformedModelError[] = [];
    let complete = true;
    let storageMembers = 0;
    const storageDirs = new Set(archive.entries.filter((e) => /(^|\/)data\.pkl$/.test(e.name)).map((e) => `${dirOf(e.name)}data/`));

    for (const entry of archive.entries) {
      if (entry.name.endsWith('/')) continue;
      const isPkl = entry.name.endsWith('.pkl');
      // Raw tensor bytes: never unpickled, and they may start with any byte at all.
      if (!isPkl && storageDirs.has(dirOf(entry.name))) {
        storageMembers++;
        continue;
      }
      const reason = archive.unreadable.get(entry);
      if (reason) {
        if (isPkl) {
          findings.push(unscannedMember(ctx, entry, reason));
          complete = false;
        }
        continue;
      }
      try {
        if (!isPkl && !(await memberLooksLikePickle(fh, size, entry, `${ctx.displayPath}:${entry.name}`))) continue;
        const isData = /(^|\/)data\.pkl$/.test(entry.name);
        const refs: StorageRef[] = [];
        const badIds: string[] = [];
        const stream = await scanMember(fh, size, entry, ctx, (pid) => {
          const ref = storageRef(pid);
          if (typeof ref === 'string') badIds.push(ref);
          else refs.push(ref);
        });
        streams.push(stream);
        if (stream.scan.malformed) {
          // A member that only looked like a pickle by its first bytes is data unless it parses.
          if (isPkl) malformed.push(stream.scan.malformed);
          complete = complete && !isPkl;
          continue;
        }
        if (isData) {
          const label = `${ctx.displayPath}:${entry.name}`;
          if (badIds[0] !== undefined) throw new MalformedModelError(label, 'pytorch-zip/persistent-id', badIds[0]);
          checkStorages(archive, entry, refs, label);
        }
      } catch (err) {
        if (!(err instanceof MalformedModelError)) throw err;
        malformed.push(err);
        complete = false;
      }
    }
    if (!archive.entries.some((e) => e.name.endsWith('.pkl'))) {
      findings.push({ severity: 'high', rule: 'pickle/unscanned-member', message: `${ctx.displayPath}: holds no .pkl member, so nothing a loader unpickles was scanned`, file: ctx.displayPath });
      complete = false;
    }
    for (const s of streams) findings.push(...streamFindings(s, ctx.displayPath, policy));
    return {
      format: 'pytorch-zip',
      scanned: complete,
      ...(complete ? {} : { unscannedReason: 'some members could not be scanned; see the pickle/unscanned-member findings' }),
      findings: settleMalformed(findings, malformed, ctx.displayPath),
      facts: [...archive.facts, ...scanFacts(streams, policy), ['storage members', String(storageMembers)]],
    };
  } finally {
    await fh.close();
  }
}
