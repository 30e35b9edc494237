// A deterministic POSIX tar writer. Entries come sorted from the FileTree; every header carries the
// same mtime, uid/gid 0 and a fixed mode, and no atime/ctime, so the archive depends only on paths
// and contents. Headers are built up front (they are small); file contents stay on disk and are
// streamed when the archive is read, from any offset.
import { InputError } from '@ferry/core';
import { bufferSource, concatSources } from './byte-source.js';
import type { ByteSource } from './byte-source.js';
import { SYMLINK_MODE } from './file-tree.js';
import type { TreeEntry } from './file-tree.js';

const BLOCK = 512;
/** The largest size an 11-digit octal field holds (8 GiB - 1); larger files get a PAX size record. */
const MAX_OCTAL_SIZE = 0o77777777777;
const NAME_LENGTH = 100;

export interface TarOptions {
  /** Modification time of every entry, in seconds since the epoch (SOURCE_DATE_EPOCH). Default 0. */
  mtime?: number;
}

/** A tar archive: its size is known before a byte is read. */
export interface TarArchive {
  readonly source: ByteSource;
  readonly entryCount: number;
  /** Sum of the file sizes inside. */
  readonly contentBytes: number;
}

type Typeflag = '0' | '2' | '5' | 'x';

interface HeaderFields {
  name: string;
  mode: number;
  size: number;
  mtime: number;
  typeflag: Typeflag;
  linkname?: string;
}

function writeString(block: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`tar field of ${length} bytes cannot hold ${bytes.length}`);
  bytes.copy(block, offset);
}

/** Zero-padded octal with a NUL terminator, as ustar expects. */
function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  writeString(block, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

function header(fields: HeaderFields): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeString(block, 0, 100, fields.name);
  writeOctal(block, 100, 8, fields.mode);
  writeOctal(block, 108, 8, 0); // uid
  writeOctal(block, 116, 8, 0); // gid
  writeOctal(block, 124, 12, fields.size);
  writeOctal(block, 136, 12, fields.mtime);
  block.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  block.write(fields.typeflag, 156, 'ascii');
  if (fields.linkname !== undefined) writeString(block, 157, 100, fields.linkname);
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  writeOctal(block, 329, 8, 0); // devmajor
  writeOctal(block, 337, 8, 0); // devminor
  let checksum = 0;
  for (const byte of block) checksum += byte;
  writeString(block, 148, 8, `${checksum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

/** "<length> key=value\n", where the length counts the whole record including its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body, 'utf8');
  let length = bodyLength + 1;
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength;
  return `${length}${body}`;
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

const isPortable = (value: string, limit: number) => Buffer.byteLength(value, 'utf8') <= limit && /^[\x20-\x7e]*$/.test(value);

/** A name the plain header can always hold: printable ASCII, at most 100 bytes. */
function fallbackName(name: string): string {
  return name.replace(/[^\x20-\x7e]/g, '_').slice(0, NAME_LENGTH);
}

/** The header blocks of one entry: a PAX extended header first when a field does not fit ustar. */
function entryHeaders(fields: HeaderFields): Buffer {
  const records: string[] = [];
  let { name, size, linkname } = fields;
  if (!isPortable(name, NAME_LENGTH)) {
    records.push(paxRecord('path', name));
    name = fallbackName(name);
  }
  if (linkname !== undefined && !isPortable(linkname, NAME_LENGTH)) {
    records.push(paxRecord('linkpath', linkname));
    linkname = fallbackName(linkname);
  }
  if (size > MAX_OCTAL_SIZE) {
    records.push(paxRecord('size', String(size)));
    size = 0;
  }
  const main = header({ ...fields, name, size, ...(linkname === undefined ? {} : { linkname }) });
  if (records.length === 0) return main;
  const pax = Buffer.from(records.join(''), 'utf8');
  const paxHeader = header({ name: fallbackName(`PaxHeader/${name}`), mode: 0o644, size: pax.length, mtime: fields.mtime, typeflag: 'x' });
  return Buffer.concat([paxHeader, pax, Buffer.alloc(padding(pax.length)), main]);
}

/** The archive of `entries`, which must already be in layer order (FileTree.list()). */
export function tarArchive(entries: readonly TreeEntry[], options: TarOptions = {}): TarArchive {
  const mtime = options.mtime ?? 0;
  if (!Number.isSafeInteger(mtime) || mtime < 0 || mtime > MAX_OCTAL_SIZE) {
    throw new InputError(`source date epoch ${mtime} is not a whole number of seconds between 0 and ${MAX_OCTAL_SIZE}`, { subject: 'source-date-epoch' });
  }
  const parts: ByteSource[] = [];
  // Consecutive small buffers (a padding, then the next header) are merged into one part.
  let pending: Buffer[] = [];
  const flush = () => {
    if (pending.length > 0) parts.push(bufferSource(Buffer.concat(pending)));
    pending = [];
  };
  let contentBytes = 0;
  for (const entry of entries) {
    if (entry.type === 'directory') {
      pending.push(entryHeaders({ name: `${entry.path}/`, mode: entry.mode, size: 0, mtime, typeflag: '5' }));
    } else if (entry.type === 'symlink') {
      pending.push(entryHeaders({ name: entry.path, mode: SYMLINK_MODE, size: 0, mtime, typeflag: '2', linkname: entry.target }));
    } else {
      const size = entry.source.size;
      pending.push(entryHeaders({ name: entry.path, mode: entry.mode, size, mtime, typeflag: '0' }));
      if (size > 0) {
        flush();
        parts.push(entry.source);
        pending.push(Buffer.alloc(padding(size)));
      }
      contentBytes += size;
    }
  }
  // End of archive: two zero blocks.
  pending.push(Buffer.alloc(2 * BLOCK));
  flush();
  return { source: concatSources(parts), entryCount: entries.length, contentBytes };
}
