// An incremental HTTP/1.1 response parser for the load generator's own client: status line, headers,
// then a body delimited by Content-Length, chunked transfer coding or the connection closing.
// Body bytes are handed on as they arrive (with their arrival time), so SSE chunks can be timed.

export interface ResponseHead {
  readonly status: number;
  /** Header names lower-cased; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
}

export interface ResponseSink {
  onHead(head: ResponseHead): void;
  /** Decoded body bytes (chunked framing removed), in order. */
  onBody(chunk: Buffer, atMs: number): void;
  onComplete(atMs: number): void;
}

export class HttpParseError extends Error {}

const MAX_HEAD_BYTES = 64 * 1024;
const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

type BodyMode = 'length' | 'chunk-size' | 'chunk-data' | 'chunk-data-end' | 'trailers' | 'until-close';

export class ResponseParser {
  private sink: ResponseSink | undefined;
  private head: Buffer | undefined;
  private inBody = false;
  private mode: BodyMode = 'length';
  private remaining = 0;
  private line: Buffer | undefined;
  /** Whether the server said it will close the connection after this response. */
  closeAfter = false;
  /** Bytes of this response seen so far (head and body). */
  bytesSeen = 0;

  /** Expects one response for one request (no pipelining). HEAD requests are not supported. */
  expect(sink: ResponseSink): void {
    this.sink = sink;
    this.head = undefined;
    this.inBody = false;
    this.line = undefined;
    this.closeAfter = false;
    this.bytesSeen = 0;
  }

  get idle(): boolean {
    return this.sink === undefined;
  }

  /** Feeds bytes from the socket; throws HttpParseError on malformed input or bytes nobody asked for. */
  feed(data: Buffer, atMs: number): void {
    let buf = data;
    while (buf.length > 0) {
      if (this.sink === undefined) throw new HttpParseError(`the server sent ${buf.length} bytes with no request outstanding`);
      buf = this.inBody ? this.feedBody(buf, atMs) : this.feedHead(buf, atMs);
    }
  }

  /** The connection closed: completes a close-delimited body, otherwise reports whether a response was cut short. */
  end(atMs: number): 'complete' | 'truncated' | 'idle' {
    if (this.sink === undefined) return 'idle';
    if (this.inBody && this.mode === 'until-close') {
      this.finish(atMs);
      return 'complete';
    }
    return 'truncated';
  }

  private feedHead(buf: Buffer, atMs: number): Buffer {
    const joined = this.head === undefined ? buf : Buffer.concat([this.head, buf]);
    // Search from a little before the new bytes, in case the terminator straddles the boundary.
    const from = this.head === undefined ? 0 : Math.max(0, this.head.length - 3);
    const end = joined.indexOf(HEAD_END, from);
    if (end < 0) {
      if (joined.length > MAX_HEAD_BYTES) throw new HttpParseError(`response head longer than ${MAX_HEAD_BYTES} bytes`);
      this.head = joined;
      this.bytesSeen += buf.length;
      return Buffer.alloc(0);
    }
    const consumed = end + 4 - (this.head?.length ?? 0);
    this.bytesSeen += consumed;
    this.head = undefined;
    const head = parseHead(joined.toString('latin1', 0, end));
    const rest = joined.subarray(end + 4);
    if (head.status >= 100 && head.status < 200) {
      if (head.status === 101) throw new HttpParseError('the server switched protocols (101), which a load request never asks for');
      return rest; // 100 Continue, 103 Early Hints: the real response follows
    }
    this.sink!.onHead(head);
    this.closeAfter = /(^|,)\s*close\s*(,|$)/i.test(head.headers['connection'] ?? '');
    const te = head.headers['transfer-encoding'];
    const cl = head.headers['content-length'];
    this.inBody = true;
    if (head.status === 204 || head.status === 304) {
      this.mode = 'length';
      this.remaining = 0;
    } else if (te !== undefined && /(^|,)\s*chunked\s*$/i.test(te)) {
      this.mode = 'chunk-size';
    } else if (cl !== undefined) {
      if (!/^\d+$/.test(cl.trim())) throw new HttpParseError(`bad Content-Length ${JSON.stringify(cl)}`);
      this.mode = 'length';
      this.remaining = Number(cl.trim());
    } else {
      this.mode = 'until-close';
      this.closeAfter = true;
    }
    if (this.mode === 'length' && this.remaining === 0) {
      this.finish(atMs);
    }
    return rest;
  }

  private feedBody(buf: Buffer, atMs: number): Buffer {
    switch (this.mode) {
      case 'until-close':
        this.bytesSeen += buf.length;
        this.sink!.onBody(buf, atMs);
        return Buffer.alloc(0);
      case 'length': {
        const n = Math.min(this.remaining, buf.length);
        this.remaining -= n;
        this.bytesSeen += n;
        if (n > 0) this.sink!.onBody(buf.subarray(0, n), atMs);
        if (this.remaining === 0) this.finish(atMs);
        return buf.subarray(n);
      }
      case 'chunk-data': {
        const n = Math.min(this.remaining, buf.length);
        this.remaining -= n;
        this.bytesSeen += n;
        if (n > 0) this.sink!.onBody(buf.subarray(0, n), atMs);
        if (this.remaining === 0) this.mode = 'chunk-data-end';
        return buf.subarray(n);
      }
      default:
        return this.feedLine(buf, atMs);
    }
  }

  /** Line-oriented parts of chunked coding: sizes, the CRLF after data, trailers. */
  private feedLine(buf: Buffer, atMs: number): Buffer {
    const joined = this.line === undefined ? buf : Buffer.concat([this.line, buf]);
    const from = this.line === undefined ? 0 : Math.max(0, this.line.length - 1);
    const eol = joined.indexOf(CRLF, from);
    if (eol < 0) {
      if (joined.length > 8192) throw new HttpParseError('chunked body: line too long');
      this.line = joined;
      this.bytesSeen += buf.length;
      return Buffer.alloc(0);
    }
    this.bytesSeen += eol + 2 - (this.line?.length ?? 0);
    this.line = undefined;
    const text = joined.toString('latin1', 0, eol);
    const rest = joined.subarray(eol + 2);
    if (this.mode === 'chunk-data-end') {
      if (text !== '') throw new HttpParseError('chunked body: chunk data longer than its size');
      this.mode = 'chunk-size';
    } else if (this.mode === 'chunk-size') {
      const size = parseInt(text.split(';', 1)[0]!.trim(), 16);
      if (!/^[0-9a-fA-F]+$/.test(text.split(';', 1)[0]!.trim()) || !Number.isSafeInteger(size)) throw new HttpParseError(`chunked body: bad chunk size ${JSON.stringify(text)}`);
      if (size === 0) this.mode = 'trailers';
      else {
        this.mode = 'chunk-data';
        this.remaining = size;
      }
    } else if (text === '') {
      this.finish(atMs); // end of trailers
    }
    return rest;
  }

  private finish(atMs: number): void {
    const sink = this.sink!;
    this.sink = undefined;
    this.inBody = false;
    sink.onComplete(atMs);
  }
}

function parseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0]!);
  if (!m) throw new HttpParseError(`bad status line ${JSON.stringify(lines[0]!.slice(0, 80))}`);
  const headers: Record<string, string> = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HttpParseError(`bad header line ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status: Number(m[1]), headers };
}
