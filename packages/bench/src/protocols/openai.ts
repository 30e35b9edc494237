// OpenAI-compatible text generation: POST /v1/completions or /v1/chat/completions with
// `stream: true` and `stream_options.include_usage`, read as server-sent events. Each content
// chunk is timed on arrival; token counts come from `usage` when the server sends it.
import { SseParser } from './sse.js';
import { isObject, jsonBody, type ProtocolAdapter, type StreamObserver, type StreamOutcome } from './types.js';

export interface OpenAiSpec {
  readonly kind: 'openai-completions' | 'openai-chat';
  readonly model: string;
  readonly maxTokens?: number;
  readonly stream?: boolean;
  readonly extraBody?: Readonly<Record<string, unknown>>;
  readonly path?: string;
}

export function openAiProtocol(spec: OpenAiSpec): ProtocolAdapter {
  const chat = spec.kind === 'openai-chat';
  const stream = spec.stream ?? true;
  const path = spec.path ?? (chat ? '/v1/chat/completions' : '/v1/completions');
  return {
    name: spec.kind,
    streaming: true,
    readyPath: '/v1/models',
    readsBody: true,
    build(payload) {
      const fields: Record<string, unknown> = isObject(payload) ? { ...payload } : {};
      if (typeof payload === 'string') {
        if (chat) fields['messages'] = [{ role: 'user', content: payload }];
        else fields['prompt'] = payload;
      }
      if (chat && !Array.isArray(fields['messages'])) {
        if (typeof fields['prompt'] === 'string') {
          fields['messages'] = [{ role: 'user', content: fields['prompt'] }];
          delete fields['prompt'];
        } else throw new TypeError('a chat payload needs `messages` (or a `prompt` string)');
      }
      if (!chat && fields['prompt'] === undefined) throw new TypeError('a completions payload needs `prompt`');
      const body: Record<string, unknown> = { model: spec.model, ...(spec.maxTokens !== undefined ? { max_tokens: spec.maxTokens } : {}), ...spec.extraBody, ...fields };
      body['stream'] = stream;
      if (stream) body['stream_options'] = { include_usage: true, ...(isObject(body['stream_options']) ? body['stream_options'] : {}) };
      return { method: 'POST', path, ...jsonBody(body) };
    },
    openStream: () => new OpenAiStreamObserver(chat),
  };
}

/** Generated text of one choice in a chunk: `text` (completions) or `delta.content` / `message.content` (chat). */
function contentOf(choice: unknown): string {
  if (!isObject(choice)) return '';
  if (typeof choice['text'] === 'string') return choice['text'];
  for (const key of ['delta', 'message']) {
    const d = choice[key];
    if (isObject(d)) {
      let s = typeof d['content'] === 'string' ? d['content'] : '';
      if (typeof d['reasoning_content'] === 'string') s += d['reasoning_content'];
      return s;
    }
  }
  return '';
}

export class OpenAiStreamObserver implements StreamObserver {
  private readonly sse = new SseParser();
  private readonly contentTimes: number[] = [];
  private readonly charsPerChunk: number[] = [];
  /** Cumulative completion tokens reported on content chunks (continuous usage stats). */
  private readonly cumulativeTokens: (number | undefined)[] = [];
  private completionTokens: number | undefined;
  private promptTokens: number | undefined;
  private error: string | undefined;
  private sawSse = false;
  private raw: Buffer[] = [];
  private done = false;

  constructor(private readonly chat: boolean) {}

  onData(chunk: Buffer, atMs: number): void {
    if (!this.sawSse && this.raw.length < 1024) this.raw.push(chunk);
    for (const ev of this.sse.push(chunk, atMs)) this.onEvent(ev.data, ev.atMs);
  }

  private onEvent(data: string, atMs: number): void {
    this.sawSse = true;
    if (this.error !== undefined) return;
    if (data.trim() === '[DONE]') {
      this.done = true;
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      this.error = `an SSE event is not JSON: ${JSON.stringify(data.slice(0, 60))}`;
      return;
    }
    this.onMessage(msg, atMs);
  }

  private onMessage(msg: unknown, atMs: number): void {
    if (!isObject(msg)) {
      this.error = 'an SSE event is not a JSON object';
      return;
    }
    if (msg['error'] !== undefined) {
      this.error = `the server sent an error event: ${JSON.stringify(msg['error']).slice(0, 200)}`;
      return;
    }
    const usage = msg['usage'];
    let cumulative: number | undefined;
    if (isObject(usage)) {
      if (typeof usage['completion_tokens'] === 'number') {
        this.completionTokens = usage['completion_tokens'];
        cumulative = usage['completion_tokens'];
      }
      if (typeof usage['prompt_tokens'] === 'number') this.promptTokens = usage['prompt_tokens'];
    }
    const choices = msg['choices'];
    if (!Array.isArray(choices)) return;
    let text = '';
    for (const c of choices) text += contentOf(c);
    if (text.length === 0) return;
    this.contentTimes.push(atMs);
    this.charsPerChunk.push(text.length);
    this.cumulativeTokens.push(cumulative);
  }

  finish(atMs: number): StreamOutcome {
    for (const ev of this.sse.flush(atMs)) this.onEvent(ev.data, ev.atMs);
    if (!this.sawSse && this.error === undefined) {
      // Not a stream (stream: false, or a server that ignores it): one JSON response, one "chunk".
      const body = Buffer.concat(this.raw).toString('utf8');
      try {
        this.onMessage(JSON.parse(body), atMs);
      } catch {
        this.error = `the response is neither an SSE stream nor JSON (${JSON.stringify(body.slice(0, 60))})`;
      }
    } else if (this.sawSse && !this.done && this.error === undefined) {
      this.error = 'the stream ended without `data: [DONE]`';
    }
    if (this.error === undefined && this.contentTimes.length === 0 && (this.completionTokens ?? 0) > 0) {
      this.error = `the server counted ${this.completionTokens} completion tokens but streamed no ${this.chat ? 'delta content' : 'text'}`;
    }
    const perChunk = tokensPerChunk(this.cumulativeTokens);
    return {
      ...(this.error !== undefined ? { error: this.error } : {}),
      contentTimes: this.contentTimes,
      charsPerChunk: this.charsPerChunk,
      ...(perChunk ? { tokensPerChunk: perChunk } : {}),
      ...(this.completionTokens !== undefined ? { completionTokens: this.completionTokens } : {}),
      ...(this.promptTokens !== undefined ? { promptTokens: this.promptTokens } : {}),
    };
  }
}

/** Per-chunk token counts from cumulative usage on every content chunk, when the server sent it on all of them. */
function tokensPerChunk(cumulative: readonly (number | undefined)[]): number[] | undefined {
  if (cumulative.length === 0 || cumulative.some((c) => c === undefined)) return undefined;
  const out: number[] = [];
  let prev = 0;
  for (const c of cumulative as number[]) {
    if (c < prev) return undefined;
    out.push(c - prev);
    prev = c;
  }
  return out;
}
