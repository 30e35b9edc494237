// A forward-only byte stream that can skip without copying. Scanners read file ranges and zip
// members through it, so a multi-gigabyte payload they do not need costs a seek, not a read.
import type { FileHandle } from 'node:fs/promises';

export interface ByteSource {
  /** Reads up to `length` bytes into `buf` at `offset`; 0 means the end of the stream. */
  read(buf: Buffer, offset: number, length: number): Promise<number>;
  /** Skips up to `n` bytes and returns how many were skipped (fewer only at the end). */
  skip(n: number): Promise<number>;
  /** Releases what the source opened itself (never the caller's file handle). */
  close(): Promise<void>;
}

/** Bytes [start, end) of an open file. Skipping only moves the position. */
export class FileRangeSource implements ByteSource {
  private pos: number;
  constructor(
    private readonly fh: FileHandle,
    start: number,
    private readonly end: number,
  ) {
    this.pos = start;
  }

  /** Absolute file offset of the next byte. */
  get position(): number {
    return this.pos;
  }

  async read(buf: Buffer, offset: number, length: number): Promise<number> {
    const n = Math.min(length, this.end - this.pos);
    if (n <= 0) return 0;
    const { bytesRead } = await this.fh.read(buf, offset, n, this.pos);
    this.pos += bytesRead;
    return bytesRead;
  }

  async skip(n: number): Promise<number> {
    const k = Math.max(0, Math.min(n, this.end - this.pos));
    this.pos += k;
    return k;
  }

  async close(): Promise<void> {
    // The handle belongs to the caller.
  }
}

/** Reads exactly `length` bytes, or fewer only when the stream ends first. */
export async function readFully(source: ByteSource, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = await source.read(buf, got, length - got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}
