// The router's data plane: each request goes to one replica of the slot the split picks, and the
// answer streams back as it arrives (SSE token by token, never buffered), labelled with the
// version and slot that produced it. Under mirror routing a copy goes to the canary in the
// background; its answer is measured and, for OIP v2 inferences, paired with stable's.
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import https from 'node:https';
import { errorMessage, type Logger } from '@ferry/core';
import type { PairedOutput } from '../../judge/types.js';
import type { Slot, VersionRef } from '../../target/types.js';
import type { EndpointPool, RouterControl } from './control.js';
import { inferOutput, isInferRequest, type PairRing } from './mirror.js';
import { CLIENT_CLOSED, type RouterMetrics } from './router-metrics.js';

/** A mirrored request body larger than this is not copied (it would have to be held in memory). */
export const MIRROR_BODY_LIMIT = 8 * 1024 * 1024;
/** Copies in flight at once; past this the canary is slower than traffic and copies are dropped, not queued. */
export const MIRROR_MAX_IN_FLIGHT = 64;
/** Answers larger than this are not parsed for paired outputs. */
const PAIR_BODY_LIMIT = 4 * 1024 * 1024;

// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are never forwarded.
// `expect` is answered by this server already; `host` is set to the upstream's.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect', 'host']);

function forwardable(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !listed.has(name)) out[name] = value;
  }
  return out;
}

function upstreamPath(base: URL, url: string | undefined): string {
  const prefix = base.pathname.replace(/\/+$/, '');
  return `${prefix}${url ?? '/'}`;
}

/** Keep-alive connection pools to the upstreams, one per scheme; destroyed when the router closes. */
export class UpstreamAgents {
  readonly http = new http.Agent({ keepAlive: true, keepAliveMsecs: 1_000, maxFreeSockets: 64 });
  readonly https = new https.Agent({ keepAlive: true, keepAliveMsecs: 1_000, maxFreeSockets: 64 });

  request(base: URL, options: http.RequestOptions): http.ClientRequest {
    const secure = base.protocol === 'https:';
    return (secure ? https : http).request({ ...options, protocol: base.protocol, hostname: base.hostname, port: base.port, agent: secure ? this.https : this.http });
  }

  destroy(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

export interface DataPlaneOptions {
  readonly control: RouterControl;
  readonly metrics: RouterMetrics;
  readonly pairs: PairRing;
  readonly agents: UpstreamAgents;
  /** Longest an upstream may stay silent (before or between chunks) before the request is cut: 504. */
  readonly upstreamTimeoutMs: number;
  readonly logger: Logger;
}

function sendError(res: ServerResponse, status: number, message: string, labels?: { slot: Slot; version: string }): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify({ error: message });
  const headers: OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (labels) {
    headers['x-ferry-version'] = labels.version;
    headers['x-ferry-slot'] = labels.slot;
  }
  res.writeHead(status, headers);
  res.end(body);
}

class UpstreamTimeout extends Error {}

/** Collects a stream's bytes up to a limit; gives up (undefined) past it. */
class BoundedCollector {
  private chunks: Buffer[] = [];
  private size = 0;
  private over = false;

  constructor(private readonly limit: number) {}

  add(chunk: Buffer): void {
    if (this.over) return;
    this.size += chunk.length;
    if (this.size > this.limit) {
      this.over = true;
      this.chunks = [];
    } else {
      this.chunks.push(chunk);
    }
  }

  get tooLarge(): boolean {
    return this.over;
  }

  bytes(): Buffer | undefined {
    return this.over ? undefined : Buffer.concat(this.chunks, this.size);
  }
}

export class DataPlane {
  private mirrorsInFlight = 0;

  constructor(private readonly o: DataPlaneOptions) {}

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const arrivedMs = Date.now();
    const { config, chooser, pools } = this.o.control.snapshot;
    const decision = chooser.choose(req.headers);
    const version = config.versions[decision.slot];
    const pool = pools[decision.slot];
    if (version === null || pool === undefined) {
      req.resume();
      sendError(res, 503, `the ${decision.slot} slot has no version yet; point it at one with PUT /slots/${decision.slot} on the router's admin API`);
      return;
    }
    const canary = config.versions.canary;
    const canaryPool = pools.canary;
    let canaryOutputs: Promise<PairedOutput | undefined> | undefined;
    if (decision.mirror && canary !== null && canaryPool !== undefined) {
      if (this.mirrorsInFlight >= MIRROR_MAX_IN_FLIGHT) this.o.metrics.skipped(canary.name, 'busy');
      else canaryOutputs = this.mirror(req, canary, canaryPool);
    }
    const stableOutputs = this.forward(req, res, decision.slot, version, pool, canaryOutputs !== undefined && isInferRequest(req.method, req.url));
    if (canaryOutputs && stableOutputs) {
      void Promise.all([stableOutputs, canaryOutputs]).then(([s, c]) => {
        // An error or an answer without outputs on either side makes no pair.
        if (s !== undefined && c !== undefined) this.o.pairs.push({ t: arrivedMs, stable: s, canary: c });
      });
    }
  };

