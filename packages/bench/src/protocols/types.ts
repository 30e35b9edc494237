// What a serving protocol contributes to a load run: how a payload becomes an HTTP request, how a
// response is judged, and (for streaming LLM endpoints) how the stream is timed.
import type { ResponseHead } from '../http/response-parser.js';

/** A request before serialisation; the load generator adds Host and Content-Length. */
export interface HttpRequestSpec {
  readonly method: string;
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

/** Protocols by name, with their options: plain data, so they can be sent to worker threads. */
export type ProtocolSpec =
  | { readonly kind: 'oip-v2'; readonly model: string; readonly version?: string; readonly checkResponse?: boolean }
  | { readonly kind: 'kserve-v1'; readonly model: string; readonly version?: string; readonly checkResponse?: boolean }
  | { readonly kind: 'torchserve'; readonly model: string; readonly version?: string }
  | {
      readonly kind: 'openai-completions' | 'openai-chat';
      readonly model: string;
      /** max_tokens sent with every request unless the payload sets it. */
      readonly maxTokens?: number;
      /** Request an SSE stream (default true); without it only end-to-end latency is measured. */
      readonly stream?: boolean;
      /** Merged into every request body (for example `ignore_eos`, `temperature`). */
      readonly extraBody?: Readonly<Record<string, unknown>>;
      readonly path?: string;
    }
  | {
      readonly kind: 'http';
      readonly method?: string;
      /** May contain {{name}} placeholders filled from each payload object. */
      readonly path: string;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: string;
      /** Statuses that count as success (default: any 2xx). */
      readonly expectStatus?: readonly number[];
      readonly readyPath?: string;
    };

/** What one streamed response showed, for the LLM metrics. Times are monotonic ms. */
export interface StreamOutcome {
  /** Set when the stream was malformed or carried an error event. */
  readonly error?: string;
  /** Arrival time of every chunk that carried generated text, in order. */
  readonly contentTimes: readonly number[];
  /** Tokens carried by each of those chunks, when the server reported them per chunk (continuous usage). */
  readonly tokensPerChunk?: readonly number[];
  /** Characters of generated text per content chunk (used to share out `usage` tokens). */
  readonly charsPerChunk: readonly number[];
  /** `usage.completion_tokens` of the final usage chunk, when sent. */
  readonly completionTokens?: number;
  readonly promptTokens?: number;
}

export interface StreamObserver {
  onData(chunk: Buffer, atMs: number): void;
  finish(atMs: number): StreamOutcome;
}

export interface ProtocolAdapter {
  readonly name: string;
  readonly streaming: boolean;
  /** GET path that answers 2xx once the server can serve (undefined: none known). */
  readonly readyPath: string | undefined;
  /** Whether success bodies are read and checked (a CPU cost at very high rates). */
  readonly readsBody: boolean;
  build(payload: unknown, index: number): HttpRequestSpec;
  /** Judges a complete 2xx response: undefined when it is what the protocol promises, else why not. */
  check?(head: ResponseHead, body: Buffer): string | undefined;
  /** Statuses that count as success, when not every 2xx does. */
  readonly successStatuses?: readonly number[];
  openStream?(): StreamObserver;
}

export function jsonBody(value: unknown): { headers: Record<string, string>; body: string } {
  return { headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}

export function parseJsonObject(body: Buffer): { value?: Record<string, unknown>; error?: string } {
  try {
    const value = JSON.parse(body.toString('utf8')) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { error: 'the response body is not a JSON object' };
    return { value: value as Record<string, unknown> };
  } catch {
    return { error: `the response body is not JSON (${JSON.stringify(body.subarray(0, 60).toString('utf8'))})` };
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
