// A forward-reading window over a file for header parsers (GGUF, protobuf): it reads only the bytes
// a parser asks for, in bounded chunks, so a multi-gigabyte model costs the memory of a small one.
import type { FileHandle } from 'node:fs/promises';

const CHUNK = 64 * 1024;

export class FileCursor {
  /** Absolute offset of the next byte the parser will consume. */
  pos = 0;
  private buf: Buffer = Buffer.alloc(0);
  private bufStart = 0;
  private readonly fh: FileHandle;
  readonly size: number;
  private readonly truncated: (detail: string) => Error;
  private readonly signal: AbortSignal | undefined;

  /**
   * `truncated` builds the format's own error when the file ends before the structure does;
   * `signal` is polled on every read, so a cancelled job stops within one chunk.
   */
  constructor(fh: FileHandle, size: number, truncated: (detail: string) => Error, signal?: AbortSignal) {
    this.fh = fh;
    this.size = size;
    this.truncated = truncated;
    this.signal = signal;
  }

  get remaining(): number {
    return this.size - this.pos;
  }

  /** True when n bytes at the cursor are already buffered: the synchronous fast path. */
  has(n: number): boolean {
    const off = this.pos - this.bufStart;
    return off >= 0 && off + n <= this.buf.length;
  }

  /** Buffers n bytes at the cursor (n is bounded by the caller), or throws the truncation error. */
  async need(n: number, what: string): Promise<void> {
    if (this.has(n)) return;
    this.signal?.throwIfAborted();
    if (n > this.remaining || this.pos < 0) {
      throw this.truncated(`${what} needs ${n} bytes at offset ${this.pos}, but the file ends at ${this.size}`);
    }
    const len = Math.min(Math.max(n, CHUNK), this.remaining);
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const { bytesRead } = await this.fh.read(buf, got, len - got, this.pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got < n) throw this.truncated(`${what}: the file ended at offset ${this.pos + got} while reading`);
    this.buf = buf.subarray(0, got);
    this.bufStart = this.pos;
  }

  /** The buffered bytes from the cursor on, without consuming them (valid until the next need()). */
  peek(): Buffer {
    return this.buf.subarray(this.pos - this.bufStart);
  }

  u8(): number {
    const v = this.buf.readUInt8(this.pos - this.bufStart);
    this.pos += 1;
    return v;
  }

  u32(): number {
    const v = this.buf.readUInt32LE(this.pos - this.bufStart);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    const v = this.buf.readBigUInt64LE(this.pos - this.bufStart);
    this.pos += 8;
    return v;
  }

  /** n buffered bytes as a view (valid until the next need()); copy what must outlive it. */
  bytes(n: number): Buffer {
    const off = this.pos - this.bufStart;
    this.pos += n;
    return this.buf.subarray(off, off + n);
  }

  /** Moves forward without reading: how tensor data and other payloads are passed over. */
  skip(n: number): void {
    this.pos += n;
  }
}
