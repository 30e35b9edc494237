// The router's admin API, on its own loopback port: read and change the split, point slots at
// versions, keep the rollout record (compare-and-set), hand out mirrored pairs and metrics.
// Every refusal is JSON {"error": …} naming the field at fault, so the rollout step can show it.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONTENT_TYPES, errorMessage, negotiateFormat, type Logger } from '@ferry/core';
import { StateConflictError, StateCorruptError, type StateStore } from '../../state/store.js';
import type { Slot } from '../../target/types.js';
import { parseRouting, parseVersion, parseWeights, RouterConflictError, RouterInputError, type RouterConfig } from './config.js';
import type { RouterControl } from './control.js';
import type { PairRing } from './mirror.js';
import type { RouterMetrics } from './router-metrics.js';

const BODY_LIMIT = 1024 * 1024;

export interface AdminOptions {
  readonly control: RouterControl;
  readonly metrics: RouterMetrics;
  readonly pairs: PairRing;
  readonly state: StateStore;
  /** Bearer token every request but /healthz must carry; undefined: no check (loopback only). */
  readonly token: string | undefined;
  readonly logger: Logger;
}

/** The answer of GET and PUT /routing. */
export function routingView(config: RouterConfig): Record<string, unknown> {
  return {
    weights: config.weights,
    routing: config.routing,
    endpoints: { stable: config.versions.stable?.endpoints ?? [], canary: config.versions.canary?.endpoints ?? [] },
    versions: config.versions,
  };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT) throw new HttpError(413, `request body is larger than ${BODY_LIMIT} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `request body is not valid JSON (${errorMessage(error)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new HttpError(400, 'request body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function authorized(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!.trim());
  const want = Buffer.from(token);
  // Constant time, so the token cannot be guessed byte by byte from response times.
  return given.length === want.length && timingSafeEqual(given, want);
}

export class AdminApi {
  constructor(private readonly o: AdminOptions) {}

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.route(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) sendJson(res, error.status, { error: error.message, ...error.extra }, error.headers);
      else if (error instanceof RouterInputError) sendJson(res, 400, { error: error.message });
      else if (error instanceof RouterConflictError) sendJson(res, 409, { error: error.message });
      else if (error instanceof StateConflictError) sendJson(res, 412, { error: error.message, found: error.found });
      else if (error instanceof StateCorruptError) sendJson(res, 500, { error: error.message, corrupt: true });
      else {
        this.o.logger.error(`admin ${req.method} ${req.url}: ${errorMessage(error)}`);
        sendJson(res, 500, { error: errorMessage(error) });
      }
    });
  };

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path === '/healthz') {
      // Unauthenticated on purpose: liveness probes carry no token.
      sendJson(res, 200, { ok: true });
      return;
    }
    if (this.o.token !== undefined && !authorized(req.headers.authorization, this.o.token)) {
      req.resume();
      sendJson(res, 401, { error: 'missing or wrong bearer token (Authorization: Bearer <token>)' }, { 'www-authenticate': 'Bearer realm="ferry-router"' });
      return;
    }
    const allow = (methods: string): void => {
      if (!methods.split(', ').includes(method)) throw new HttpError(405, `${method} is not allowed on ${path}; use ${methods}`, {}, { allow: methods });
    };
    switch (path) {
      case '/routing':
        allow('GET, PUT');
        if (method === 'GET') {
          sendJson(res, 200, routingView(this.o.control.config));
        } else {
          const body = await readJson(req);
          const config = await this.o.control.setRouting(parseWeights(body.weights), parseRouting(body.routing));
          this.o.logger.info(`routing now stable ${config.weights.stable}% / canary ${config.weights.canary}% (${config.routing.kind})`);
          sendJson(res, 200, routingView(config));
        }
        return;
      case '/slots/stable':
      case '/slots/canary': {
        allow('PUT');
        const slot = path.slice('/slots/'.length) as Slot;
        const body = await readJson(req);
        if (!('version' in body)) throw new HttpError(400, 'request body must be {"version": {"name": …, "endpoints": [url, …]}} (or {"version": null} to clear the slot)');
        const config = await this.o.control.setVersion(slot, parseVersion(body.version));
        this.o.logger.info(`${slot} slot now serves ${config.versions[slot]?.name ?? 'nothing'}`);
        sendJson(res, 200, routingView(config));
        return;
      }
      case '/state':
        allow('GET, PUT');
        if (method === 'GET') {
          const record = await this.o.state.read();
          if (record === null) sendJson(res, 404, { error: 'no rollout record has been written yet' });
          else sendJson(res, 200, { revision: record.revision, data: record.data });
        } else {
          const match = req.headers['if-match'];
          const expected = Number(typeof match === 'string' ? match.replace(/^"|"$/g, '') : NaN);
          if (!Number.isInteger(expected) || expected < 0) throw new HttpError(428, `PUT /state needs an If-Match header with the revision read (0 when none), got ${JSON.stringify(match ?? null)}`);
          const body = await readJson(req);
          if (!('data' in body)) throw new HttpError(400, 'request body must be {"data": …}');
          const revision = await this.o.state.write(body.data, expected);
          sendJson(res, 200, { revision });
        }
        return;
      case '/mirror/pairs': {
        allow('GET');
        const raw = url.searchParams.get('since') ?? '0';
        const since = Number(raw);
        if (!Number.isFinite(since)) throw new HttpError(400, `since must be epoch milliseconds, got ${JSON.stringify(raw)}`);
        sendJson(res, 200, { pairs: this.o.pairs.since(since) });
        return;
      }
      case '/metrics': {
        allow('GET');
        const format = negotiateFormat(req.headers.accept);
        const text = this.o.metrics.registry.render(format);
        res.writeHead(200, { 'content-type': CONTENT_TYPES[format], 'content-length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      default:
        throw new HttpError(404, `no admin endpoint ${path}; see GET /routing, PUT /routing, PUT /slots/<stable|canary>, GET|PUT /state, GET /mirror/pairs, GET /metrics, GET /healthz`);
    }
  }
}
