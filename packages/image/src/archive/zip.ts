// A deterministic zip archive of stored (uncompressed) members, as a ByteSource: the headers are
// built up front from each member's size and CRC-32, and the contents are streamed from their own
// sources when the archive is read, so a model archive of several GB is never written to disk.
// Every member has the same fixed time and mode; ZIP64 records are used when a size or an offset
// does not fit 32 bits. Model weights barely compress, and a stored member is what lets the
// archive's bytes (and the layer digest) depend on nothing but the contents.
import { InputError } from '@ferry/core';
import { bufferSource, concatSources } from '../oci/index.js';
import type { ByteSource } from '../oci/index.js';

export interface ZipMember {
  /** Path inside the archive, with '/' separators. */
  name: string;
  source: ByteSource;
  crc32: number;
}

export interface ZipArchive {
  readonly source: ByteSource;
  readonly memberCount: number;
  readonly zip64: boolean;
}

const LIMIT_32 = 0xffffffff;
const LIMIT_16 = 0xffff;
/** 1980-01-01 00:00:00, the first time MS-DOS dates can hold. */
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
/** Regular file, rw-r--r--, in the high 16 bits of the external attributes (Unix "version made by"). */
const EXTERNAL_ATTRIBUTES = (0o100644 << 16) >>> 0;
const UTF8_NAMES = 0x0800;

function checkName(name: string): Buffer {
  if (name === '' || name.startsWith('/') || name.split('/').includes('..') || name.includes('\\') || name.includes('\0')) {
    throw new InputError(`zip member name ${JSON.stringify(name)} is not a relative path inside the archive`, { subject: name });
  }
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length > LIMIT_16) throw new InputError(`zip member name ${name.slice(0, 40)}… is too long`, { subject: name });
  return bytes;
}

/** The ZIP64 extended information extra field holding the given 64-bit values. */
function zip64Extra(values: readonly number[]): Buffer {
  const extra = Buffer.alloc(4 + 8 * values.length);
  extra.writeUInt16LE(0x0001, 0);
  extra.writeUInt16LE(8 * values.length, 2);
  values.forEach((value, i) => extra.writeBigUInt64LE(BigInt(value), 4 + 8 * i));
  return extra;
}

/** Builds the archive. `forceZip64` writes ZIP64 records even for small members (for tests of that path). */
export function zipArchive(members: readonly ZipMember[], options: { forceZip64?: boolean } = {}): ZipArchive {
  const seen = new Set<string>();
  const parts: ByteSource[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  let anyZip64 = options.forceZip64 === true || members.length >= LIMIT_16;
  for (const member of members) {
    if (seen.has(member.name)) throw new InputError(`zip member ${member.name} is added twice`, { subject: member.name });
    seen.add(member.name);
    const name = checkName(member.name);
    const size = member.source.size;
    const bigSize = options.forceZip64 === true || size >= LIMIT_32;
    const bigOffset = options.forceZip64 === true || offset >= LIMIT_32;
    anyZip64 ||= bigSize || bigOffset;
    const needed = bigSize || bigOffset ? 45 : 20;

    const localExtra = bigSize ? zip64Extra([size, size]) : Buffer.alloc(0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(needed, 4);
    local.writeUInt16LE(UTF8_NAMES, 6);
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(member.crc32 >>> 0, 14);
    local.writeUInt32LE(bigSize ? LIMIT_32 : size, 18);
    local.writeUInt32LE(bigSize ? LIMIT_32 : size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(localExtra.length, 28);
    const localHeader = Buffer.concat([local, name, localExtra]);
    parts.push(bufferSource(localHeader));
    if (size > 0) parts.push(member.source);

    const centralExtra = bigSize || bigOffset ? zip64Extra([...(bigSize ? [size, size] : []), ...(bigOffset ? [offset] : [])]) : Buffer.alloc(0);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE((3 << 8) | needed, 4); // made by: Unix
    entry.writeUInt16LE(needed, 6);
    entry.writeUInt16LE(UTF8_NAMES, 8);
    entry.writeUInt16LE(0, 10);
    entry.writeUInt16LE(DOS_TIME, 12);
    entry.writeUInt16LE(DOS_DATE, 14);
    entry.writeUInt32LE(member.crc32 >>> 0, 16);
    entry.writeUInt32LE(bigSize ? LIMIT_32 : size, 20);
    entry.writeUInt32LE(bigSize ? LIMIT_32 : size, 24);
    entry.writeUInt16LE(name.length, 28);
    entry.writeUInt16LE(centralExtra.length, 30);
    entry.writeUInt16LE(0, 32); // comment
    entry.writeUInt16LE(0, 34); // disk
    entry.writeUInt16LE(0, 36); // internal attributes
    entry.writeUInt32LE(EXTERNAL_ATTRIBUTES, 38);
    entry.writeUInt32LE(bigOffset ? LIMIT_32 : offset, 42);
    central.push(Buffer.concat([entry, name, centralExtra]));
    offset += localHeader.length + size;
  }

  const directory = Buffer.concat(central);
  const directoryOffset = offset;
  anyZip64 ||= directoryOffset >= LIMIT_32 || directory.length >= LIMIT_32;
  const tail: Buffer[] = [directory];
  if (anyZip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4); // size of the rest of the record
    record.writeUInt16LE((3 << 8) | 45, 12);
    record.writeUInt16LE(45, 14);
    record.writeUInt32LE(0, 16);
    record.writeUInt32LE(0, 20);
    record.writeBigUInt64LE(BigInt(members.length), 24);
    record.writeBigUInt64LE(BigInt(members.length), 32);
    record.writeBigUInt64LE(BigInt(directory.length), 40);
    record.writeBigUInt64LE(BigInt(directoryOffset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeUInt32LE(0, 4);
    locator.writeBigUInt64LE(BigInt(directoryOffset + directory.length), 8);
    locator.writeUInt32LE(1, 16);
    tail.push(record, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(anyZip64 ? LIMIT_16 : members.length, 8);
  end.writeUInt16LE(anyZip64 ? LIMIT_16 : members.length, 10);
  end.writeUInt32LE(anyZip64 ? LIMIT_32 : directory.length, 12);
  end.writeUInt32LE(anyZip64 ? LIMIT_32 : directoryOffset, 16);
  end.writeUInt16LE(0, 20);
  tail.push(end);
  parts.push(bufferSource(Buffer.concat(tail)));
  return { source: concatSources(parts), memberCount: members.length, zip64: anyZip64 };
}
