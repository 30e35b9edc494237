// One HTTP exchange with a registry, streaming in both directions. An idle timeout (no byte sent or
// received for `timeoutMs`) catches a stalled upload as well as a server that never answers.
import { request as httpRequest } from 'node:http';
import type { Agent as HttpAgent, IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform } from 'node:stream';
import type { Readable, TransformCallback } from 'node:stream';

export class HttpTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(what: string, timeoutMs: number) {
    super(`${what}: no bytes sent or received for ${timeoutMs} ms`);
    this.name = 'HttpTimeoutError';
  }
}

export interface HttpExchange {
  method: string;
  url: URL;
  headers?: OutgoingHttpHeaders;
  /** A Buffer, or a stream whose length is in the content-length header. */
  body?: Buffer | Readable;
  timeoutMs: number;
  agent: HttpAgent;
  signal?: AbortSignal;
  /** Called as request body bytes are handed to the socket. */
  onBodyBytes?: (bytes: number) => void;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: IncomingMessage;
  header(name: string): string | undefined;
  /** The body as text, at most `limit` bytes (the rest is discarded). */
  text(limit?: number): Promise<string>;
  /** Reads and discards the body so the connection can be reused. */
  drain(): Promise<void>;
}

class Counter extends Transform {
  constructor(private readonly onBytes: (bytes: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.onBytes(chunk.length);
    callback(null, chunk);
  }
}

function wrap(response: IncomingMessage): HttpResponse {
  return {
    status: response.statusCode ?? 0,
    headers: response.headers,
    body: response,
    header(name) {
      const value = response.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    async text(limit = 64 * 1024) {
      const chunks: Buffer[] = [];
      let length = 0;
      for await (const chunk of response as AsyncIterable<Buffer>) {
        if (length < limit) chunks.push(chunk.subarray(0, limit - length));
        length += chunk.length;
      }
      return Buffer.concat(chunks).toString('utf8');
    },
    async drain() {
      for await (const _chunk of response as AsyncIterable<Buffer>) {
        // discarded
      }
    },
  };
}

/** Sends one request; resolves with the response headers, whatever the status. */
export function exchange(options: HttpExchange): Promise<HttpResponse> {
  const { method, url, body, timeoutMs, agent, signal } = options;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(url, { method, headers: options.headers ?? {}, agent, ...(signal ? { signal } : {}) });
    let bodyDone = body === undefined || Buffer.isBuffer(body);
    request.setTimeout(timeoutMs, () => request.destroy(new HttpTimeoutError(`${method} ${url.pathname}`, timeoutMs)));
    // `on`, not `once`: a timeout after the answer can still raise an error that must not go unheard.
    request.on('error', (error) => {
      if (body !== undefined && !Buffer.isBuffer(body)) body.destroy();
      reject(error);
    });
    request.once('response', (response) => {
      if (!bodyDone && body !== undefined && !Buffer.isBuffer(body)) {
        // The server answered before taking the whole body (an error, usually): stop sending, and
        // close the connection once the answer is read, since it cannot carry another request.
        body.unpipe();
        body.destroy();
        response.once('end', () => request.destroy());
      }
      resolve(wrap(response));
    });
    if (body === undefined) {
      request.end();
    } else if (Buffer.isBuffer(body)) {
      options.onBodyBytes?.(body.length);
      request.end(body);
    } else {
      body.once('error', (error) => request.destroy(error));
      const counted = options.onBodyBytes ? body.pipe(new Counter(options.onBodyBytes)) : body;
      counted.once('end', () => {
        bodyDone = true;
      });
      counted.pipe(request);
    }
  });
}
