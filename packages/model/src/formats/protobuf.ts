// A bounded protobuf wire-format reader that streams a file: messages are walked in place, payloads
// nobody needs (tensor bytes) are skipped by length, and every kept string counts against a budget.
import type { FileCursor } from './file-cursor.js';

export const WireType = { VARINT: 0, I64: 1, LEN: 2, I32: 5 } as const;

export interface Tag {
  readonly field: number;
  readonly wire: number;
}

const MAX_FIELD = 2 ** 29 - 1;

export class ProtoReader {
  readonly cursor: FileCursor;
  private readonly fail: (detail: string) => Error;
  private readonly maxRetained: number;
  private readonly overLimit: (detail: string) => Error;
  /** Bytes of strings the caller kept, plus a fixed charge per kept object (see retain()). */
  retained = 0;

  /**
   * `fail` builds the format's error (for example rule `onnx/protobuf`) for any wire-level fault,
   * `overLimit` the one for a structure too large to check within `maxRetainedBytes`.
   */
  constructor(cursor: FileCursor, fail: (detail: string) => Error, maxRetainedBytes: number, overLimit: (detail: string) => Error = fail) {
    this.cursor = cursor;
    this.fail = fail;
    this.maxRetained = maxRetainedBytes;
    this.overLimit = overLimit;
  }

  get pos(): number {
    return this.cursor.pos;
  }

  error(detail: string): Error {
    return this.fail(`${detail} (at byte ${this.cursor.pos})`);
  }

  /**
   * Counts memory the parse keeps, so a file of millions of tiny messages cannot exhaust the heap:
   * every kept object is charged a fixed overhead on top of its string bytes.
   */
  retain(bytes: number): void {
    this.retained += bytes;
    if (this.retained > this.maxRetained) {
      throw this.overLimit(`the structure needs more than ${this.maxRetained} bytes of memory to check (limit maxHeaderBytes)`);
    }
  }

  /** Next field of the message ending at `end`, or undefined exactly at its end. */
  async tag(end: number): Promise<Tag | undefined> {
    const pos = this.cursor.pos;
    if (pos === end) return undefined;
    if (pos > end) throw this.error('a field runs past the end of its message');
    const v = await this.varint(end);
    const field = Math.floor(v / 8);
    const wire = v % 8;
    if (field === 0 || field > MAX_FIELD) throw this.error(`invalid field number ${field}`);
    if (wire !== 0 && wire !== 1 && wire !== 2 && wire !== 5) throw this.error(`unsupported wire type ${wire} for field ${field}`);
    return { field, wire };
  }

  /** An unsigned varint of up to 64 bits, as a number (exact up to 2^53, which every length is). */
  async varint(end: number): Promise<number> {
    const avail = Math.min(10, end - this.cursor.pos);
    if (avail <= 0) throw this.error('a varint runs past the end of its message');
    if (!this.cursor.has(avail)) await this.cursor.need(avail, 'varint');
    const buf = this.cursor.peek();
    let value = 0;
    let mul = 1;
    for (let i = 0; i < avail; i++) {
      const b = buf[i] ?? 0;
      if (i === 9 && b > 1) throw this.error('varint longer than 64 bits');
      value += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) {
        this.cursor.skip(i + 1);
        return value;
      }
    }
    throw this.error('a varint runs past the end of its message');
  }

  /** A signed int64/int32 varint (two's complement, so -1 takes ten bytes), as a number. */
  async int64(end: number): Promise<number> {
    const start = this.cursor.pos;
    const v = await this.varint(end);
    if (v < 2 ** 53) return v;
    // Large or negative: decode the same bytes exactly with BigInt.
    const bytes = this.cursor.pos - start;
    this.cursor.pos = start;
    await this.cursor.need(bytes, 'varint');
    const buf = this.cursor.bytes(bytes);
    let big = 0n;
    for (let i = bytes - 1; i >= 0; i--) big = (big << 7n) | BigInt((buf[i] ?? 0) & 0x7f);
    return Number(BigInt.asIntN(64, big));
  }

  /** The length prefix of a LEN field, checked against the enclosing message. */
  async length(end: number): Promise<number> {
    const n = await this.varint(end);
    if (n > end - this.cursor.pos) throw this.error(`a field of ${n} bytes runs past the end of its message`);
    return n;
  }

  /** A LEN field read as UTF-8 text and kept, so it is charged to the budget. */
  async string(end: number, maxBytes: number, what: string): Promise<string> {
    const n = await this.length(end);
    if (n > maxBytes) throw this.error(`${what} of ${n} bytes exceeds the limit of ${maxBytes}`);
    this.retain(n);
    if (n === 0) return '';
    await this.cursor.need(n, what);
    return this.cursor.bytes(n).toString('utf8');
  }

  /** Passes over a field's value without keeping it; LEN payloads are skipped without reading. */
  async skip(tag: Tag, end: number): Promise<void> {
    switch (tag.wire) {
      case WireType.VARINT:
        await this.varint(end);
        return;
      case WireType.I64:
        this.fixed(8, end);
        return;
      case WireType.I32:
        this.fixed(4, end);
        return;
      default:
        this.cursor.skip(await this.length(end));
    }
  }

  private fixed(n: number, end: number): void {
    if (end - this.cursor.pos < n) throw this.error('a fixed-size field runs past the end of its message');
    this.cursor.skip(n);
  }

  /** The end offset of an embedded message, after checking the wire type. */
  async message(tag: Tag, end: number, what: string): Promise<number> {
    if (tag.wire !== WireType.LEN) throw this.error(`${what} (field ${tag.field}) has wire type ${tag.wire}, expected a message`);
    const n = await this.length(end);
    return this.cursor.pos + n;
  }

  /** Appends a repeated int64 field, accepting both packed and unpacked encodings. */
  async ints(tag: Tag, end: number, out: number[], maxCount: number, what: string): Promise<void> {
    if (tag.wire === WireType.VARINT) {
      out.push(await this.int64(end));
    } else if (tag.wire === WireType.LEN) {
      const stop = this.cursor.pos + (await this.length(end));
      while (this.cursor.pos < stop) {
        if (out.length >= maxCount) throw this.error(`${what} has more than ${maxCount} values`);
        out.push(await this.int64(stop));
      }
    } else {
      throw this.error(`${what} has wire type ${tag.wire}, expected integers`);
    }
    if (out.length > maxCount) throw this.error(`${what} has more than ${maxCount} values`);
    this.retain(8);
  }

  /** Reads a varint-typed scalar field after checking its wire type. */
  async scalar(tag: Tag, end: number, what: string): Promise<number> {
    if (tag.wire !== WireType.VARINT) throw this.error(`${what} has wire type ${tag.wire}, expected a varint`);
    return this.int64(end);
  }

  /** Reads a string field after checking its wire type. */
  async text(tag: Tag, end: number, maxBytes: number, what: string): Promise<string> {
    if (tag.wire !== WireType.LEN) throw this.error(`${what} has wire type ${tag.wire}, expected a string`);
    return this.string(end, maxBytes, what);
  }
}