  /**
   * Sends the request to one replica of `slot` and streams its answer to the client. With
   * `collect`, also resolves to the answer's inference outputs (undefined when it has none).
   */
  private forward(req: IncomingMessage, res: ServerResponse, slot: Slot, version: VersionRef, pool: EndpointPool, collect: boolean): Promise<PairedOutput | undefined> | undefined {
    const start = performance.now();
    const base = pool.next();
    const labels = { slot, version: version.name };
    let recorded = false;
    let failed: number | undefined;
    const record = (code: number | string): void => {
      if (recorded) return;
      recorded = true;
      this.o.metrics.request(slot, version.name, code, (performance.now() - start) / 1000);
    };
    let settle: (v: PairedOutput | undefined) => void = () => undefined;
    const outputs = collect ? new Promise<PairedOutput | undefined>((resolve) => (settle = resolve)) : undefined;

    const headers = forwardable(req.headers);
    headers.host = base.host;
    const remote = req.socket.remoteAddress;
    if (remote) headers['x-forwarded-for'] = req.headers['x-forwarded-for'] ? `${String(req.headers['x-forwarded-for'])}, ${remote}` : remote;
    if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;

    const upstream = this.o.agents.request(base, { method: req.method, path: upstreamPath(base, req.url), headers });
    upstream.setTimeout(this.o.upstreamTimeoutMs, () => upstream.destroy(new UpstreamTimeout()));

    upstream.on('response', (answer) => {
      const status = answer.statusCode ?? 502;
      const out = forwardable(answer.headers);
      out['x-ferry-version'] = version.name;
      out['x-ferry-slot'] = slot;
      res.writeHead(status, answer.statusMessage, out);
      // A streamed answer (no length: SSE, chunked) gets its headers now, so the client sees the
      // stream open before the first token; a sized one sends them with its body, in one packet.
      if (answer.headers['content-length'] === undefined) res.flushHeaders();
      const body = collect && status === 200 ? new BoundedCollector(PAIR_BODY_LIMIT) : undefined;
      if (body) answer.on('data', (chunk: Buffer) => body.add(chunk));
      answer.pipe(res);
      answer.on('end', () => {
        const bytes = body?.bytes();
        settle(bytes ? inferOutput(bytes) : undefined);
      });
      answer.on('error', () => {
        // The upstream broke off mid-answer: the client must see a cut stream, not a short success.
        failed = 502;
        settle(undefined);
        res.destroy();
      });
      res.on('finish', () => record(failed ?? status));
    });

    upstream.on('error', (error) => {
      settle(undefined);
      const timedOut = error instanceof UpstreamTimeout;
      const code = timedOut ? 504 : 502;
      failed = code;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const why = timedOut
        ? `did not answer within ${this.o.upstreamTimeoutMs / 1000} s`
        : (error as NodeJS.ErrnoException).code?.startsWith('HPE_')
          ? `answered something that is not HTTP (${errorMessage(error)})`
          : `refused or reset the connection (${errorMessage(error)})`;
      sendError(res, code, `the ${slot} upstream ${base.origin} (version ${version.name}) ${why}`, labels);
      record(code);
    });

    res.on('close', () => {
      if (res.writableFinished) return;
      // The client went away (or the answer was cut): stop the upstream too.
      upstream.destroy();
      settle(undefined);
      record(failed ?? (res.headersSent ? res.statusCode : CLIENT_CLOSED));
    });

    req.on('error', () => upstream.destroy());
    req.pipe(upstream);
    return outputs;
  }

  /**
   * Copies the request to one canary replica once its body is in; the answer is measured and
   * dropped. Resolves to the canary's inference outputs, when the request is an inference.
   */
  private mirror(req: IncomingMessage, canary: VersionRef, pool: EndpointPool): Promise<PairedOutput | undefined> {
    const collectAnswer = isInferRequest(req.method, req.url);
    const body = new BoundedCollector(MIRROR_BODY_LIMIT);
    const method = req.method;
    const url = req.url;
    const headers = forwardable(req.headers);
    this.mirrorsInFlight += 1;
    return new Promise<PairedOutput | undefined>((resolve) => {
      let done = false;
      const finish = (outputs: PairedOutput | undefined): void => {
        if (done) return;
        done = true;
        this.mirrorsInFlight -= 1;
        resolve(outputs);
      };
      let received = false;
      req.on('data', (chunk: Buffer) => body.add(chunk));
      // A client that goes away mid-body leaves nothing to copy.
      req.on('close', () => {
        if (!received) finish(undefined);
      });
      req.on('end', () => {
        received = true;
        const bytes = body.bytes();
        if (!bytes) {
          this.o.metrics.skipped(canary.name, 'body-too-large');
          finish(undefined);
          return;
        }
        // Never send the canary a different request than stable got (a body cut short on the way in).
        const declared = req.headers['content-length'];
        if (declared !== undefined && Number(declared) !== bytes.length) {
          finish(undefined);
          return;
        }
        const start = performance.now();
        const base = pool.next();
        const copy = this.o.agents.request(base, {
          method,
          path: upstreamPath(base, url),
          headers: { ...headers, host: base.host, 'content-length': bytes.length, 'x-ferry-mirrored': 'true' },
        });
        let measured = false;
        const measure = (code: number | string): void => {
          // The request and its answer can both report one failure; count the copy once.
          if (measured) return;
          measured = true;
          this.o.metrics.mirror(canary.name, code, (performance.now() - start) / 1000);
        };
        copy.setTimeout(this.o.upstreamTimeoutMs, () => copy.destroy(new UpstreamTimeout()));
        copy.on('response', (answer) => {
          const status = answer.statusCode ?? 502;
          const collected = collectAnswer && status === 200 ? new BoundedCollector(PAIR_BODY_LIMIT) : undefined;
          answer.on('data', (chunk: Buffer) => collected?.add(chunk));
          answer.on('end', () => {
            measure(status);
            const b = collected?.bytes();
            finish(b ? inferOutput(b) : undefined);
          });
          answer.on('error', () => {
            measure(502);
            finish(undefined);
          });
        });
        copy.on('error', (error) => {
          measure(error instanceof UpstreamTimeout ? 504 : 502);
          this.o.logger.debug(`mirror copy to canary ${base.origin} (version ${canary.name}) failed: ${errorMessage(error)}`);
          finish(undefined);
        });
        copy.end(bytes);
      });
    });
  }
}
