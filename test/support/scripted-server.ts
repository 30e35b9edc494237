// A test HTTP server whose behaviour is known exactly, run in its own process (so it never shares an
// event loop with the load generator): fixed and random service times that are never shorter than
// asked, an injected stall, error rates, connection resets, malformed responses, an OIP v2 model and
// a scripted OpenAI SSE stream with known chunk timings. It reports what it saw on /__stats.
//
//   node test/support/scripted-server.ts [port]     prints {"port":N} on stdout once listening
//
// Routes (query parameters in brackets, times in ms):
//   GET  /                         200 "ok" at once (the trivial server for throughput)
//   ANY  /fixed[?ms=20]            200 after exactly ms (never less)
//   ANY  /random[?mean=20&min=0]   200 after min + exponential(mean − min)
//   ANY  /stalling[?ms=5]          200 after ms, except that nothing is answered during a stall armed
//                                  with POST /__stall?after=A&duration=D (held until the stall ends)
//   ANY  /errors[?every=10&status=500&ms=0]  every n-th request answers `status`, the rest 200
//   ANY  /fail-after[?ms=1000&status=500]  200 until ms after the first request on the route, then status
//   ANY  /reset                    destroys the connection without answering
//   ANY  /garbage                  answers bytes that are not HTTP
//   ANY  /status/<code>            answers that status
//   POST /v1/completions, /v1/chat/completions [?ttft=50&itl=20&tokens=10&perchunk=1&usage=1]
//                                  an SSE stream: first content chunk at ttft, then one every itl,
//                                  `perchunk` tokens per chunk, a usage chunk, then data: [DONE];
//                                  with bunched=1 every chunk goes out in one write at ttft (a buffering proxy)
//   GET  /v2/health/ready, POST /v2/models/<m>/infer   a tiny Open Inference Protocol v2 model (echo);
//                                  the model named `broken` answers 200 without `outputs`
//   GET  /__stats                  {requests, inFlight, maxInFlight, stalls:[{start,end}], arrivals}, monotonic ms
//   POST /__reset                  zeroes the counters
import { spawn } from 'node:child_process';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

export interface ScriptedServerStats {
  readonly requests: number;
  readonly inFlight: number;
  readonly maxInFlight: number;
  readonly stalls: readonly { readonly start: number; readonly end: number }[];
  /** Arrival times (monotonic ms) of up to 100,000 requests since the last reset. */
  readonly arrivals: readonly number[];
}

export interface ScriptedServer {
  readonly url: string;
  readonly pid: number;
  stats(): Promise<ScriptedServerStats>;
  reset(): Promise<void>;
  /** Arms a stall starting `afterMs` from now; returns its start and end on the monotonic clock. */
  stall(afterMs: number, durationMs: number): Promise<{ start: number; end: number }>;
  close(): Promise<void>;
}

