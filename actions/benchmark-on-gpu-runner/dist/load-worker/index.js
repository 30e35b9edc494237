import { createRequire as __WEBPACK_EXTERNAL_createRequire } from "module";
var __webpack_exports__ = {};

;// CONCATENATED MODULE: external "node:worker_threads"
const external_node_worker_threads_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:worker_threads");
;// CONCATENATED MODULE: external "node:perf_hooks"
const external_node_perf_hooks_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:perf_hooks");
;// CONCATENATED MODULE: external "node:fs"
const external_node_fs_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:fs");
;// CONCATENATED MODULE: ./packages/bench/dist/clock.js
// One monotonic clock for every thread and process on the machine (CLOCK_MONOTONIC, in ms), and a
// timer that fires within tens of microseconds of a deadline without spinning the event loop.


// performance.now() is per thread (each worker has its own origin); hrtime is the system monotonic
// clock. Anchoring one to the other once keeps reads cheap (no BigInt per call) and comparable.
// The anchor must be measured with care: the global `performance` is loaded lazily, so the first
// performance.now() in a thread takes about a millisecond, and the naive `hrtime − now()` read on a
// cold thread put each thread's clock 1–2 ms early (by a different amount in every thread), which
// showed up as ~1.5 ms of send lag. Warm both up, then keep the tightest bracketed reading.
function calibrateOffsetMs() {
    performance.now();
    process.hrtime.bigint();
    let best = Number.POSITIVE_INFINITY;
    let offset = 0;
    for (let i = 0; i < 25; i++) {
        const before = performance.now();
        const hr = Number(process.hrtime.bigint()) / 1e6;
        const after = performance.now();
        if (after - before < best) {
            best = after - before;
            offset = hr - (before + after) / 2;
        }
    }
    return offset;
}
const OFFSET_MS = calibrateOffsetMs();
/** Milliseconds on the system monotonic clock: the same value in every thread and every process. */
function monotonicMs() {
    return performance.now() + OFFSET_MS;
}
/**
 * Node's timers have whole-millisecond resolution and fire up to a millisecond or more late (and,
 * measured from the caller's clock, sometimes early), which would put that slop straight into
 * latency measured from the intended send time. This helper thread sleeps in `Atomics.wait` with a
 * fractional timeout and wakes the owning thread's event loop with a message at the deadline.
 */
