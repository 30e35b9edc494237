// The load generator's pieces through real inputs: arrival schedules, the HTTP response parser,
// the SSE parser, token accounting of streamed chunks, t intervals, payloads from a signature.
import { describe, expect, it } from 'vitest';
import { arrivalSequence, chunkTokens, createProtocol, shareOf, signaturePayloads, SseParser, studentTQuantile, tInterval, type ArrivalSpec } from '@ferry/bench';
import { ResponseParser, type ResponseHead } from '../../packages/bench/src/http/response-parser.ts';

function gaps(spec: ArrivalSpec, n: number): number[] {
  const seq = arrivalSequence(spec);
  let prev = 0;
  return Array.from({ length: n }, () => {
    const t = seq.next();
    const g = t - prev;
    prev = t;
    return g;
  });
}

function cv(xs: readonly number[]): number {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1));
  return sd / mean;
}

describe('arrival schedules', () => {
  it.each([
    { process: 'constant', burstiness: undefined, cv: 0 },
    { process: 'poisson', burstiness: undefined, cv: 1 },
    { process: 'gamma', burstiness: 1, cv: 1 },
    { process: 'gamma', burstiness: 0.25, cv: 2 },
    { process: 'gamma', burstiness: 4, cv: 0.5 },
  ] as const)('$process (burstiness $burstiness): mean gap 1/rate, CV $cv', ({ process, burstiness, cv: expected }) => {
    const g = gaps({ process, rate: 200, seed: 7, ...(burstiness !== undefined ? { burstiness } : {}) }, 40_000);
    const mean = g.slice(1).reduce((a, b) => a + b, 0) / (g.length - 1);
    expect(mean).toBeCloseTo(5, 0);
    expect(Math.abs(mean - 5) / 5).toBeLessThan(0.03);
    expect(cv(g.slice(1))).toBeCloseTo(expected, 1);
  });

  it('is reproducible from its seed and differs across seeds', () => {
    const a = gaps({ process: 'poisson', rate: 100, seed: 1 }, 50);
    expect(gaps({ process: 'poisson', rate: 100, seed: 1 }, 50)).toEqual(a);
    expect(gaps({ process: 'poisson', rate: 100, seed: 2 }, 50)).not.toEqual(a);
  });

  it('threads dealt every W-th arrival together send exactly the one schedule', () => {
    const spec: ArrivalSpec = { process: 'gamma', rate: 1000, burstiness: 0.5, seed: 3 };
    const whole = arrivalSequence(spec);
    const all = Array.from({ length: 3000 }, () => whole.next());
    const parts = [0, 1, 2].map((i) => shareOf(arrivalSequence(spec), i, 3));
    const dealt: number[] = [];
    for (let k = 0; k < 1000; k++) for (const p of parts) dealt.push(p.next());
    expect(dealt).toEqual(all);
  });

  it('rejects rates and shapes that are not positive', () => {
    expect(() => arrivalSequence({ process: 'constant', rate: 0 })).toThrow(/rate/);
    expect(() => arrivalSequence({ process: 'gamma', rate: 10, burstiness: -1 })).toThrow(/burstiness/);
  });
});

interface Seen {
  head?: ResponseHead;
  body: string;
  completeAt?: number;
}

function parseAll(pieces: readonly string[]): Seen {
  const p = new ResponseParser();
  const seen: Seen = { body: '' };
  p.expect({ onHead: (h) => (seen.head = h), onBody: (c) => (seen.body += c.toString('latin1')), onComplete: (t) => (seen.completeAt = t) });
  pieces.forEach((piece, i) => p.feed(Buffer.from(piece, 'latin1'), i));
  return seen;
}

