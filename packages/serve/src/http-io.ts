// Reading bounded request bodies and writing JSON answers, with the headers every answer carries.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestError } from './errors.js';

/**
 * Past the limit a body is still read, and dropped, up to this much more: a client that is still
 * sending when the connection closes sees a broken pipe instead of the 413.
 */
const DISCARD_LIMIT = 64 * 1024 * 1024;

/**
 * Reads the whole body. One over `limit` bytes is refused with 413 once the client has finished
 * sending it (or at once when it is also over the discard allowance, or when the client sent
 * `Expect: 100-continue` and so has not sent it yet), so the client reads the answer.
 */
export function readBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Buffer> {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    return Promise.reject(new RequestError('unsupported_media_type', `Content-Encoding ${encoding} is not supported; send the body uncompressed`));
  }
  const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
  if (declared !== undefined && declared > limit + DISCARD_LIMIT) return Promise.reject(tooLarge(declared, limit));
  if (req.headers.expect?.toLowerCase() === '100-continue') {
    // The client waits for a go-ahead before sending: refuse without it ever sending the body.
    if (declared !== undefined && declared > limit) return Promise.reject(tooLarge(declared, limit));
    res.writeContinue();
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    let over = declared !== undefined && declared > limit;
    const finish = (err: unknown, body?: Buffer): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (err === undefined && body) resolve(body);
      else reject(err);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit && !over) {
        over = true;
        chunks.length = 0;
      }
      if (size > limit + DISCARD_LIMIT) finish(tooLarge(size, limit, true));
      else if (!over) chunks.push(chunk);
    };
    const onEnd = (): void => {
      if (over) finish(tooLarge(size, limit));
      else finish(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => finish(err);
    const onClose = (): void => finish(new Error('the client closed the connection before sending the whole body'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

function tooLarge(size: number, limit: number, atLeast = false): RequestError {
  return new RequestError('payload_too_large', `request body of ${atLeast ? 'more than ' : ''}${size} bytes is over the limit of ${limit} bytes (--max-body-bytes)`);
}

export interface Answer {
  readonly status: number;
  readonly body: Buffer | string;
  readonly contentType: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export function jsonAnswer(status: number, value: unknown, headers?: Readonly<Record<string, string>>): Answer {
  return { status, body: `${JSON.stringify(value)}\n`, contentType: 'application/json', ...(headers ? { headers } : {}) };
}

export function errorAnswer(err: RequestError): Answer {
  return jsonAnswer(err.status, { error: err.message }, err.headers);
}

/**
 * Writes the answer. `close` asks the client to drop the connection afterwards: while draining, and
 * after a body was refused part-way (what is left of it is discarded, not parsed as a next request).
 */
export function writeAnswer(req: IncomingMessage, res: ServerResponse, answer: Answer, close: boolean): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  const headers: Record<string, string | number> = {
    'Content-Type': answer.contentType,
    'Content-Length': Buffer.byteLength(answer.body),
    ...answer.headers,
  };
  if (close) headers.Connection = 'close';
  res.writeHead(answer.status, headers);
  res.end(answer.body);
  if (close && !req.complete) {
    // Let the client finish sending so that it reads this answer instead of a reset connection.
    req.resume();
  }
}