/** Starts the server in a child process on a free loopback port. */
export async function startScriptedServer(): Promise<ScriptedServer> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the scripted server exited (${code}) before listening`)));
  });
  const { port, pid } = JSON.parse(first) as { port: number; pid: number };
  const url = `http://127.0.0.1:${port}`;
  const call = async (path: string, method = 'GET'): Promise<unknown> => {
    const res = await fetch(`${url}${path}`, { method });
    return res.json();
  };
  return {
    url,
    pid,
    stats: async () => (await call('/__stats')) as ScriptedServerStats,
    reset: async () => {
      await call('/__reset', 'POST');
    },
    stall: async (afterMs, durationMs) => (await call(`/__stall?after=${afterMs}&duration=${durationMs}`, 'POST')) as { start: number; end: number },
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function serve(): void {
  // The first performance.now() in a process loads it lazily (about a millisecond), so the offset is
  // taken from the tightest of several bracketed readings once both clocks are warm, as the load
  // generator's clock does; a one-shot offset made the "20 ms" service time about 21.4 ms.
  performance.now();
  process.hrtime.bigint();
  let OFFSET = 0;
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 25; i++) {
    const before = performance.now();
    const hr = Number(process.hrtime.bigint()) / 1e6;
    const after = performance.now();
    if (after - before < best) {
      best = after - before;
      OFFSET = hr - (before + after) / 2;
    }
  }
  /** System monotonic clock in ms (the load generator reads the same clock). */
  const now = (): number => performance.now() + OFFSET;

  // ---- a precise timer: a helper thread sleeps in Atomics.wait to the earliest deadline and wakes this
  // event loop by message. Node's own timers fire up to ~1 ms late and can fire early, which would blur
  // the "known" service time the tests rely on.
  const shared = new SharedArrayBuffer(16);
  const seqCell = new Int32Array(shared, 0, 2);
  const dueCell = new Float64Array(shared, 8, 1);
  dueCell[0] = -1;
  const timerThread = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const i32 = new Int32Array(workerData, 0, 2), f64 = new Float64Array(workerData, 8, 1);
     const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
     for (;;) { const seq = Atomics.load(i32, 0); const due = f64[0];
       if (due < 0) { Atomics.wait(i32, 0, seq); continue; }
       const wait = due - nowMs();
       if (wait > 0) { Atomics.wait(i32, 0, seq, wait); continue; }
       parentPort.postMessage(seq); Atomics.wait(i32, 0, seq); }`,
    { eval: true, workerData: shared },
  );
  timerThread.unref();
  const deadlines: { at: number; fn: () => void }[] = [];
  function arm(): void {
    dueCell[0] = deadlines.length > 0 ? deadlines[0]!.at : -1;
    Atomics.add(seqCell, 0, 1);
    Atomics.notify(seqCell, 0);
  }
  function runDue(): void {
    const t = now();
    while (deadlines.length > 0 && deadlines[0]!.at <= t) deadlines.shift()!.fn();
    arm();
  }
  timerThread.on('message', runDue);
  /** Runs fn at monotonic time `at` (never before). */
  function at(when: number, fn: () => void): void {
    if (when <= now()) {
      fn();
      return;
    }
    let i = deadlines.length;
    while (i > 0 && deadlines[i - 1]!.at > when) i--;
    deadlines.splice(i, 0, { at: when, fn });
    if (i === 0) arm();
  }

  // ---- state
  let requests = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let errorCounter = 0;
  let failAfterStart: number | undefined;
  /** Arrival times of the last requests (monotonic ms), for checks on the offered schedule. */
  const arrivals: number[] = [];
  const stalls: { start: number; end: number }[] = [];

  function stallEndFor(t: number): number | undefined {
    for (const s of stalls) if (t >= s.start && t < s.end) return s.end;
    return undefined;
  }

  function num(q: URLSearchParams, name: string, fallback: number): number {
    const v = q.get(name);
    return v === null ? fallback : Number(v);
  }

  function reply(res: http.ServerResponse, status: number, body: string, type = 'text/plain'): void {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  function sse(res: http.ServerResponse, start: number, q: URLSearchParams, chat: boolean): void {
    const ttft = num(q, 'ttft', 50);
    const itl = num(q, 'itl', 20);
    const tokens = num(q, 'tokens', 10);
    const perChunk = num(q, 'perchunk', 1);
    const usage = q.get('usage') !== '0';
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const chunks = Math.ceil(tokens / perChunk);
    const send = (obj: unknown): void => {
      res.write(`data: ${JSON.stringify(obj)}\n\n`);
    };
    if (chat) send({ choices: [{ index: 0, delta: { role: 'assistant' } }] }); // role-only: not a token
    res.write(': keep-alive ping\n\n');
    if (q.get('bunched') === '1') {
      at(start + ttft, () => {
        const events = Array.from({ length: chunks }, (_, i) => {
          const text = 'tok '.repeat(Math.min(perChunk, tokens - i * perChunk));
          return `data: ${JSON.stringify({ choices: [chat ? { index: 0, delta: { content: text } } : { index: 0, text }] })}\n\n`;
        });
        const tail = usage ? `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 7, completion_tokens: tokens, total_tokens: tokens + 7 } })}\n\n` : '';
        res.end(`${events.join('')}${tail}data: [DONE]\n\n`);
      });
      return;
    }
    for (let i = 0; i < chunks; i++) {
      at(start + ttft + i * itl, () => {
        const text = 'tok '.repeat(Math.min(perChunk, tokens - i * perChunk));
        send({ choices: [chat ? { index: 0, delta: { content: text } } : { index: 0, text }] });
        if (i === chunks - 1) {
          if (usage) send({ choices: [], usage: { prompt_tokens: 7, completion_tokens: tokens, total_tokens: tokens + 7 } });
          res.end('data: [DONE]\n\n');
        }
      });
    }
  }

  const server = http.createServer((req, res) => {
    const arrived = now();
    const url = new URL(req.url ?? '/', 'http://x');
    const q = url.searchParams;
    const path = url.pathname;
    if (path === '/__stats') {
      reply(res, 200, JSON.stringify({ requests, inFlight, maxInFlight, stalls, arrivals }), 'application/json');
      return;
    }
    requests++;
    if (arrivals.length < 100_000) arrivals.push(arrived);
    inFlight++;
    if (inFlight > maxInFlight) maxInFlight = inFlight;
    res.once('close', () => inFlight--);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (path === '/__reset') {
        requests = 0;
        maxInFlight = inFlight;
        errorCounter = 0;
        failAfterStart = undefined;
        stalls.length = 0;
        arrivals.length = 0;
        reply(res, 200, '{}', 'application/json');
      } else if (path === '/__stall') {
        const start = now() + num(q, 'after', 0);
        stalls.push({ start, end: start + num(q, 'duration', 1000) });
        reply(res, 200, JSON.stringify(stalls.at(-1)), 'application/json');
      } else if (path === '/') {
        reply(res, 200, 'ok');
      } else if (path === '/fixed') {
        at(arrived + num(q, 'ms', 20), () => reply(res, 200, 'ok'));
      } else if (path === '/random') {
        const min = num(q, 'min', 0);
        const mean = num(q, 'mean', 20);
        at(arrived + min - Math.log(1 - Math.random()) * (mean - min), () => reply(res, 200, 'ok'));
      } else if (path === '/stalling') {
        const due = arrived + num(q, 'ms', 5);
        at(stallEndFor(due) ?? stallEndFor(arrived) ?? due, () => reply(res, 200, 'ok'));
      } else if (path === '/errors') {
        const every = num(q, 'every', 10);
        const fail = ++errorCounter % every === 0;
        at(arrived + num(q, 'ms', 0), () => reply(res, fail ? num(q, 'status', 500) : 200, fail ? 'injected failure' : 'ok'));
      } else if (path === '/fail-after') {
        // 200 until `ms` after the first request on this route (since the last /__reset), then `status`.
        failAfterStart ??= arrived;
        const fail = arrived - failAfterStart > num(q, 'ms', 1000);
        reply(res, fail ? num(q, 'status', 500) : 200, fail ? 'failing from now on' : 'ok');
      } else if (path === '/reset') {
        req.socket.destroy();
      } else if (path === '/garbage') {
        req.socket.end('SPROCKETS 9000 what\r\n\r\n');
      } else if (path.startsWith('/status/')) {
        reply(res, Number(path.slice('/status/'.length)) || 500, 'as asked');
      } else if (path === '/v1/completions' || path === '/v1/chat/completions') {
        sse(res, arrived, q, path.includes('chat'));
      } else if (path === '/v2/health/ready') {
        reply(res, 200, '');
      } else if (path.startsWith('/v2/models/') && path.endsWith('/infer')) {
        let body: { inputs?: { name: string; shape: number[]; datatype: string; data: number[] }[] };
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
        } catch {
          reply(res, 400, JSON.stringify({ error: 'body is not JSON' }), 'application/json');
          return;
        }
        if (!Array.isArray(body.inputs)) {
          reply(res, 400, JSON.stringify({ error: 'no inputs' }), 'application/json');
          return;
        }
        const outputs = body.inputs.map((t) => ({ name: `${t.name}_out`, shape: t.shape, datatype: t.datatype, data: t.data }));
        // The model named "broken" answers 200 without outputs: a protocol error for the client to catch.
        const model = path.split('/')[3];
        reply(res, 200, JSON.stringify(model === 'broken' ? { model_name: model } : { model_name: model, outputs }), 'application/json');
      } else {
        reply(res, 404, 'no such route');
      }
    });
  });
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 130_000;
  server.maxRequestsPerSocket = 0;

  const port = Number(process.argv[2] ?? 0);
  server.listen(port, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : port, pid: process.pid })}\n`);
  });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      server.closeAllConnections();
      server.close(() => process.exit(0));
      setTimeout(() => process.exit(0), 1000).unref();
    });
  }
}

if (import.meta.main) serve();