const TIMER_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const i32 = new Int32Array(workerData, 0, 2);
const f64 = new Float64Array(workerData, 8, 1);
// The system monotonic clock itself (what monotonicMs() is anchored to), so this thread needs no
// offset of its own; a BigInt per wake-up is nothing on a thread that only sleeps.
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
for (;;) {
  const seq = Atomics.load(i32, 0);
  const due = f64[0];
  if (due === -2) break;
  if (due < 0) { Atomics.wait(i32, 0, seq); continue; }
  const wait = due - nowMs();
  if (wait > 0) { Atomics.wait(i32, 0, seq, wait); continue; }
  parentPort.postMessage(seq);
  Atomics.wait(i32, 0, seq);
}
`;
class PreciseTimer {
    worker;
    i32;
    f64;
    closed = false;
    /** `onFire` runs on this thread's event loop at (or just after) each armed deadline. */
    constructor(onFire) {
        const shared = new SharedArrayBuffer(16);
        this.i32 = new Int32Array(shared, 0, 2);
        this.f64 = new Float64Array(shared, 8, 1);
        this.f64[0] = -1;
        this.worker = new external_node_worker_threads_namespaceObject.Worker(TIMER_THREAD, { eval: true, workerData: shared });
        this.worker.on('message', (seq) => {
            // A fire for a deadline that has since been re-armed is stale.
            if (!this.closed && seq === Atomics.load(this.i32, 0))
                onFire();
        });
        this.worker.unref();
    }
    /** Fires once at `dueMs` (monotonicMs clock); replaces any deadline armed before. */
    armAt(dueMs) {
        this.set(dueMs);
    }
    cancel() {
        this.set(-1);
    }
    async close() {
        if (this.closed)
            return;
        this.closed = true;
        this.set(-2);
        await this.worker.terminate();
    }
    set(value) {
        if (this.closed && value !== -2)
            return;
        this.f64[0] = value;
        Atomics.add(this.i32, 0, 1);
        Atomics.notify(this.i32, 0);
    }
}
const CLOCK_TICKS_PER_SECOND = 100; // Linux USER_HZ, fixed at 100 on every mainstream kernel build
/**
 * CPU time (user + system) of the calling thread in ms, from /proc/thread-self/stat (10 ms
 * resolution); undefined where that file does not exist. process.cpuUsage() would give the whole
 * process, which cannot tell one saturated worker from several busy ones.
 */
function threadCpuMs() {
    try {
        const stat = (0,external_node_fs_namespaceObject.readFileSync)('/proc/thread-self/stat', 'latin1');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
        const ticks = Number(fields[11]) + Number(fields[12]);
        return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS_PER_SECOND : undefined;
    }
    catch {
        return undefined;
    }
}

;// CONCATENATED MODULE: ./packages/bench/dist/errors.js
// Failed requests by class, so a report can tell a refused connection from a slow server, a server
// error from a bad request, and a broken response from all of these.
const ERROR_CLASSES = (/* unused pure expression or super */ null && (['refused', 'reset', 'timeout', 'http4xx', 'http5xx', 'protocol', 'other']));
const ERROR_CLASS_TITLES = {
    refused: 'connection refused (nothing listening, or the backlog is full)',
    reset: 'connection reset or closed before the response was complete',
    timeout: 'no complete response within the request timeout (or connect timeout)',
    http4xx: 'HTTP 4xx: the server rejected the request',
    http5xx: 'HTTP 5xx: the server failed the request',
    protocol: 'malformed HTTP, or a response the protocol does not allow (bad JSON, missing outputs, broken SSE)',
    other: 'any other client-side failure',
};
function errors_emptyErrorCounts() {
    return { refused: 0, reset: 0, timeout: 0, http4xx: 0, http5xx: 0, protocol: 0, other: 0 };
}
function errors_addErrorCounts(into, from) {
    for (const c of ERROR_CLASSES)
        into[c] += from[c];
    return into;
}
function totalErrors(counts) {
    let n = 0;
    for (const c of ERROR_CLASSES)
        n += counts[c];
    return n;
}
/** Class of a socket-level failure (a Node system error code). */
function classifySocketError(err) {
    const code = err?.code;
    switch (code) {
        case 'ECONNREFUSED':
            return 'refused';
        case 'ECONNRESET':
        case 'EPIPE':
        case 'ECONNABORTED':
        case 'ERR_STREAM_DESTROYED':
            return 'reset';
        case 'ETIMEDOUT':
            return 'timeout';
        default:
            return 'other';
    }
}
/** Class of a complete HTTP response by status, or undefined for a success (2xx). */
function classifyStatus(status) {
    if (status >= 200 && status < 300)
        return undefined;
    if (status >= 400 && status < 500)
        return 'http4xx';
    if (status >= 500 && status < 600)
        return 'http5xx';
    return 'protocol';
}

;// CONCATENATED MODULE: external "node:net"
const external_node_net_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:net");
;// CONCATENATED MODULE: external "node:tls"
const external_node_tls_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:tls");
;// CONCATENATED MODULE: ./packages/bench/dist/http/response-parser.js
// An incremental HTTP/1.1 response parser for the load generator's own client: status line, headers,
// then a body delimited by Content-Length, chunked transfer coding or the connection closing.
// Body bytes are handed on as they arrive (with their arrival time), so SSE chunks can be timed.
class HttpParseError extends Error {
}
const MAX_HEAD_BYTES = 64 * 1024;
const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
class ResponseParser {
    sink;
    head;
    inBody = false;
    mode = 'length';
    remaining = 0;
    line;
    /** Whether the server said it will close the connection after this response. */
    closeAfter = false;
    /** Bytes of this response seen so far (head and body). */
    bytesSeen = 0;
    /** Expects one response for one request (no pipelining). HEAD requests are not supported. */
    expect(sink) {
        this.sink = sink;
        this.head = undefined;
        this.inBody = false;
        this.line = undefined;
        this.closeAfter = false;
        this.bytesSeen = 0;
    }
    get idle() {
        return this.sink === undefined;
    }
    /** Feeds bytes from the socket; throws HttpParseError on malformed input or bytes nobody asked for. */
    feed(data, atMs) {
        let buf = data;
        while (buf.length > 0) {
            if (this.sink === undefined)
                throw new HttpParseError(`the server sent ${buf.length} bytes with no request outstanding`);
            buf = this.inBody ? this.feedBody(buf, atMs) : this.feedHead(buf, atMs);
        }
    }
    /** The connection closed: completes a close-delimited body, otherwise reports whether a response was cut short. */
    end(atMs) {
        if (this.sink === undefined)
            return 'idle';
        if (this.inBody && this.mode === 'until-close') {
            this.finish(atMs);
            return 'complete';
        }
        return 'truncated';
    }
    feedHead(buf, atMs) {
        const joined = this.head === undefined ? buf : Buffer.concat([this.head, buf]);
        // Search from a little before the new bytes, in case the terminator straddles the boundary.
        const from = this.head === undefined ? 0 : Math.max(0, this.head.length - 3);
        const end = joined.indexOf(HEAD_END, from);
        if (end < 0) {
            if (joined.length > MAX_HEAD_BYTES)
                throw new HttpParseError(`response head longer than ${MAX_HEAD_BYTES} bytes`);
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
            if (head.status === 101)
                throw new HttpParseError('the server switched protocols (101), which a load request never asks for');
            return rest; // 100 Continue, 103 Early Hints: the real response follows
        }
        this.sink.onHead(head);
        this.closeAfter = /(^|,)\s*close\s*(,|$)/i.test(head.headers['connection'] ?? '');
        const te = head.headers['transfer-encoding'];
        const cl = head.headers['content-length'];
        this.inBody = true;
        if (head.status === 204 || head.status === 304) {
            this.mode = 'length';
            this.remaining = 0;
        }
        else if (te !== undefined && /(^|,)\s*chunked\s*$/i.test(te)) {
            this.mode = 'chunk-size';
        }
        else if (cl !== undefined) {
            if (!/^\d+$/.test(cl.trim()))
                throw new HttpParseError(`bad Content-Length ${JSON.stringify(cl)}`);
            this.mode = 'length';
            this.remaining = Number(cl.trim());
        }
        else {
            this.mode = 'until-close';
            this.closeAfter = true;
        }
        if (this.mode === 'length' && this.remaining === 0) {
            this.finish(atMs);
        }
        return rest;
    }
    feedBody(buf, atMs) {
        switch (this.mode) {
            case 'until-close':
                this.bytesSeen += buf.length;
                this.sink.onBody(buf, atMs);
                return Buffer.alloc(0);
            case 'length': {
                const n = Math.min(this.remaining, buf.length);
                this.remaining -= n;
                this.bytesSeen += n;
                if (n > 0)
                    this.sink.onBody(buf.subarray(0, n), atMs);
                if (this.remaining === 0)
                    this.finish(atMs);
                return buf.subarray(n);
            }
            case 'chunk-data': {
                const n = Math.min(this.remaining, buf.length);
                this.remaining -= n;
                this.bytesSeen += n;
                if (n > 0)
                    this.sink.onBody(buf.subarray(0, n), atMs);
                if (this.remaining === 0)
                    this.mode = 'chunk-data-end';
                return buf.subarray(n);
            }
            default:
                return this.feedLine(buf, atMs);
        }
    }
    /** Line-oriented parts of chunked coding: sizes, the CRLF after data, trailers. */
    feedLine(buf, atMs) {
        const joined = this.line === undefined ? buf : Buffer.concat([this.line, buf]);
        const from = this.line === undefined ? 0 : Math.max(0, this.line.length - 1);
        const eol = joined.indexOf(CRLF, from);
        if (eol < 0) {
            if (joined.length > 8192)
                throw new HttpParseError('chunked body: line too long');
            this.line = joined;
            this.bytesSeen += buf.length;
            return Buffer.alloc(0);
        }
        this.bytesSeen += eol + 2 - (this.line?.length ?? 0);
        this.line = undefined;
        const text = joined.toString('latin1', 0, eol);
        const rest = joined.subarray(eol + 2);
        if (this.mode === 'chunk-data-end') {
            if (text !== '')
                throw new HttpParseError('chunked body: chunk data longer than its size');
            this.mode = 'chunk-size';
        }
        else if (this.mode === 'chunk-size') {
            const size = parseInt(text.split(';', 1)[0].trim(), 16);
            if (!/^[0-9a-fA-F]+$/.test(text.split(';', 1)[0].trim()) || !Number.isSafeInteger(size))
                throw new HttpParseError(`chunked body: bad chunk size ${JSON.stringify(text)}`);
            if (size === 0)
                this.mode = 'trailers';
            else {
                this.mode = 'chunk-data';
                this.remaining = size;
            }
        }
        else if (text === '') {
            this.finish(atMs); // end of trailers
        }
        return rest;
    }
    finish(atMs) {
        const sink = this.sink;
        this.sink = undefined;
        this.inBody = false;
        sink.onComplete(atMs);
    }
}
function parseHead(text) {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0]);
    if (!m)
        throw new HttpParseError(`bad status line ${JSON.stringify(lines[0].slice(0, 80))}`);
    const headers = {};
    for (let i = 1; i < lines.length; i++) {
        const line = lines[i];
        const colon = line.indexOf(':');
        if (colon <= 0)
            throw new HttpParseError(`bad header line ${JSON.stringify(line.slice(0, 80))}`);
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    return { status: Number(m[1]), headers };
}

;// CONCATENATED MODULE: ./packages/bench/dist/http/connection-pool.js
// Keep-alive HTTP/1.1 connections for the load generator, one request at a time per connection (no
// pipelining, as servers and other load tools expect), with pre-serialised request bytes. Measured
// on loopback against the same Node server: this client sends about 1.5× what undici's Pool does
// and 3× node:http with a keep-alive Agent, at half undici's CPU per request.





class HttpConnection {
    pool;
    socket;
    parser = new ResponseParser();
    current;
    /** Completed at least one exchange: a failure before any response byte may be a stale keep-alive. */
    reused = false;
    deadline = Number.POSITIVE_INFINITY;
    closed = false;
    constructor(host, port, secure, pool) {
        this.pool = pool;
        this.socket = secure ? external_node_tls_namespaceObject.connect({ host, port, ...(external_node_net_namespaceObject.isIP(host) ? {} : { servername: host }) }) : external_node_net_namespaceObject.connect({ host, port });
        this.socket.setNoDelay(true);
        this.socket.on('data', (d) => this.onData(d));
        this.socket.on('error', (err) => this.fail(classifySocketError(err), err.message));
        this.socket.on('close', () => this.onClose());
    }
    get busy() {
        return this.current !== undefined;
    }
    send(exchange, timeoutMs) {
        this.current = exchange;
        this.deadline = monotonicMs() + timeoutMs;
        this.parser.expect(this.sinkFor(exchange));
        this.socket.write(exchange.bytes);
    }
    /** Fails the exchange in flight with `timeout` and drops the connection (HTTP/1.1 cannot cancel one request). */
    expire(now) {
        const ex = this.current;
        if (ex === undefined)
            return;
        this.current = undefined;
        this.destroy();
        ex.onError('timeout', 'no complete response within the request timeout', now);
    }
    destroy() {
        if (this.closed)
            return;
        this.closed = true;
        this.socket.destroy();
        this.pool.forget(this);
    }
    sinkFor(ex) {
        return {
            onHead: (head) => ex.onHead(head),
            onBody: (chunk, at) => ex.onBody(chunk, at),
            onComplete: (at) => {
                const close = this.parser.closeAfter;
                this.current = undefined;
                this.deadline = Number.POSITIVE_INFINITY;
                this.reused = true;
                // Free the connection first, so work that the completion starts (a closed-loop user's next
                // request) or that waits in the client queue reuses it rather than opening another.
                if (close)
                    this.destroy();
                else
                    this.pool.release(this);
                ex.onComplete(at);
            },
        };
    }
    onData(d) {
        const at = monotonicMs();
        try {
            this.parser.feed(d, at);
        }
        catch (err) {
            const message = err instanceof HttpParseError ? err.message : `response handling failed: ${err.message}`;
            this.fail('protocol', message);
        }
    }
    onClose() {
        const at = monotonicMs();
        const ex = this.current;
        if (ex !== undefined) {
            const state = this.parser.end(at);
            if (state === 'truncated') {
                this.current = undefined;
                if (this.reused && this.parser.bytesSeen === 0)
                    this.pool.retry(ex);
                else
                    ex.onError('reset', 'the server closed the connection before the response was complete', at);
            }
        }
        this.closed = true;
        this.pool.forget(this);
    }
    fail(errorClass, message) {
        const ex = this.current;
        this.current = undefined;
        this.destroy();
        if (ex === undefined)
            return;
        // A keep-alive connection the server closed just as we reused it: send again on a fresh one.
        if (errorClass === 'reset' && this.reused && this.parser.bytesSeen === 0)
            this.pool.retry(ex);
        else
            ex.onError(errorClass, message, monotonicMs());
    }
}
class ConnectionPool {
    host;
    port;
    maxConnections;
    timeoutMs;
    secure;
    idle = [];
    open = new Set();
    sweeper;
    stats = { opened: 0, peak: 0, retried: 0 };
    /** Called when a connection frees up; returns true if it was given new work. */
    onAvailable;
    /** Called when a connection closes, so queued work can open a new one. */
    onSlotFreed;
    constructor(host, port, maxConnections, timeoutMs, secure = false) {
        this.host = host;
        this.port = port;
        this.maxConnections = maxConnections;
        this.timeoutMs = timeoutMs;
        this.secure = secure;
        // One sweep every 50 ms is far cheaper than a timer per request; timeouts are coarse anyway.
        this.sweeper = setInterval(() => this.sweep(), 50);
        this.sweeper.unref();
    }
    /** An idle connection, or a new one if the cap allows; undefined when all are busy. */
    acquire() {
        while (this.idle.length > 0) {
            const c = this.idle.pop();
            if (!c.closed)
                return c;
        }
        if (this.open.size >= this.maxConnections)
            return undefined;
        const c = new HttpConnection(this.host, this.port, this.secure, this);
        this.open.add(c);
        this.stats.opened++;
        if (this.open.size > this.stats.peak)
            this.stats.peak = this.open.size;
        return c;
    }
    send(c, ex) {
        c.send(ex, this.timeoutMs);
    }
    release(c) {
        if (c.closed)
            return;
        if (this.onAvailable?.(c))
            return;
        this.idle.push(c);
    }
    forget(c) {
        if (!this.open.delete(c))
            return;
        this.onSlotFreed?.();
    }
    retry(ex) {
        this.stats.retried++;
        const c = this.acquire();
        if (c === undefined)
            ex.onError('reset', 'the connection closed before the request could be sent again', monotonicMs());
        else
            c.send(ex, this.timeoutMs);
    }
    get openCount() {
        return this.open.size;
    }
    get busyCount() {
        let n = 0;
        for (const c of this.open)
            if (c.busy)
                n++;
        return n;
    }
    sweep() {
        const now = monotonicMs();
        for (const c of this.open)
            if (c.deadline < now)
                c.expire(now);
    }
    close() {
        clearInterval(this.sweeper);
        this.onAvailable = undefined;
        this.onSlotFreed = undefined;
        for (const c of [...this.open])
            c.destroy();
        this.idle.length = 0;
    }
}

;// CONCATENATED MODULE: ./packages/bench/dist/protocols/types.js
function jsonBody(value) {
    return { headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}
function parseJsonObject(body) {
    try {
        const value = JSON.parse(body.toString('utf8'));
        if (value === null || typeof value !== 'object' || Array.isArray(value))
            return { error: 'the response body is not a JSON object' };
        return { value: value };
    }
    catch {
        return { error: `the response body is not JSON (${JSON.stringify(body.subarray(0, 60).toString('utf8'))})` };
    }
}
function isObject(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
}

;// CONCATENATED MODULE: ./packages/bench/dist/protocols/http-template.js
// A plain HTTP request from a template: method, path, headers and body with {{name}} placeholders
// filled from each payload object (a JSONL line), for endpoints no other protocol describes.

function fill(template, vars, encode) {
    return template.replace(/\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g, (_m, name) => {
        const v = vars[name];
        if (v === undefined)
            throw new TypeError(`template placeholder {{${name}}} has no value in the payload`);
        return encode(typeof v === 'string' ? v : JSON.stringify(v));
    });
}
function httpTemplateProtocol(spec) {
    if (!spec.path.startsWith('/'))
        throw new TypeError(`the request path must start with "/", got ${JSON.stringify(spec.path)}`);
    const method = (spec.method ?? (spec.body === undefined ? 'GET' : 'POST')).toUpperCase();
    return {
        name: 'http',
        streaming: false,
        readyPath: spec.readyPath,
        readsBody: false,
        ...(spec.expectStatus ? { successStatuses: spec.expectStatus } : {}),
        build(payload) {
            const vars = isObject(payload) ? payload : {};
            const headers = {};
            for (const [k, v] of Object.entries(spec.headers ?? {}))
                headers[k] = fill(v, vars, (s) => s);
            const body = spec.body === undefined ? undefined : fill(spec.body, vars, (s) => s);
            return { method, path: fill(spec.path, vars, encodeURIComponent), headers, ...(body === undefined ? {} : { body }) };
        },
    };
}

;// CONCATENATED MODULE: ./packages/bench/dist/protocols/kserve-v1.js
// KServe v1 / TensorFlow Serving REST: POST /v1/models/{m}[/versions/{v}]:predict with `instances`
// (row format) or `inputs` (columnar); the response carries `predictions` or `outputs`.

function kserveV1Protocol(spec) {
    const path = `/v1/models/${encodeURIComponent(spec.model)}${spec.version ? `/versions/${encodeURIComponent(spec.version)}` : ''}:predict`;
    const check = spec.checkResponse ?? true;
    return {
        name: 'kserve-v1',
        streaming: false,
        readyPath: `/v1/models/${encodeURIComponent(spec.model)}`,
        readsBody: check,
        build(payload) {
            if (!isObject(payload) || !(Array.isArray(payload['instances']) || payload['inputs'] !== undefined)) {
                throw new TypeError('a KServe v1 / TF Serving payload must be an object with `instances` (an array) or `inputs`');
            }
            return { method: 'POST', path, ...jsonBody(payload) };
        },
        check: check
            ? (_head, body) => {
                const r = parseJsonObject(body);
                if (r.error !== undefined)
                    return r.error;
                if (r.value['error'] !== undefined)
                    return `the server answered an error: ${JSON.stringify(r.value['error'])}`;
                if (r.value['predictions'] === undefined && r.value['outputs'] === undefined)
                    return 'the response has neither `predictions` nor `outputs`';
                return undefined;
            }
            : undefined,
    };
}

;// CONCATENATED MODULE: ./packages/bench/dist/protocols/oip-v2.js
// Open Inference Protocol (KServe v2) REST: POST /v2/models/{m}[/versions/{v}]/infer with
// {inputs:[{name,shape,datatype,data}]}; the response carries `outputs`, a failure `{"error"}`.

function oipV2Protocol(spec) {
    const base = `/v2/models/${encodeURIComponent(spec.model)}${spec.version ? `/versions/${encodeURIComponent(spec.version)}` : ''}`;
    const check = spec.checkResponse ?? true;
    return {
        name: 'oip-v2',
        streaming: false,
        readyPath: '/v2/health/ready',
        readsBody: check,
        build(payload) {
            if (!isObject(payload) || !Array.isArray(payload['inputs'])) {
                throw new TypeError('an Open Inference Protocol payload must be an object with an `inputs` array');
            }
            return { method: 'POST', path: `${base}/infer`, ...jsonBody(payload) };
        },
        check: check
            ? (_head, body) => {
                const r = parseJsonObject(body);
                if (r.error !== undefined)
                    return r.error;
                if (typeof r.value['error'] === 'string')
                    return `the server answered an error: ${r.value['error']}`;
                if (!Array.isArray(r.value['outputs']))
                    return 'the response has no `outputs` array';
                return undefined;
            }
            : undefined,
    };
}

;// CONCATENATED MODULE: external "node:string_decoder"
const external_node_string_decoder_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:string_decoder");
;// CONCATENATED MODULE: ./packages/bench/dist/protocols/sse.js
// Server-sent events, incrementally: `data:` lines joined per event, events ended by a blank line,
// `:` comment lines (pings) ignored. Each event carries the arrival time of the bytes that ended it.

class SseParser {
    decoder = new external_node_string_decoder_namespaceObject.StringDecoder('utf8');
    pending = '';
    data = [];
    eventName;
    /** Feeds bytes; returns the events they completed. */
    push(chunk, atMs) {
        const out = [];
        this.pending += this.decoder.write(chunk);
        let start = 0;
        for (;;) {
            const nl = this.pending.indexOf('\n', start);
            if (nl < 0)
                break;
            let line = this.pending.slice(start, nl);
            start = nl + 1;
            if (line.endsWith('\r'))
                line = line.slice(0, -1);
            if (line === '') {
                if (this.data.length > 0)
                    out.push({ data: this.data.join('\n'), event: this.eventName, atMs });
                this.data = [];
                this.eventName = undefined;
                continue;
            }
            if (line.startsWith(':'))
                continue;
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            let value = colon < 0 ? '' : line.slice(colon + 1);
            if (value.startsWith(' '))
                value = value.slice(1);
            if (field === 'data')
                this.data.push(value);
            else if (field === 'event')
                this.eventName = value;
        }
        this.pending = this.pending.slice(start);
        return out;
    }
    /** At the end of the stream: a last event left without its blank line still counts. */
    flush(atMs) {
        this.pending += this.decoder.end();
        return this.push(Buffer.from('\n\n'), atMs);
    }
}

;// CONCATENATED MODULE: ./packages/bench/dist/protocols/openai.js
// OpenAI-compatible text generation: POST /v1/completions or /v1/chat/completions with
// `stream: true` and `stream_options.include_usage`, read as server-sent events. Each content
// chunk is timed on arrival; token counts come from `usage` when the server sends it.


function openAiProtocol(spec) {
    const chat = spec.kind === 'openai-chat';
    const stream = spec.stream ?? true;
    const path = spec.path ?? (chat ? '/v1/chat/completions' : '/v1/completions');
    return {
        name: spec.kind,
        streaming: true,
        readyPath: '/v1/models',
        readsBody: true,
        build(payload) {
            const fields = isObject(payload) ? { ...payload } : {};
            if (typeof payload === 'string') {
                if (chat)
                    fields['messages'] = [{ role: 'user', content: payload }];
                else
                    fields['prompt'] = payload;
            }
            if (chat && !Array.isArray(fields['messages'])) {
                if (typeof fields['prompt'] === 'string') {
                    fields['messages'] = [{ role: 'user', content: fields['prompt'] }];
                    delete fields['prompt'];
                }
                else
                    throw new TypeError('a chat payload needs `messages` (or a `prompt` string)');
            }
            if (!chat && fields['prompt'] === undefined)
                throw new TypeError('a completions payload needs `prompt`');
            const body = { model: spec.model, ...(spec.maxTokens !== undefined ? { max_tokens: spec.maxTokens } : {}), ...spec.extraBody, ...fields };
            body['stream'] = stream;
            if (stream)
                body['stream_options'] = { include_usage: true, ...(isObject(body['stream_options']) ? body['stream_options'] : {}) };
            return { method: 'POST', path, ...jsonBody(body) };
        },
        openStream: () => new OpenAiStreamObserver(chat),
    };
}
/** Generated text of one choice in a chunk: `text` (completions) or `delta.content` / `message.content` (chat). */
function contentOf(choice) {
    if (!isObject(choice))
        return '';
    if (typeof choice['text'] === 'string')
        return choice['text'];
    for (const key of ['delta', 'message']) {
        const d = choice[key];
        if (isObject(d)) {
            let s = typeof d['content'] === 'string' ? d['content'] : '';
            if (typeof d['reasoning_content'] === 'string')
                s += d['reasoning_content'];
            return s;
        }
    }
    return '';
}
class OpenAiStreamObserver {
    chat;
    sse = new SseParser();
    contentTimes = [];
    charsPerChunk = [];
    /** Cumulative completion tokens reported on content chunks (continuous usage stats). */
    cumulativeTokens = [];
    completionTokens;
    promptTokens;
    error;
    sawSse = false;
    raw = [];
    done = false;
    constructor(chat) {
        this.chat = chat;
    }
    onData(chunk, atMs) {
        if (!this.sawSse && this.raw.length < 1024)
            this.raw.push(chunk);
        for (const ev of this.sse.push(chunk, atMs))
            this.onEvent(ev.data, ev.atMs);
    }
    onEvent(data, atMs) {
        this.sawSse = true;
        if (this.error !== undefined)
            return;
        if (data.trim() === '[DONE]') {
            this.done = true;
            return;
        }
        let msg;
        try {
            msg = JSON.parse(data);
        }
        catch {
            this.error = `an SSE event is not JSON: ${JSON.stringify(data.slice(0, 60))}`;
            return;
        }
        this.onMessage(msg, atMs);
    }
    onMessage(msg, atMs) {
        if (!isObject(msg)) {
            this.error = 'an SSE event is not a JSON object';
            return;
        }
        if (msg['error'] !== undefined) {
            this.error = `the server sent an error event: ${JSON.stringify(msg['error']).slice(0, 200)}`;
            return;
        }
        const usage = msg['usage'];
        let cumulative;
        if (isObject(usage)) {
            if (typeof usage['completion_tokens'] === 'number') {
                this.completionTokens = usage['completion_tokens'];
                cumulative = usage['completion_tokens'];
            }
            if (typeof usage['prompt_tokens'] === 'number')
                this.promptTokens = usage['prompt_tokens'];
        }
        const choices = msg['choices'];
        if (!Array.isArray(choices))
            return;
        let text = '';
        for (const c of choices)
            text += contentOf(c);
        if (text.length === 0)
            return;
        this.contentTimes.push(atMs);
        this.charsPerChunk.push(text.length);
        this.cumulativeTokens.push(cumulative);
    }
    finish(atMs) {
        for (const ev of this.sse.flush(atMs))
            this.onEvent(ev.data, ev.atMs);
        if (!this.sawSse && this.error === undefined) {
            // Not a stream (stream: false, or a server that ignores it): one JSON response, one "chunk".
            const body = Buffer.concat(this.raw).toString('utf8');
            try {
                this.onMessage(JSON.parse(body), atMs);
            }
            catch {
                this.error = `the response is neither an SSE stream nor JSON (${JSON.stringify(body.slice(0, 60))})`;
            }
        }
        else if (this.sawSse && !this.done && this.error === undefined) {
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
function tokensPerChunk(cumulative) {
    if (cumulative.length === 0 || cumulative.some((c) => c === undefined))
        return undefined;
    const out = [];
    let prev = 0;
    for (const c of cumulative) {
        if (c < prev)
            return undefined;
        out.push(c - prev);
        prev = c;
    }
    return out;
}

;// CONCATENATED MODULE: ./packages/bench/dist/protocols/torchserve.js
// TorchServe inference API: POST /predictions/{m}[/{v}]; health on GET /ping. The body is whatever
// the model's handler takes: a string payload is sent as text, anything else as JSON.

function torchServeProtocol(spec) {
    const path = `/predictions/${encodeURIComponent(spec.model)}${spec.version ? `/${encodeURIComponent(spec.version)}` : ''}`;
    return {
        name: 'torchserve',
        streaming: false,
        readyPath: '/ping',
        readsBody: false,
        build(payload) {
            if (typeof payload === 'string')
                return { method: 'POST', path, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: payload };
            return { method: 'POST', path, ...jsonBody(payload) };
        },
    };
}

;// CONCATENATED MODULE: ./packages/bench/dist/protocols/index.js
// Protocol adapters by name.






function createProtocol(spec) {
    switch (spec.kind) {
        case 'oip-v2':
            return oipV2Protocol(spec);
        case 'kserve-v1':
            return kserveV1Protocol(spec);
        case 'torchserve':
            return torchServeProtocol(spec);
        case 'openai-completions':
        case 'openai-chat':
            return openAiProtocol(spec);
        case 'http':
            return httpTemplateProtocol(spec);
        default:
            throw new TypeError(`unknown protocol ${JSON.stringify(spec.kind)}`);
    }
}
const PROTOCOL_KINDS = (/* unused pure expression or super */ null && (['oip-v2', 'kserve-v1', 'torchserve', 'openai-completions', 'openai-chat', 'http']));

;// CONCATENATED MODULE: ./packages/bench/dist/schedule/random.js
// A small seeded PRNG (xoshiro128**, seeded through splitmix32) and the draws the arrival processes
// need: uniform, exponential, normal and gamma. Seeded so a schedule can be replayed exactly.
class SeededRandom {
    a;
    b;
    c;
    d;
    spareNormal;
    constructor(seed) {
        let s = seed >>> 0;
        const next = () => {
            s = (s + 0x9e3779b9) >>> 0;
            let z = s;
            z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
            z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
            return (z ^ (z >>> 16)) >>> 0;
        };
        this.a = next();
        this.b = next();
        this.c = next();
        this.d = next();
        if ((this.a | this.b | this.c | this.d) === 0)
            this.a = 1;
    }
    /** A 32-bit unsigned integer. */
    nextUint32() {
        const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
        const t = this.b << 9;
        this.c ^= this.a;
        this.d ^= this.b;
        this.b ^= this.c;
        this.a ^= this.d;
        this.c ^= t;
        this.d = rotl(this.d, 11);
        return result;
    }
    /** Uniform in (0, 1): never exactly 0, so logarithms are safe. */
    uniform() {
        // 53 bits from two draws.
        const hi = this.nextUint32() >>> 5;
        const lo = this.nextUint32() >>> 6;
        return (hi * 67108864 + lo + 0.5) / 9007199254740992;
    }
    /** Exponential with the given mean. */
    exponential(mean) {
        return -Math.log(this.uniform()) * mean;
    }
    /** Standard normal (Marsaglia's polar method). */
    normal() {
        if (this.spareNormal !== undefined) {
            const v = this.spareNormal;
            this.spareNormal = undefined;
            return v;
        }
        for (;;) {
            const u = 2 * this.uniform() - 1;
            const v = 2 * this.uniform() - 1;
            const s = u * u + v * v;
            if (s > 0 && s < 1) {
                const f = Math.sqrt((-2 * Math.log(s)) / s);
                this.spareNormal = v * f;
                return u * f;
            }
        }
    }
    /** Gamma(shape k, scale θ) by Marsaglia and Tsang's squeeze method (boosted for k < 1). */
    gamma(shape, scale) {
        if (shape < 1)
            return this.gamma(shape + 1, scale) * this.uniform() ** (1 / shape);
        const d = shape - 1 / 3;
        const c = 1 / Math.sqrt(9 * d);
        for (;;) {
            let x;
            let v;
            do {
                x = this.normal();
                v = 1 + c * x;
            } while (v <= 0);
            v = v * v * v;
            const u = this.uniform();
            if (u < 1 - 0.0331 * x * x * x * x)
                return d * v * scale;
            if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v)))
                return d * v * scale;
        }
    }
}
function rotl(x, k) {
    return (x << k) | (x >>> (32 - k));
}

;// CONCATENATED MODULE: ./packages/bench/dist/schedule/arrivals.js
// Open-loop arrival processes: when each request is meant to be sent, as milliseconds from the
// start of a run. One global schedule is drawn from one seed; worker thread i of W takes arrivals
// i, i+W, i+2W…, so the threads together send exactly the schedule one thread would have sent.

const DEFAULT_SEED = 0x5eed;
function arrivalSequence(spec) {
    const { rate } = spec;
    if (!(rate > 0) || !Number.isFinite(rate))
        throw new RangeError(`rate must be a positive number of requests per second, got ${rate}`);
    const meanGapMs = 1000 / rate;
    if (spec.process === 'constant') {
        let k = 0;
        // t_k = k/rate computed from k, so rounding never accumulates.
        return { next: () => (k++ * 1000) / rate };
    }
    const random = new SeededRandom(spec.seed ?? DEFAULT_SEED);
    let t = 0;
    if (spec.process === 'poisson') {
        return {
            next: () => {
                t += random.exponential(meanGapMs);
                return t;
            },
        };
    }
    const k = spec.burstiness ?? 1;
    if (!(k > 0) || !Number.isFinite(k))
        throw new RangeError(`burstiness (gamma shape) must be a positive number, got ${k}`);
    return {
        next: () => {
            t += random.gamma(k, meanGapMs / k);
            return t;
        },
    };
}
/** The share of a schedule that worker `index` of `count` sends: every count-th arrival from `index`. */
function shareOf(sequence, index, count) {
    let first = true;
    return {
        next: () => {
            const skip = first ? index : count - 1;
            first = false;
            for (let i = 0; i < skip; i++)
                sequence.next();
            return sequence.next();
        },
    };
}

;// CONCATENATED MODULE: ./packages/bench/dist/load/llm-metrics.js
/** Tokens carried by each content chunk: reported per chunk, else `usage` shared out by text length, else one per chunk. */
function chunkTokens(outcome) {
    const n = outcome.contentTimes.length;
    if (outcome.tokensPerChunk && outcome.tokensPerChunk.length === n)
        return [...outcome.tokensPerChunk];
    const total = outcome.completionTokens;
    if (total === undefined || total === n)
        return new Array(n).fill(1);
    // Largest-remainder apportionment of `total` by characters, so the counts are whole and add up.
    const chars = outcome.charsPerChunk;
    const sum = chars.reduce((a, b) => a + b, 0);
    const weights = sum > 0 ? chars : chars.map(() => 1);
    const exact = weights.map((w) => (total * w) / (sum > 0 ? sum : n));
    const out = exact.map(Math.floor);
    let left = total - out.reduce((a, b) => a + b, 0);
    const order = exact.map((e, i) => [e - Math.floor(e), i]).sort((a, b) => b[0] - a[0]);
    for (let j = 0; left > 0 && j < order.length; j++, left--)
        out[order[j][1]]++;
    return out;
}
function recordStream(llm, outcome, t, slo) {
    const h = llm.histograms;
    const c = llm.counters;
    c.streams++;
    const e2e = t.endAt - t.sentAt;
    h.e2e.record(e2e);
    const times = outcome.contentTimes;
    const outputTokens = outcome.completionTokens ?? times.length;
    c.outputTokens += outputTokens;
    c.promptTokens += outcome.promptTokens ?? 0;
    if (outcome.completionTokens !== undefined)
        c.withUsage++;
    let ttft;
    let tpot;
    if (times.length > 1 && times[times.length - 1] === times[0])
        c.bunched++;
    if (times.length > 0) {
        ttft = times[0] - t.sentAt;
        h.ttft.record(ttft);
        h.ttftFromIntended.record(times[0] - t.intended);
        if (outputTokens > 1) {
            tpot = (e2e - ttft) / (outputTokens - 1);
            h.tpot.record(tpot);
        }
        const tokens = chunkTokens(outcome);
        for (let i = 1; i < times.length; i++) {
            const gap = times[i] - times[i - 1];
            h.itlChunk.record(gap);
            const k = tokens[i];
            if (k > 0)
                h.itlToken.record(gap / k, k);
        }
    }
    const good = (slo?.ttftMs === undefined || (ttft !== undefined && ttft <= slo.ttftMs)) &&
        (slo?.tpotMs === undefined || tpot === undefined || tpot <= slo.tpotMs) &&
        (slo?.e2eMs === undefined || e2e <= slo.e2eMs);
    if (good)
        c.good++;
}

;// CONCATENATED MODULE: ./packages/bench/dist/histogram/histogram.js
// A log-linear latency histogram in the manner of HdrHistogram (Gil Tene's design: exponential
// buckets, each split into linear sub-buckets), written for Ferry. Values are whole microseconds,
// so merging shards is exact: counts, sums, min and max are integers and add in any order.
/** 1 µs .. 1 h at 3 significant digits: about 23k counters, 0.1% relative error. */
const DEFAULT_HISTOGRAM_CONFIG = { significantDigits: 3, highestMicros: 3_600_000_000 };
/** The percentiles every report carries. */
const REPORT_PERCENTILES = (/* unused pure expression or super */ null && ([50, 90, 95, 99, 99.9]));
const TWO_POW_32 = 2 ** 32;
/** Number of bits needed to write v (v ≥ 1), for v up to 2^53. */
function bitLength(v) {
    if (v >= TWO_POW_32)
        return 64 - Math.clz32(Math.floor(v / TWO_POW_32));
    return 32 - Math.clz32(v);
}
class histogram_LatencyHistogram {
    config;
    /** Sub-buckets per magnitude (a power of two); values below it are recorded exactly. */
    subBucketCount;
    subBucketHalfCount;
    subBucketBits;
    counts;
    total = 0;
    sum = 0;
    minV = Number.POSITIVE_INFINITY;
    maxV = 0;
    overflowCount = 0;
    constructor(config = DEFAULT_HISTOGRAM_CONFIG) {
        const { significantDigits: d, highestMicros: h } = config;
        if (!Number.isInteger(d) || d < 1 || d > 5)
            throw new RangeError(`significantDigits must be an integer in 1..5, got ${d}`);
        if (!Number.isInteger(h) || h < 2 || h > Number.MAX_SAFE_INTEGER / 4)
            throw new RangeError(`highestMicros must be an integer ≥ 2, got ${h}`);
        this.config = { significantDigits: d, highestMicros: h };
        // Enough linear steps that one step is at most 10^-d of the smallest value in its magnitude.
        this.subBucketBits = Math.ceil(Math.log2(2 * 10 ** d));
        this.subBucketCount = 2 ** this.subBucketBits;
        this.subBucketHalfCount = this.subBucketCount / 2;
        this.counts = new Float64Array(this.indexOf(Math.max(h, this.subBucketCount - 1)) + 1);
    }
    /** Counter index of an integer value ≥ 0 (no range check). */
    indexOf(v) {
        if (v < this.subBucketCount)
            return v;
        const bucket = bitLength(v) - this.subBucketBits;
        const sub = Math.floor(v / 2 ** bucket);
        return bucket * this.subBucketHalfCount + sub;
    }
    /** The smallest value that lands in counter `index`, and the width of its range. */
    rangeOf(index) {
        if (index < this.subBucketCount)
            return { low: index, width: 1 };
        const bucket = Math.floor((index - this.subBucketCount) / this.subBucketHalfCount) + 1;
        const sub = ((index - this.subBucketCount) % this.subBucketHalfCount) + this.subBucketHalfCount;
        const width = 2 ** bucket;
        return { low: sub * width, width };
    }
    /** Records a duration in milliseconds (rounded to the microsecond), `times` times. */
    record(ms, times = 1) {
        this.recordMicros(Math.round(ms * 1000), times);
    }
    /** Records a whole number of microseconds, `times` times. Negative values count as 0. */
    recordMicros(micros, times = 1) {
        if (!(times > 0))
            return;
        let v = micros > 0 ? Math.round(micros) : 0;
        if (!Number.isFinite(v) || v > this.config.highestMicros) {
            v = this.config.highestMicros;
            this.overflowCount += times;
        }
        this.counts[this.indexOf(v)] += times;
        this.total += times;
        this.sum += v * times;
        if (v < this.minV)
            this.minV = v;
        if (v > this.maxV)
            this.maxV = v;
    }
    get count() {
        return this.total;
    }
    /** Values above the tracked range, clamped to it. */
    get overflow() {
        return this.overflowCount;
    }
    /** Exact mean of the recorded (microsecond-rounded) values, in ms. */
    mean() {
        return this.total === 0 ? undefined : this.sum / this.total / 1000;
    }
    min() {
        return this.total === 0 ? undefined : this.minV / 1000;
    }
    max() {
        return this.total === 0 ? undefined : this.maxV / 1000;
    }
    /**
     * The value at percentile p (0–100) in ms, nearest-rank: the value of the ⌈p/100·N⌉-th smallest
     * sample (at least the first), reported as the top of its counter's range and never above the
     * largest value recorded. So it is never below the true sample and at most one step (≤ 10^-d
     * relative) above it.
     */
    percentile(p) {
        if (this.total === 0)
            return undefined;
        if (!(p >= 0 && p <= 100))
            throw new RangeError(`percentile must be in 0..100, got ${p}`);
        const rank = Math.max(1, Math.ceil((p / 100) * this.total - 1e-9));
        let seen = 0;
        for (let i = 0; i < this.counts.length; i++) {
            seen += this.counts[i];
            if (seen >= rank) {
                const { low, width } = this.rangeOf(i);
                return Math.min(low + width - 1, this.maxV) / 1000;
            }
        }
        return this.maxV / 1000;
    }
    summary() {
        return {
            count: this.total,
            min: this.min(),
            mean: this.mean(),
            p50: this.percentile(50),
            p90: this.percentile(90),
            p95: this.percentile(95),
            p99: this.percentile(99),
            p999: this.percentile(99.9),
            max: this.max(),
        };
    }
    /** Adds another histogram's counts into this one; the result equals recording both sets here. */
    add(other) {
        this.assertSameLayout(other.config);
        if (other.total === 0)
            return this;
        const src = other.counts;
        for (let i = 0; i < src.length; i++)
            if (src[i] !== 0)
                this.counts[i] += src[i];
        this.total += other.total;
        this.sum += other.sum;
        this.overflowCount += other.overflowCount;
        if (other.minV < this.minV)
            this.minV = other.minV;
        if (other.maxV > this.maxV)
            this.maxV = other.maxV;
        return this;
    }
    copy() {
        return new histogram_LatencyHistogram(this.config).add(this);
    }
    reset() {
        this.counts.fill(0);
        this.total = 0;
        this.sum = 0;
        this.minV = Number.POSITIVE_INFINITY;
        this.maxV = 0;
        this.overflowCount = 0;
    }
    /** Calls `fn(lowMs, highMs, count)` for every non-empty counter, in increasing value order. */
    forEachBucket(fn) {
        for (let i = 0; i < this.counts.length; i++) {
            const c = this.counts[i];
            if (c === 0)
                continue;
            const { low, width } = this.rangeOf(i);
            fn(low / 1000, (low + width - 1) / 1000, c);
        }
    }
    assertSameLayout(c) {
        if (c.significantDigits !== this.config.significantDigits || c.highestMicros !== this.config.highestMicros) {
            throw new RangeError(`histograms differ in layout (${c.significantDigits} digits up to ${c.highestMicros} µs vs ${this.config.significantDigits} up to ${this.config.highestMicros}); they cannot be merged exactly`);
        }
    }
    toJSON() {
        const bytes = [];
        let last = -1;
        for (let i = 0; i < this.counts.length; i++) {
            const c = this.counts[i];
            if (c === 0)
                continue;
            writeVarint(bytes, i - last);
            writeVarint(bytes, c);
            last = i;
        }
        return {
            v: 1,
            significantDigits: this.config.significantDigits,
            highestMicros: this.config.highestMicros,
            count: this.total,
            sumMicros: this.sum,
            minMicros: this.total === 0 ? 0 : this.minV,
            maxMicros: this.maxV,
            overflow: this.overflowCount,
            counts: Buffer.from(bytes).toString('base64'),
        };
    }
    static fromJSON(s) {
        if (s?.v !== 1)
            throw new RangeError('not a serialized Ferry histogram (v 1)');
        const h = new histogram_LatencyHistogram({ significantDigits: s.significantDigits, highestMicros: s.highestMicros });
        const bytes = Buffer.from(s.counts, 'base64');
        let pos = 0;
        let index = -1;
        let total = 0;
        while (pos < bytes.length) {
            const gap = readVarint(bytes, pos);
            const count = readVarint(bytes, gap.next);
            pos = count.next;
            index += gap.value;
            if (gap.value < 1 || index >= h.counts.length)
                throw new RangeError('serialized histogram has a counter outside its layout');
            h.counts[index] = count.value;
            total += count.value;
        }
        if (total !== s.count)
            throw new RangeError(`serialized histogram is inconsistent: counters add up to ${total}, count says ${s.count}`);
        h.total = s.count;
        h.sum = s.sumMicros;
        h.minV = s.count === 0 ? Number.POSITIVE_INFINITY : s.minMicros;
        h.maxV = s.maxMicros;
        h.overflowCount = s.overflow;
        return h;
    }
    /** Merges serialized shards (for example one per runner of a sharded benchmark) into one histogram. */
    static merge(parts, config = DEFAULT_HISTOGRAM_CONFIG) {
        const out = new histogram_LatencyHistogram(parts.length > 0 ? configOf(parts[0]) : config);
        for (const p of parts)
            out.add(p instanceof histogram_LatencyHistogram ? p : histogram_LatencyHistogram.fromJSON(p));
        return out;
    }
}
function configOf(p) {
    return p instanceof histogram_LatencyHistogram ? p.config : { significantDigits: p.significantDigits, highestMicros: p.highestMicros };
}
/** Unsigned LEB128 for integers up to 2^53 (arithmetic, not 32-bit shifts). */
function writeVarint(out, value) {
    let v = value;
    while (v >= 0x80) {
        out.push((v % 0x80) | 0x80);
        v = Math.floor(v / 0x80);
    }
    out.push(v);
}
function readVarint(bytes, start) {
    let value = 0;
    let scale = 1;
    for (let pos = start; pos < bytes.length; pos++) {
        const b = bytes[pos];
        value += (b & 0x7f) * scale;
        if (b < 0x80)
            return { value, next: pos + 1 };
        scale *= 0x80;
        if (scale > 2 ** 56)
            break;
    }
    throw new RangeError('serialized histogram is truncated or corrupt');
}

;// CONCATENATED MODULE: ./packages/bench/dist/load/window.js
// What one measurement window collects: request counts, errors by class, and the histograms
// (corrected, raw, send lag, connection wait, and the LLM stream metrics). Threads fill their own
// and send them serialised; the coordinator adds them up exactly, counter by counter.


const LLM_HISTOGRAMS = ['ttft', 'ttftFromIntended', 'tpot', 'itlChunk', 'itlToken', 'e2e'];
const MAX_ERROR_SAMPLES = 5;
class WindowStats {
    index;
    intended = 0;
    sent = 0;
    ok = 0;
    dropped = 0;
    connectionWaits = 0;
    bytesIn = 0;
    /** Requests dispatched (or scheduled) for this window and not yet settled. */
    outstanding = 0;
    errors = errors_emptyErrorCounts();
    statuses = {};
    errorSamples = [];
    corrected;
    raw;
    sendLag;
    connectionWait;
    llm;
    constructor(index, config, streaming) {
        this.index = index;
        this.corrected = new histogram_LatencyHistogram(config);
        this.raw = new histogram_LatencyHistogram(config);
        this.sendLag = new histogram_LatencyHistogram(config);
        this.connectionWait = new histogram_LatencyHistogram(config);
        this.llm = streaming
            ? {
                counters: { streams: 0, outputTokens: 0, promptTokens: 0, withUsage: 0, good: 0, bunched: 0 },
                histograms: Object.fromEntries(LLM_HISTOGRAMS.map((n) => [n, new histogram_LatencyHistogram(config)])),
            }
            : undefined;
    }
    noteError(message) {
        if (this.errorSamples.length < MAX_ERROR_SAMPLES && !this.errorSamples.includes(message))
            this.errorSamples.push(message);
    }
    toRecord() {
        return {
            index: this.index,
            intended: this.intended,
            sent: this.sent,
            ok: this.ok,
            dropped: this.dropped,
            connectionWaits: this.connectionWaits,
            errors: this.errors,
            statuses: this.statuses,
            errorSamples: this.errorSamples,
            bytesIn: this.bytesIn,
            histograms: {
                corrected: this.corrected.toJSON(),
                raw: this.raw.toJSON(),
                sendLag: this.sendLag.toJSON(),
                connectionWait: this.connectionWait.toJSON(),
            },
            ...(this.llm
                ? {
                    llm: {
                        counters: this.llm.counters,
                        histograms: Object.fromEntries(LLM_HISTOGRAMS.map((n) => [n, this.llm.histograms[n].toJSON()])),
                    },
                }
                : {}),
        };
    }
}
/** Windows (from several threads, shards or repeats) added together. */
class WindowAggregate {
    config;
    intended = 0;
    sent = 0;
    ok = 0;
    dropped = 0;
    connectionWaits = 0;
    bytesIn = 0;
    parts = 0;
    errors = emptyErrorCounts();
    statuses = {};
    errorSamples = [];
    corrected;
    raw;
    sendLag;
    connectionWait;
    llm;
    constructor(config) {
        this.config = config;
        this.corrected = new LatencyHistogram(config);
        this.raw = new LatencyHistogram(config);
        this.sendLag = new LatencyHistogram(config);
        this.connectionWait = new LatencyHistogram(config);
    }
    addRecord(r) {
        this.parts++;
        this.intended += r.intended;
        this.sent += r.sent;
        this.ok += r.ok;
        this.dropped += r.dropped;
        this.connectionWaits += r.connectionWaits;
        this.bytesIn += r.bytesIn;
        addErrorCounts(this.errors, r.errors);
        for (const [s, n] of Object.entries(r.statuses))
            this.statuses[s] = (this.statuses[s] ?? 0) + n;
        for (const m of r.errorSamples)
            if (this.errorSamples.length < MAX_ERROR_SAMPLES && !this.errorSamples.includes(m))
                this.errorSamples.push(m);
        this.corrected.add(LatencyHistogram.fromJSON(r.histograms.corrected));
        this.raw.add(LatencyHistogram.fromJSON(r.histograms.raw));
        this.sendLag.add(LatencyHistogram.fromJSON(r.histograms.sendLag));
        this.connectionWait.add(LatencyHistogram.fromJSON(r.histograms.connectionWait));
        if (r.llm) {
            const llm = this.ensureLlm();
            for (const k of Object.keys(llm.counters))
                llm.counters[k] += r.llm.counters[k];
            for (const n of LLM_HISTOGRAMS)
                llm.histograms[n].add(LatencyHistogram.fromJSON(r.llm.histograms[n]));
        }
        return this;
    }
    addAggregate(a) {
        this.parts += a.parts;
        this.intended += a.intended;
        this.sent += a.sent;
        this.ok += a.ok;
        this.dropped += a.dropped;
        this.connectionWaits += a.connectionWaits;
        this.bytesIn += a.bytesIn;
        addErrorCounts(this.errors, a.errors);
        for (const [s, n] of Object.entries(a.statuses))
            this.statuses[s] = (this.statuses[s] ?? 0) + n;
        for (const m of a.errorSamples)
            if (this.errorSamples.length < MAX_ERROR_SAMPLES && !this.errorSamples.includes(m))
                this.errorSamples.push(m);
        this.corrected.add(a.corrected);
        this.raw.add(a.raw);
        this.sendLag.add(a.sendLag);
        this.connectionWait.add(a.connectionWait);
        if (a.llm) {
            const llm = this.ensureLlm();
            for (const k of Object.keys(llm.counters))
                llm.counters[k] += a.llm.counters[k];
            for (const n of LLM_HISTOGRAMS)
                llm.histograms[n].add(a.llm.histograms[n]);
        }
        return this;
    }
    ensureLlm() {
        this.llm ??= {
            counters: { streams: 0, outputTokens: 0, promptTokens: 0, withUsage: 0, good: 0, bunched: 0 },
            histograms: Object.fromEntries(LLM_HISTOGRAMS.map((n) => [n, new LatencyHistogram(this.config)])),
        };
        return this.llm;
    }
}

;// CONCATENATED MODULE: ./packages/bench/dist/load/engine.js
// One thread's load engine: it sends its share of the schedule (open loop) or runs its share of
// the users (closed loop), times every request from its intended send time and from its actual
// send time, and hands each measurement window over once every request in it has settled.








/** Arrivals waiting for a connection, per thread, before new ones are dropped (and the run marked invalid). */
const MAX_QUEUED = 200_000;
/** How often windows are checked for closing when no request settles. */
const WINDOW_CHECK_MS = 20;
class LoadEngine {
    config;
    emit;
    protocol;
    requests;
    pool;
    timer;
    run;
    constructor(config, emit) {
        this.config = config;
        this.emit = emit;
        this.protocol = createProtocol(config.protocol);
        this.requests = config.payloads.map((p, i) => serializeRequest(this.protocol, p, i, config.target));
        if (this.requests.length === 0)
            throw new RangeError('no payloads to send');
        this.pool = new ConnectionPool(config.target.host, config.target.port, Math.max(1, config.maxConnections), config.timeoutMs, config.target.secure);
        this.pool.onAvailable = (c) => {
            const q = this.dequeue();
            if (q === undefined)
                return false;
            this.sendOn(c, q);
            return true;
        };
        this.pool.onSlotFreed = () => {
            while (this.queued() > 0) {
                const c = this.pool.acquire();
                if (c === undefined)
                    return;
                this.sendOn(c, this.dequeue());
            }
        };
        this.timer = new PreciseTimer(() => this.onTick());
    }
    /** Runs one measurement; resolves when every request of it has settled. */
    start(plan) {
        if (this.run !== undefined)
            throw new Error('a run is already in progress on this thread');
        if (plan.load.mode === 'closed')
            this.pool.maxConnections = Math.max(1, plan.load.users);
        else
            this.pool.maxConnections = Math.max(1, this.config.maxConnections);
        return new Promise((resolve) => {
            const measureStart = plan.startAt + plan.warmupMs;
            const state = {
                plan,
                measureStart,
                endAbs: measureStart + plan.maxWindows * plan.windowMs,
                lastWindow: plan.maxWindows - 1,
                windows: new Map(),
                nextToEmit: plan.warmupMs > 0 ? -1 : 0,
                arrivals: undefined,
                nextIntended: Number.POSITIVE_INFINITY,
                arrivalCount: 0,
                dispatchDone: false,
                activeUsers: 0,
                outstanding: 0,
                queue: [],
                queueHead: 0,
                cpuAtStart: threadCpuMs(),
                eluAtStart: external_node_perf_hooks_namespaceObject.performance.eventLoopUtilization(),
                wallAtStart: monotonicMs(),
                resolve,
                checker: setInterval(() => this.checkWindows(), WINDOW_CHECK_MS),
                dropped: 0,
            };
            this.run = state;
            if (plan.load.mode === 'open') {
                const { index, count } = this.config.share;
                state.arrivals = shareOf(arrivalSequence(plan.load.arrival), index, count);
                state.nextIntended = plan.startAt + state.arrivals.next();
            }
            else {
                state.nextIntended = plan.startAt;
            }
            this.timer.armAt(state.nextIntended);
        });
    }
    /** Ends the run after window `lastWindow` (no request intended later is sent). */
    stop(run, lastWindow) {
        const s = this.run;
        if (s === undefined || s.plan.run !== run || lastWindow >= s.lastWindow)
            return;
        s.lastWindow = lastWindow;
        s.endAbs = Math.min(s.endAbs, s.measureStart + (lastWindow + 1) * s.plan.windowMs);
        if (s.plan.load.mode === 'open' && s.nextIntended >= s.endAbs) {
            s.dispatchDone = true;
            this.timer.cancel();
        }
        this.checkWindows();
    }
    async close() {
        if (this.run)
            clearInterval(this.run.checker);
        this.pool.close();
        await this.timer.close();
    }
    slotOf(s, intended) {
        return intended < s.measureStart ? -1 : Math.floor((intended - s.measureStart) / s.plan.windowMs);
    }
    windowOf(s, slot) {
        let w = s.windows.get(slot);
        if (w === undefined) {
            w = new WindowStats(slot, this.config.histogram, this.protocol.streaming);
            s.windows.set(slot, w);
        }
        return w;
    }
    onTick() {
        const s = this.run;
        if (s === undefined)
            return;
        if (s.plan.load.mode === 'closed') {
            if (s.activeUsers === 0 && !s.dispatchDone)
                this.startUsers(s);
            return;
        }
        let now = monotonicMs();
        while (s.nextIntended <= now) {
            if (s.nextIntended >= s.endAbs)
                break;
            const globalIndex = this.config.share.index + s.arrivalCount * this.config.share.count;
            this.dispatch(s, s.nextIntended, now, globalIndex % this.requests.length, -1);
            now = monotonicMs();
            s.arrivalCount++;
            s.nextIntended = s.plan.startAt + s.arrivals.next();
        }
        if (s.nextIntended >= s.endAbs) {
            s.dispatchDone = true;
            this.checkWindows();
        }
        else
            this.timer.armAt(s.nextIntended);
    }
    /** An arrival (or a closed-loop user's next request) reaches the generator at `now`. */
    dispatch(s, intended, now, payload, user, counted = false) {
        const slot = this.slotOf(s, intended);
        const w = this.windowOf(s, slot);
        if (!counted) {
            w.intended++;
            w.outstanding++;
            s.outstanding++;
        }
        w.sendLag.record(now - intended);
        const c = this.pool.acquire();
        const q = { intended, dispatchedAt: now, slot, payload, user };
        if (c !== undefined) {
            this.sendOn(c, q, false);
            return;
        }
        if (this.queued() >= MAX_QUEUED) {
            w.dropped++;
            s.dropped++;
            this.settled(s, w);
            return;
        }
        s.queue.push(q);
    }
    queued() {
        const s = this.run;
        return s === undefined ? 0 : s.queue.length - s.queueHead;
    }
    dequeue() {
        const s = this.run;
        if (s === undefined || s.queueHead >= s.queue.length)
            return undefined;
        const q = s.queue[s.queueHead++];
        if (s.queueHead > 4096 && s.queueHead * 2 > s.queue.length) {
            s.queue.splice(0, s.queueHead);
            s.queueHead = 0;
        }
        return q;
    }
    sendOn(c, q, waited = true) {
        const s = this.run;
        const w = this.windowOf(s, q.slot);
        const sentAt = monotonicMs();
        w.connectionWait.record(sentAt - q.dispatchedAt);
        if (waited)
            w.connectionWaits++;
        w.sent++;
        this.pool.send(c, new RequestExchange(this, s, q, sentAt, this.requests[q.payload]));
    }
    /** A request finished, successfully or not. */
    complete(s, q, sentAt, endAt, outcome) {
        const w = this.windowOf(s, q.slot);
        let error = outcome.error;
        const head = outcome.head;
        let streamOutcome;
        if (error === undefined && head !== undefined) {
            w.statuses[head.status] = (w.statuses[head.status] ?? 0) + 1;
            const success = this.protocol.successStatuses ? this.protocol.successStatuses.includes(head.status) : classifyStatus(head.status) === undefined;
            if (!success) {
                error = { cls: classifyStatus(head.status) ?? 'protocol', message: `HTTP ${head.status}` };
            }
            else if (outcome.stream !== undefined) {
                streamOutcome = outcome.stream.finish(endAt);
                if (streamOutcome.error !== undefined)
                    error = { cls: 'protocol', message: streamOutcome.error };
            }
            else if (this.protocol.check !== undefined) {
                const why = this.protocol.check(head, outcome.body ?? Buffer.alloc(0));
                if (why !== undefined)
                    error = { cls: 'protocol', message: why };
            }
        }
        if (error !== undefined) {
            w.errors[error.cls]++;
            w.noteError(`${error.cls}: ${error.message}`);
        }
        else {
            w.ok++;
            w.corrected.record(endAt - q.intended);
            w.raw.record(endAt - sentAt);
            if (streamOutcome !== undefined && w.llm !== undefined)
                recordStream(w.llm, streamOutcome, { intended: q.intended, sentAt, endAt }, this.config.slo);
        }
        this.settled(s, w);
        if (q.user >= 0)
            this.userNext(s, q.user, endAt);
    }
    settled(s, w) {
        w.outstanding--;
        s.outstanding--;
        if (w.outstanding === 0 || s.outstanding === 0)
            this.checkWindows();
    }
    // ----- closed loop -----
    startUsers(s) {
        if (s.plan.load.mode !== 'closed')
            return;
        const users = s.plan.load.users;
        s.activeUsers = users;
        if (users === 0) {
            s.dispatchDone = true;
            this.checkWindows();
            return;
        }
        const now = monotonicMs();
        for (let u = 0; u < users; u++)
            this.userSend(s, u, s.plan.startAt, now);
    }
    userSend(s, user, intended, now, counted = false) {
        const globalIndex = this.config.share.index + s.arrivalCount * this.config.share.count;
        s.arrivalCount++;
        this.dispatch(s, intended, now, globalIndex % this.requests.length, user, counted);
    }
    userNext(s, user, completedAt) {
        if (s.plan.load.mode !== 'closed')
            return;
        const think = s.plan.load.thinkTimeMs;
        const intended = completedAt + think;
        if (intended >= s.endAbs) {
            s.activeUsers--;
            if (s.activeUsers === 0) {
                s.dispatchDone = true;
                this.checkWindows();
            }
            return;
        }
        if (think <= 0) {
            this.userSend(s, user, intended, monotonicMs());
            return;
        }
        // Count the request in its window now, so the window cannot close while the user thinks.
        const w = this.windowOf(s, this.slotOf(s, intended));
        w.intended++;
        w.outstanding++;
        s.outstanding++;
        setTimeout(() => {
            if (intended < s.endAbs) {
                this.userSend(s, user, intended, monotonicMs(), true);
                return;
            }
            // Stopped while this user was thinking: the request is not sent.
            w.intended--;
            s.activeUsers--;
            if (s.activeUsers === 0)
                s.dispatchDone = true;
            this.settled(s, w);
        }, Math.max(0, intended - monotonicMs()));
    }
    // ----- windows -----
    /**
     * Arrivals that have waited in the client queue longer than the request timeout fail as
     * timeouts without being sent, as a user would give up; so a server far slower than the offered
     * rate cannot make a run drain for ever.
     */
    expireQueue(s, now) {
        while (s.queueHead < s.queue.length && now - s.queue[s.queueHead].intended > this.config.timeoutMs) {
            const q = this.dequeue();
            const w = this.windowOf(s, q.slot);
            w.errors.timeout++;
            w.noteError('timeout: waited in the client queue for a free connection longer than the request timeout');
            w.outstanding--;
            s.outstanding--;
        }
    }
    /** Emits, in order, every window that is over and has no request left in flight. */
    checkWindows() {
        const s = this.run;
        if (s === undefined)
            return;
        const now = monotonicMs();
        this.expireQueue(s, now);
        const { windowMs } = s.plan;
        for (;;) {
            const k = s.nextToEmit;
            if (k > s.lastWindow)
                break;
            const end = k < 0 ? s.measureStart : s.measureStart + (k + 1) * windowMs;
            const arrivalsPast = s.dispatchDone || (s.plan.load.mode === 'open' ? s.nextIntended >= end : now >= end);
            const w = s.windows.get(k);
            if (!(now >= end || s.dispatchDone) || !arrivalsPast || (w !== undefined && w.outstanding > 0))
                break;
            this.emit({ ...(w ?? new WindowStats(k, this.config.histogram, this.protocol.streaming)).toRecord(), run: s.plan.run });
            s.windows.delete(k);
            s.nextToEmit++;
        }
        if (s.dispatchDone && s.outstanding === 0 && this.queued() === 0)
            this.finish(s);
    }
    finish(s) {
        clearInterval(s.checker);
        this.run = undefined;
        // Windows past a stop are discarded: their arrivals were cut short.
        const cpuEnd = threadCpuMs();
        const elu = external_node_perf_hooks_namespaceObject.performance.eventLoopUtilization(s.eluAtStart);
        s.resolve({
            run: s.plan.run,
            thread: this.config.share.index,
            wallMs: monotonicMs() - s.wallAtStart,
            cpuMs: cpuEnd !== undefined && s.cpuAtStart !== undefined ? cpuEnd - s.cpuAtStart : undefined,
            eventLoopUtilization: elu.utilization,
            connectionsOpened: this.pool.stats.opened,
            peakConnections: this.pool.stats.peak,
            retried: this.pool.stats.retried,
            dropped: s.dropped,
            lastWindow: s.lastWindow,
        });
    }
}
/** One request on the wire: collects what the protocol needs, then reports to the engine once. */
class RequestExchange {
    engine;
    state;
    q;
    sentAt;
    bytes;
    head;
    chunks;
    stream;
    done = false;
    constructor(engine, state, q, sentAt, bytes) {
        this.engine = engine;
        this.state = state;
        this.q = q;
        this.sentAt = sentAt;
        this.bytes = bytes;
    }
    onHead(head) {
        this.head = head;
        const adapter = this.engine.protocol;
        if (head.status >= 200 && head.status < 300) {
            if (adapter.openStream)
                this.stream = adapter.openStream();
            else if (adapter.readsBody)
                this.chunks = [];
        }
    }
    onBody(chunk, atMs) {
        this.engineWindowBytes(chunk.length);
        if (this.stream)
            this.stream.onData(chunk, atMs);
        else if (this.chunks)
            this.chunks.push(chunk);
    }
    onComplete(atMs) {
        if (this.done)
            return;
        this.done = true;
        this.engine.complete(this.state, this.q, this.sentAt, atMs, {
            ...(this.head ? { head: this.head } : {}),
            ...(this.chunks ? { body: Buffer.concat(this.chunks) } : {}),
            ...(this.stream ? { stream: this.stream } : {}),
        });
    }
    onError(cls, message, atMs) {
        if (this.done)
            return;
        this.done = true;
        this.engine.complete(this.state, this.q, this.sentAt, atMs, { error: { cls, message } });
    }
    engineWindowBytes(n) {
        const w = this.state.windows.get(this.q.slot);
        if (w)
            w.bytesIn += n;
    }
}
/** The request's bytes as they go on the wire: request line, Host, the protocol's headers, Content-Length, body. */
function serializeRequest(protocol, payload, index, target) {
    const spec = protocol.build(payload, index);
    const body = spec.body === undefined ? undefined : Buffer.isBuffer(spec.body) ? spec.body : Buffer.from(spec.body, 'utf8');
    let head = `${spec.method} ${target.basePath}${spec.path} HTTP/1.1\r\nHost: ${target.hostHeader}\r\n`;
    for (const [k, v] of Object.entries(spec.headers ?? {})) {
        if (/[\r\n]/.test(k + v))
            throw new TypeError(`header ${k} contains a line break`);
        if (/^(host|content-length|transfer-encoding|connection)$/i.test(k))
            continue;
        head += `${k}: ${v}\r\n`;
    }
    if (body !== undefined || spec.method === 'POST' || spec.method === 'PUT')
        head += `Content-Length: ${body?.length ?? 0}\r\n`;
    head += '\r\n';
    return body === undefined ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

;// CONCATENATED MODULE: ./packages/bench/dist/load/worker.js
// Entry of a load-generator worker thread: one LoadEngine, driven by the coordinator's messages.


const port = external_node_worker_threads_namespaceObject.parentPort;
if (port === null)
    throw new Error('the load worker must run as a worker thread');
const send = (m) => port.postMessage(m);
let engine;
try {
    engine = new LoadEngine(external_node_worker_threads_namespaceObject.workerData, (record) => send({ type: 'window', record }));
    send({ type: 'ready' });
}
catch (err) {
    send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
    throw err;
}
port.on('message', (m) => {
    if (m.type === 'run') {
        engine.start(m.plan).then((summary) => send({ type: 'done', summary }), (err) => send({ type: 'failed', message: err instanceof Error ? err.message : String(err) }));
    }
    else if (m.type === 'stop')
        engine.stop(m.run, m.lastWindow);
    else if (m.type === 'close') {
        void engine.close().then(() => port.close());
    }
});

