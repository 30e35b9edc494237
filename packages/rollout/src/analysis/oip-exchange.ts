// One HTTP exchange of Ferry's paired synthetic load with a model server (node:http or https over
// a keep-alive agent), timed from the request's creation to its last body byte, and what an Open
// Inference Protocol v2 answer says: the model output the quality checks compare.
import { request as httpRequest, type Agent as HttpAgent, type ClientRequest } from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import { performance } from 'node:perf_hooks';
import type { PairedOutput } from '../judge/types.js';

/** Answers larger than this are not read: no model output of a batch of one is this big. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export type ExchangeResult =
  | { readonly kind: 'response'; readonly status: number; readonly body: Buffer; readonly latencyMs: number }
  | { readonly kind: 'timeout'; readonly latencyMs: number }
  | { readonly kind: 'network'; readonly error: string; readonly latencyMs: number }
  /** Stopped by the caller (the source closed): neither a success nor an error of the version. */
  | { readonly kind: 'cancelled' };

export interface Agents {
  readonly http: HttpAgent;
  readonly https: HttpsAgent;
}

export interface Exchange {
  readonly done: Promise<ExchangeResult>;
  cancel(): void;
}

/** Sends one request; never rejects. */
export function exchange(url: URL, method: string, headers: Readonly<Record<string, string>>, body: string | Buffer | undefined, agents: Agents, timeoutMs: number): Exchange {
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;
  let req: ClientRequest | undefined;
  let cancelled = false;
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<ExchangeResult>((resolve) => {
    let settled = false;
    const finish = (r: ExchangeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const agent = url.protocol === 'https:' ? agents.https : agents.http;
    const allHeaders: Record<string, string | number> = { ...headers };
    if (body !== undefined) allHeaders['content-length'] = Buffer.byteLength(body);
    req = send(url, { method, headers: allHeaders, agent }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          req?.destroy();
          finish({ kind: 'network', error: `answer larger than ${MAX_BODY_BYTES} bytes`, latencyMs: elapsed() });
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => finish({ kind: 'response', status: res.statusCode ?? 0, body: Buffer.concat(chunks), latencyMs: elapsed() }));
      res.on('error', (err) => finish(cancelled ? { kind: 'cancelled' } : { kind: 'network', error: err.message, latencyMs: elapsed() }));
      // A connection closed mid-answer: after 'end' this does nothing, as finish() runs once.
      res.on('close', () => {
        if (!res.complete) finish(cancelled ? { kind: 'cancelled' } : { kind: 'network', error: 'the connection closed before the answer ended', latencyMs: elapsed() });
      });
    });
    req.on('error', (err) => finish(cancelled ? { kind: 'cancelled' } : { kind: 'network', error: err.message, latencyMs: elapsed() }));
    // The whole exchange, not socket idleness: a server trickling bytes must still time out.
    timer = setTimeout(() => {
      finish({ kind: 'timeout', latencyMs: elapsed() });
      req?.destroy();
    }, timeoutMs);
    req.end(body);
  });
  return {
    done,
    cancel(): void {
      cancelled = true;
      req?.destroy();
    },
  };
}

const FLOAT_TYPES = new Set(['FP16', 'BF16', 'FP32', 'FP64']);

/**
 * The model output of an OIP v2 answer (`outputs[0]`): for a floating-point output, the first row's
 * scores (shape [1, k]: a score vector; shape [1]: one probability, a vector of one); for an integer,
 * boolean or string output, the first value as a label. Else why the answer is not usable.
 */
export function oipOutput(body: Buffer): { readonly output: PairedOutput } | { readonly error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { error: 'the answer is not JSON' };
  }
  if (parsed === null || typeof parsed !== 'object') return { error: 'the answer is not a JSON object' };
  const answer = parsed as { error?: unknown; outputs?: unknown };
  if (typeof answer.error === 'string') return { error: `the server answered an error: ${answer.error}` };
  if (!Array.isArray(answer.outputs) || answer.outputs.length === 0) return { error: 'the answer has no outputs' };
  const first = answer.outputs[0] as { datatype?: unknown; shape?: unknown; data?: unknown };
  if (!Array.isArray(first.data) || first.data.length === 0) return { error: 'outputs[0] has no data' };
  const shape = Array.isArray(first.shape) ? (first.shape as unknown[]) : [first.data.length];
  const datatype = typeof first.datatype === 'string' ? first.datatype.toUpperCase() : '';
  if (FLOAT_TYPES.has(datatype)) {
    // The first dimension is the batch; a row is the product of the others.
    const perRow = shape.slice(1).reduce<number>((a, d) => a * (typeof d === 'number' && d > 0 ? d : 1), 1);
    const row = first.data.slice(0, perRow);
    if (!row.every((v) => typeof v === 'number' && Number.isFinite(v))) return { error: 'outputs[0] has scores that are not finite numbers' };
    return { output: row as number[] };
  }
  const label = first.data[0];
  if (typeof label === 'number' || typeof label === 'string') return { output: label };
  if (typeof label === 'boolean') return { output: String(label) };
  return { error: `outputs[0] (${datatype || 'no datatype'}) holds neither scores nor a label` };
}
