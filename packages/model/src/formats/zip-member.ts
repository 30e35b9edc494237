// Streams one zip member's bytes (stored or deflated) without extracting it. Memory stays bounded
// by the stream chunks, and a member may never inflate past the size its directory entry declares.
import type { FileHandle } from 'node:fs/promises';
import { pipeline, Readable } from 'node:stream';
import { createInflateRaw } from 'node:zlib';
import { errorMessage } from '@ferry/core';
import { FileRangeSource, type ByteSource } from './byte-source.js';
import { MalformedModelError } from './types.js';
import type { ZipEntry } from './zip.js';

const LOCAL_HEADER_SIG = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;
const CHUNK = 1 << 20;

/** Why a member cannot be read at all, or undefined when it can. */
export function memberUnreadableReason(entry: ZipEntry): string | undefined {
  if ((entry.flags & 1) !== 0) return 'it is encrypted';
  if (entry.method !== STORED && entry.method !== DEFLATED) return `compression method ${entry.method} is not supported (only stored and deflate)`;
  return undefined;
}

/** Offset of the member's first data byte, read from its local header. */
async function dataStart(fh: FileHandle, fileSize: number, entry: ZipEntry, label: string): Promise<number> {
  const head = Buffer.alloc(30);
  const { bytesRead } = await fh.read(head, 0, 30, entry.localHeaderOffset);
  if (bytesRead < 30 || head.readUInt32LE(0) !== LOCAL_HEADER_SIG) {
    throw new MalformedModelError(label, 'archive/local-header', `no local file header at byte ${entry.localHeaderOffset}`);
  }
  const start = entry.localHeaderOffset + 30 + head.readUInt16LE(26) + head.readUInt16LE(28);
  if (start + entry.compressedSize > fileSize) {
    throw new MalformedModelError(label, 'archive/member-bounds', `member data runs past the end of the file`);
  }
  return start;
}

async function* compressedChunks(fh: FileHandle, start: number, length: number): AsyncGenerator<Buffer> {
  const end = start + length;
  for (let pos = start; pos < end; ) {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, end - pos));
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) return;
    pos += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

/** Deflated member: raw inflate over the compressed byte range, capped at the declared size. */
class InflateSource implements ByteSource {
  private readonly raw: Readable;
  private readonly inflate: ReturnType<typeof createInflateRaw>;
  private readonly chunks: AsyncIterator<Buffer>;
  private chunk: Buffer = Buffer.alloc(0);
  private offset = 0;
  private produced = 0;
  private ended = false;

  constructor(
    fh: FileHandle,
    start: number,
    compressedSize: number,
    private readonly declared: number,
    private readonly label: string,
  ) {
    // Not fh.createReadStream: destroying that stream closes the caller's handle.
    this.raw = Readable.from(compressedChunks(fh, start, compressedSize));
    this.inflate = createInflateRaw({ chunkSize: 1 << 16 });
    // Errors reach the reader through the iterator below; the callback only keeps them from being unhandled.
    pipeline(this.raw, this.inflate, () => undefined);
    this.chunks = this.inflate[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  private async nextChunk(): Promise<boolean> {
    if (this.ended) return false;
    let r: IteratorResult<Buffer>;
    try {
      r = await this.chunks.next();
    } catch (err) {
      throw new MalformedModelError(this.label, 'archive/inflate', `deflate data is corrupt: ${errorMessage(err)}`);
    }
    if (r.done) {
      this.ended = true;
      if (this.produced !== this.declared) {
        throw new MalformedModelError(this.label, 'archive/size-mismatch', `inflates to ${this.produced} bytes, its directory entry declares ${this.declared}`);
      }
      return false;
    }
    this.produced += r.value.length;
    if (this.produced > this.declared) {
      throw new MalformedModelError(this.label, 'archive/size-mismatch', `inflates past the ${this.declared} bytes its directory entry declares`);
    }
    this.chunk = r.value;
    this.offset = 0;
    return true;
  }

  async read(buf: Buffer, offset: number, length: number): Promise<number> {
    while (this.offset >= this.chunk.length) {
      if (!(await this.nextChunk())) return 0;
    }
    const n = Math.min(length, this.chunk.length - this.offset);
    this.chunk.copy(buf, offset, this.offset, this.offset + n);
    this.offset += n;
    return n;
  }

  async skip(n: number): Promise<number> {
    let done = 0;
    while (done < n) {
      if (this.offset >= this.chunk.length && !(await this.nextChunk())) break;
      const k = Math.min(n - done, this.chunk.length - this.offset);
      this.offset += k;
      done += k;
    }
    return done;
  }

  async close(): Promise<void> {
    this.inflate.destroy();
    this.raw.destroy();
  }
}

/**
 * Opens a member for streaming. `label` names it in errors (`model.pt:archive/data.pkl`).
 * Check memberUnreadableReason first; an unreadable member throws here.
 */
export async function openZipMember(fh: FileHandle, fileSize: number, entry: ZipEntry, label: string): Promise<ByteSource> {
  const reason = memberUnreadableReason(entry);
  if (reason) throw new MalformedModelError(label, 'archive/unreadable-member', reason);
  const start = await dataStart(fh, fileSize, entry, label);
  if (entry.method === STORED) {
    if (entry.compressedSize !== entry.uncompressedSize) {
      throw new MalformedModelError(label, 'archive/size-mismatch', `stored member declares ${entry.compressedSize} bytes stored but ${entry.uncompressedSize} uncompressed`);
    }
    return new FileRangeSource(fh, start, start + entry.compressedSize);
  }
  return new InflateSource(fh, start, entry.compressedSize, entry.uncompressedSize, label);
}