describe('HTTP response parser', () => {
  const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nX-A: 2\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\n';
  it.each([
    { name: 'content-length in one piece', pieces: ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'], body: 'ok', status: 200 },
    { name: 'head split inside its terminator', pieces: ['HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r', '\nabc'], body: 'abc', status: 404 },
    { name: 'chunked, byte by byte', pieces: chunked.split(''), body: 'hello, world', status: 200 },
    { name: 'chunked in one piece', pieces: [chunked], body: 'hello, world', status: 200 },
    { name: '100 Continue before the response', pieces: ['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n'], body: '', status: 201 },
    { name: '204 has no body', pieces: ['HTTP/1.1 204 No Content\r\n\r\n'], body: '', status: 204 },
  ])('$name', ({ pieces, body, status }) => {
    const seen = parseAll(pieces);
    expect(seen.head?.status).toBe(status);
    expect(seen.body).toBe(body);
    expect(seen.completeAt).toBe(pieces.length - 1);
  });

  it('joins repeated headers and lower-cases names', () => {
    expect(parseAll([chunked]).head?.headers['x-a']).toBe('1, 2');
  });

  it.each([
    ['a bad status line', ['SPROCKETS 9000 what\r\n\r\n'], /status line/],
    ['a bad chunk size', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'], /chunk size/],
    ['bytes after the response', ['HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxy'], /no request outstanding/],
  ])('rejects %s', (_name, pieces, message) => {
    expect(() => parseAll(pieces)).toThrow(message);
  });

  it('completes a close-delimited body at the end of the connection and flags a truncated one', () => {
    const p = new ResponseParser();
    let body = '';
    let done = false;
    p.expect({ onHead: () => {}, onBody: (c) => (body += c.toString()), onComplete: () => (done = true) });
    p.feed(Buffer.from('HTTP/1.0 200 OK\r\n\r\nuntil close'), 0);
    expect(p.end(1)).toBe('complete');
    expect([body, done]).toEqual(['until close', true]);
    p.expect({ onHead: () => {}, onBody: () => {}, onComplete: () => {} });
    p.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'), 0);
    expect(p.end(1)).toBe('truncated');
  });
});

describe('SSE and token accounting', () => {
  it('splits events across arbitrary byte boundaries, skips pings, keeps the time of the completing bytes', () => {
    const text = ': ping\n\ndata: {"a":1}\n\nevent: x\ndata: line1\ndata: line2\r\n\r\ndata: [DONE]\n\n';
    const parser = new SseParser();
    const events = [];
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i += 3) events.push(...parser.push(bytes.subarray(i, i + 3), i));
    events.push(...parser.flush(999));
    expect(events.map((e) => e.data)).toEqual(['{"a":1}', 'line1\nline2', '[DONE]']);
    expect(events[1]!.event).toBe('x');
    // The event ends with the byte before `end`; it completes in the 3-byte piece holding that byte.
    const end = text.indexOf('{"a":1}\n\n') + 9;
    expect(events[0]!.atMs).toBe(Math.floor((end - 1) / 3) * 3);
  });

  it.each([
    { name: 'one token per chunk when usage matches', outcome: { contentTimes: [1, 2, 3], charsPerChunk: [4, 4, 4], completionTokens: 3 }, tokens: [1, 1, 1] },
    { name: 'no usage: one per chunk', outcome: { contentTimes: [1, 2], charsPerChunk: [9, 1] }, tokens: [1, 1] },
    { name: 'usage shared out by characters', outcome: { contentTimes: [1, 2, 3], charsPerChunk: [8, 4, 4], completionTokens: 8 }, tokens: [4, 2, 2] },
    { name: 'per-chunk counts from continuous usage win', outcome: { contentTimes: [1, 2], charsPerChunk: [1, 1], tokensPerChunk: [3, 5], completionTokens: 8 }, tokens: [3, 5] },
  ])('chunk tokens: $name', ({ outcome, tokens }) => {
    expect(chunkTokens(outcome)).toEqual(tokens);
  });

  it('an OpenAI stream: role-only chunk is no content, usage read, [DONE] required', () => {
    const proto = createProtocol({ kind: 'openai-chat', model: 'm', maxTokens: 16 });
    const req = proto.build('hi', 0);
    expect(JSON.parse(String(req.body))).toMatchObject({ model: 'm', max_tokens: 16, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
    const obs = proto.openStream!();
    obs.onData(Buffer.from('data: {"choices":[{"delta":{"role":"assistant"}}]}\n\n'), 1);
    obs.onData(Buffer.from('data: {"choices":[{"delta":{"content":"Hel"}}]}\n\ndata: {"choices":[{"delta":{"content":"lo"}}]}\n\n'), 5);
    obs.onData(Buffer.from('data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\ndata: [DONE]\n\n'), 9);
    const out = obs.finish(10);
    expect(out).toMatchObject({ contentTimes: [5, 5], completionTokens: 2, promptTokens: 3 });
    expect(out.error).toBeUndefined();
    const cut = proto.openStream!();
    cut.onData(Buffer.from('data: {"choices":[{"delta":{"content":"x"}}]}\n\n'), 1);
    expect(cut.finish(2).error).toMatch(/DONE/);
  });
});

describe('statistics and payloads', () => {
  it.each([
    [0.975, 1, 12.7062047],
    [0.975, 4, 2.7764451],
    [0.975, 30, 2.0422725],
    [0.995, 9, 3.2498355],
    [0.9, 2, 1.8856181],
  ])('t quantile p=%f df=%i is %f', (p, df, expected) => {
    expect(studentTQuantile(p, df)).toBeCloseTo(expected, 5);
  });

  it('t interval over repeats', () => {
    const ci = tInterval([10, 12, 11, 13, 9])!;
    expect(ci.mean).toBe(11);
    expect(ci.high - ci.mean).toBeCloseTo((2.7764451 * Math.sqrt(2.5)) / Math.sqrt(5), 5);
    expect(tInterval([1])).toBeUndefined();
  });

  it('generates OIP v2 and KServe v1 payloads from a signature, symbolic dims as batch 1', () => {
    const inputs = [
      { name: 'x', dtype: 'FLOAT', shape: ['batch', 3] },
      { name: 'ids', dtype: 'INT64', shape: [-1, 2] },
    ];
    const [oip] = signaturePayloads('oip-v2', { inputs, count: 1 }) as { inputs: { name: string; shape: number[]; datatype: string; data: unknown[] }[] }[];
    expect(oip!.inputs.map((t) => [t.name, t.datatype, t.shape, t.data.length])).toEqual([
      ['x', 'FP32', [1, 3], 3],
      ['ids', 'INT64', [1, 2], 2],
    ]);
    const [v1] = signaturePayloads('kserve-v1', { inputs: [inputs[0]!], count: 1, dims: { batch: 2 } }) as { instances: number[][] }[];
    expect(v1!.instances).toHaveLength(2);
    expect(v1!.instances[0]).toHaveLength(3);
    expect(() => createProtocol({ kind: 'oip-v2', model: 'm' }).build({ nope: 1 }, 0)).toThrow(/inputs/);
  });
});
