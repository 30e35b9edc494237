// The local embedded router: a weighted HTTP router for one machine (demos, tests, small
// deployments), with its admin API on a second loopback port. The LocalRouterTarget drives it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { errorMessage, InfrastructureError, InputError, silentLogger, type Logger } from '@ferry/core';
import { FileStateStore } from '../../state/store.js';
import type { Slot, VersionRef } from '../../target/types.js';
import { AdminApi } from './admin.js';
import { parseVersion, RouterInputError } from './config.js';
import { RouterControl } from './control.js';
import { PairRing } from './mirror.js';
import { DataPlane, UpstreamAgents } from './proxy.js';
import { RouterMetrics } from './router-metrics.js';

export const STATE_FILE = 'rollout.json';
const DEFAULT_UPSTREAM_TIMEOUT_MS = 60_000;
const DEFAULT_DRAIN_MS = 5_000;

export interface RouterOptions {
  /** Data-plane port on 127.0.0.1; 0 picks a free one. */
  readonly port: number;
  /** Admin API port on 127.0.0.1; 0 picks a free one. */
  readonly adminPort: number;
  /** Keeps routing.json (the split, restored on restart) and rollout.json (the rollout record). */
  readonly stateDir: string;
  /** Versions for a router with no routing.json yet; a stored split always wins. */
  readonly stable?: VersionRef;
  readonly canary?: VersionRef;
  /** Bearer token the admin API requires (all but /healthz). Never logged. */
  readonly token?: string;
  /** Longest an upstream may stay silent before the request is cut with 504 (default 60 s). */
  readonly upstreamTimeoutMs?: number;
  /** On close, how long in-flight requests may finish before their connections are cut (default 5 s). */
  readonly drainMs?: number;
  readonly logger?: Logger;
}

export interface RunningRouter {
  /** http://127.0.0.1:<port>: where clients send requests. */
  readonly url: string;
  /** http://127.0.0.1:<adminPort>: the admin API. */
  readonly adminUrl: string;
  /** Stops listening, lets in-flight requests finish (up to drainMs), closes upstream connections. */
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

function listen(server: http.Server, port: number, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      if (err.code === 'EADDRINUSE') reject(new InputError(`${what}: port ${port} on ${HOST} is already in use`, { subject: what, hint: 'choose another port, or 0 for a free one' }));
      else if (err.code === 'EACCES') reject(new InputError(`${what}: not allowed to listen on port ${port} (ports below 1024 need privileges)`, { subject: what }));
      else reject(new InfrastructureError(`${what}: cannot listen on ${HOST}:${port}: ${errorMessage(err)}`, { service: 'network' }));
    };
    server.once('error', onError);
    server.listen({ host: HOST, port }, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InputError(`${what} must be a port number in [0, 65535], got ${port}`, { subject: what });
}

function initialVersion(v: VersionRef | undefined, slot: Slot): VersionRef | undefined {
  if (v === undefined) return undefined;
  try {
    return parseVersion(v, `${slot} version`) ?? undefined;
  } catch (error) {
    if (error instanceof RouterInputError) throw new InputError(error.message, { subject: `${slot} version` });
    throw error;
  }
}

/** Stops accepting, lets in-flight requests finish for up to `drainMs`, then cuts what is left. */
async function closeServer(server: http.Server, drainMs: number): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, drainMs);
  });
  await Promise.race([closed, cut]);
  clearTimeout(timer);
  await closed;
}

export async function startRouter(options: RouterOptions): Promise<RunningRouter> {
  const logger = options.logger ?? silentLogger;
  checkPort(options.port, 'port');
  checkPort(options.adminPort, 'admin port');
  if (options.token !== undefined) {
    if (options.token === '') throw new InputError('the admin token is empty; give a non-empty token or none', { subject: 'token' });
    logger.setSecret(options.token);
  }
  const initial: Partial<Record<Slot, VersionRef>> = {};
  const stable = initialVersion(options.stable, 'stable');
  const canary = initialVersion(options.canary, 'canary');
  if (stable) initial.stable = stable;
  if (canary) initial.canary = canary;

  const metrics = new RouterMetrics();
  const control = await RouterControl.open(options.stateDir, initial, metrics, logger);
  const pairs = new PairRing();
  const agents = new UpstreamAgents();
  const dataPlane = new DataPlane({ control, metrics, pairs, agents, upstreamTimeoutMs: options.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS, logger });
  const admin = new AdminApi({ control, metrics, pairs, state: new FileStateStore(join(options.stateDir, STATE_FILE)), token: options.token, logger });

  // Upstream answers stream through as they come; Nagle would hold small SSE chunks back.
  const dataServer = http.createServer({ noDelay: true, keepAlive: true }, dataPlane.handle);
  const adminServer = http.createServer(admin.handle);
  // Long streams (SSE) must not be cut by the server's default request timeout.
  dataServer.requestTimeout = 0;
  dataServer.headersTimeout = 60_000;

  const drainMs = options.drainMs ?? DEFAULT_DRAIN_MS;
  let port: number;
  let adminPort: number;
  try {
    port = await listen(dataServer, options.port, 'port');
    adminPort = await listen(adminServer, options.adminPort, 'admin port');
  } catch (error) {
    await closeServer(dataServer, 0);
    agents.destroy();
    throw error;
  }
  const url = `http://${HOST}:${port}`;
  const adminUrl = `http://${HOST}:${adminPort}`;
  const { config } = control;
  logger.info(`router on ${url} (admin ${adminUrl}${options.token ? ', token required' : ''}): stable ${config.versions.stable?.name ?? 'unset'} ${config.weights.stable}% / canary ${config.versions.canary?.name ?? 'unset'} ${config.weights.canary}% (${config.routing.kind})`);

  let closing: Promise<void> | undefined;
  return {
    url,
    adminUrl,
    close: () => {
      closing ??= (async () => {
        await Promise.all([closeServer(dataServer, drainMs), closeServer(adminServer, drainMs)]);
        await control.settle();
        agents.destroy();
      })();
      return closing;
    },
  };
}
