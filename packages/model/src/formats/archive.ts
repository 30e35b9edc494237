// Archive-level checks shared by every zip-based format (PyTorch zip, .npz, .keras): zip bombs
// (ratio, total size, entry count, overlapping members) and names that escape the extraction directory.
import { open, type FileHandle } from 'node:fs/promises';
import type { Finding } from '@ferry/core';
import { MalformedModelError, type CheckLimits, type FileCheck, type FileCheckContext } from './types.js';
import { readZipDirectory, ZipFormatError, type ZipEntry } from './zip.js';
import { memberUnreadableReason } from './zip-member.js';

/**
 * Members smaller than this are never called bombs, however well they compress: a megabyte of
 * zeros in an .npz compresses a thousandfold and harms nobody.
 */
export const RATIO_FLOOR_BYTES = 1024 * 1024;
const UNIX_HOST = 3;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

export interface ArchiveCheck extends FileCheck {
  readonly entries: readonly ZipEntry[];
  /** Members that must not be read (bombs, overlaps, encryption, unknown compression), with the reason. */
  readonly unreadable: ReadonlyMap<ZipEntry, string>;
}

/** Reasons a member name is unsafe to extract, most severe first. */
function nameProblems(name: string): { rule: string; severity: Finding['severity']; why: string }[] {
  const out: { rule: string; severity: Finding['severity']; why: string }[] = [];
  const normal = name.replace(/\\/g, '/');
  if (normal.startsWith('/') || /^[A-Za-z]:/.test(normal)) {
    out.push({ rule: 'archive/path-traversal', severity: 'critical', why: 'is an absolute path' });
  } else if (normal.split('/').includes('..')) {
    out.push({ rule: 'archive/path-traversal', severity: 'critical', why: 'climbs out of the extraction directory with ".."' });
  }
  if (name.includes('\\')) out.push({ rule: 'archive/unsafe-name', severity: 'high', why: 'contains a backslash, a path separator on Windows' });
  if (name.includes('\0')) out.push({ rule: 'archive/unsafe-name', severity: 'high', why: 'contains a NUL byte' });
  return out;
}

function isSymlink(e: ZipEntry): boolean {
  return e.versionMadeBy >> 8 === UNIX_HOST && ((e.externalAttributes >>> 16) & S_IFMT) === S_IFLNK;
}

/** Checks a directory already read; `label` names the archive in messages and findings. */
export function checkArchiveEntries(entries: readonly ZipEntry[], fileSize: number, label: string, limits: CheckLimits): ArchiveCheck {
  const findings: Finding[] = [];
  const unreadable = new Map<ZipEntry, string>();
  const add = (severity: Finding['severity'], rule: string, message: string): void => {
    findings.push({ severity, rule, message: `${label}: ${message}`, file: label });
  };

  if (entries.length > limits.maxArchiveEntries) {
    add('high', 'archive/too-many-entries', `${entries.length} members exceed the limit of ${limits.maxArchiveEntries}; no member was read`);
    for (const e of entries) unreadable.set(e, 'the archive has too many members');
  }

  let total = 0;
  let compressed = 0;
  const seen = new Set<string>();
  for (const e of entries) {
    total += e.uncompressedSize;
    compressed += e.compressedSize;
    for (const p of nameProblems(e.name)) add(p.severity, p.rule, `member "${e.name}" ${p.why}`);
    if (isSymlink(e)) add('critical', 'archive/symlink', `member "${e.name}" is a symbolic link, which can point outside the extraction directory`);
    if (seen.has(e.name)) add('high', 'archive/duplicate-name', `member "${e.name}" appears more than once, so readers may disagree on which copy is used`);
    seen.add(e.name);
    const ratio = e.compressedSize > 0 ? e.uncompressedSize / e.compressedSize : Infinity;
    if (e.uncompressedSize > RATIO_FLOOR_BYTES && ratio > limits.maxCompressionRatio) {
      const shown = Number.isFinite(ratio) ? `${ratio.toFixed(0)}:1` : 'unbounded';
      add('high', 'archive/compression-ratio', `member "${e.name}" expands ${e.compressedSize} bytes to ${e.uncompressedSize} (ratio ${shown}, limit ${limits.maxCompressionRatio}:1): a zip bomb; it was not inflated`);
      unreadable.set(e, `its compression ratio ${shown} exceeds the limit`);
    }
    const reason = memberUnreadableReason(e);
    if (reason && !unreadable.has(e)) unreadable.set(e, reason);
  }
  if (total > limits.maxArchiveBytes) {
    add('high', 'archive/total-size', `members declare ${total} bytes uncompressed in all, over the limit of ${limits.maxArchiveBytes}: a zip bomb`);
  }

  // Members whose data overlap let a small file declare many large members (the overlapping-file zip bomb).
  const byOffset = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  for (let i = 0; i < byOffset.length; i++) {
    const e = byOffset[i] as ZipEntry;
    const dataEnd = e.localHeaderOffset + 30 + Buffer.byteLength(e.name) + e.compressedSize;
    const next = byOffset[i + 1];
    if (dataEnd > fileSize) {
      add('high', 'archive/member-bounds', `member "${e.name}" runs past the end of the file`);
      unreadable.set(e, 'its data runs past the end of the file');
    } else if (next && dataEnd > next.localHeaderOffset) {
      add('high', 'archive/overlapping-members', `members "${e.name}" and "${next.name}" share bytes: a zip bomb or a disguised member`);
      unreadable.set(e, 'its data overlaps another member');
      unreadable.set(next, 'its data overlaps another member');
    }
  }

  return {
    format: 'zip',
    // Only the directory was examined; the format checkers read the members.
    scanned: false,
    findings,
    facts: [
      ['members', String(entries.length)],
      ['uncompressed bytes', String(total)],
      ['compressed bytes', String(compressed)],
    ],
    entries,
    unreadable,
  };
}

/** Reads the central directory through an open handle and checks it; an unreadable directory is malformed (exit 2). */
export async function checkArchiveAt(fh: FileHandle, size: number, ctx: FileCheckContext): Promise<ArchiveCheck> {
  let entries: ZipEntry[];
  try {
    entries = await readZipDirectory(fh, size);
  } catch (err) {
    if (err instanceof ZipFormatError) throw new MalformedModelError(ctx.displayPath, 'archive/directory', err.message);
    throw err;
  }
  return checkArchiveEntries(entries, size, ctx.displayPath, ctx.limits);
}

/** Archive checks for any zip file: bombs and path traversal. Members are not read here. */
export async function checkArchive(ctx: FileCheckContext): Promise<ArchiveCheck> {
  const fh = await open(ctx.path, 'r');
  try {
    return await checkArchiveAt(fh, (await fh.stat()).size, ctx);
  } finally {
    await fh.close();
  }
}
