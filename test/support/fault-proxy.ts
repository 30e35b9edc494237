// An HTTP proxy in front of a real registry that records every request and injects the faults a
// registry or the network in between produces: an error status, an upload that stalls part way,
// a connection reset. The registry behind it is untouched; Location headers keep pointing at the
// proxy because the Host header is passed through.
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  /** Answer this status at once, without forwarding. */
  | { kind: 'status'; status: number }
  /** Forward the first `afterBytes` of the body, then stop reading and never answer (only bodies longer than that match). */
  | { kind: 'stall'; afterBytes: number }
  /** Forward the first `afterBytes` of the body, then drop the connection (only bodies longer than that match). */
  | { kind: 'reset'; afterBytes: number };

export interface FaultRule {
  method?: string;
  /** Tested against the path with its query string. */
  path?: RegExp;
  /** Matching requests to let through before the fault applies. Default 0. */
  skip?: number;
  /** How many matching requests get the fault. Default 1. */
  times?: number;
  fault: Fault;
}

export interface ProxiedRequest {
  method: string;
  /** Path and query. */
  url: string;
  /** Request body bytes the proxy received from the client. */
  bodyBytes: number;
  /** Status the client got; undefined when a fault answered nothing. */
  status: number | undefined;
  fault: Fault['kind'] | undefined;
}

export interface FaultProxy {
  /** 127.0.0.1:port, as image references spell it. */
  readonly host: string;
  readonly requests: ProxiedRequest[];
  /** Adds rules; each applies to the requests that match it from now on. */
  inject(...rules: FaultRule[]): void;
  /** Forgets the recorded requests (rules stay). */
  reset(): void;
  close(): Promise<void>;
}

interface ActiveRule extends FaultRule {
  seen: number;
  applied: number;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const [targetHost, targetPort] = target.split(':') as [string, string];
  const rules: ActiveRule[] = [];
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();

  const pickFault = (request: IncomingMessage): Fault | undefined => {
    const bodyLength = Number(request.headers['content-length'] ?? 0);
    for (const rule of rules) {
      if (rule.method !== undefined && rule.method !== request.method) continue;
      if (rule.path !== undefined && !rule.path.test(request.url ?? '')) continue;
      // A fault part way through a body only counts for bodies long enough to be cut.
      if (rule.fault.kind !== 'status' && bodyLength <= rule.fault.afterBytes) continue;
      rule.seen++;
      if (rule.seen <= (rule.skip ?? 0) || rule.applied >= (rule.times ?? 1)) continue;
      rule.applied++;
      return rule.fault;
    }
    return undefined;
  };

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const record: ProxiedRequest = { method: request.method ?? '', url: request.url ?? '', bodyBytes: 0, status: undefined, fault: undefined };
    requests.push(record);
    const fault = pickFault(request);
    record.fault = fault?.kind;
    if (fault?.kind === 'status') {
      request.on('data', (chunk: Buffer) => (record.bodyBytes += chunk.length));
      record.status = fault.status;
      response.writeHead(fault.status, { 'content-type': 'application/json', connection: 'close' });
      response.end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'injected fault' }] }));
      return;
    }
    const upstream = httpRequest({ host: targetHost, port: Number(targetPort), method: request.method, path: request.url, headers: request.headers });
    upstream.on('response', (answer) => {
      record.status = answer.statusCode;
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    upstream.on('error', () => response.destroy());
    // The client gave up (or the exchange is over): nothing more goes to the registry.
    response.on('close', () => upstream.destroy());
    const limit = fault === undefined ? Infinity : fault.afterBytes;
    let forwarded = 0;
    request.on('data', (chunk: Buffer) => {
      if (forwarded >= limit) return;
      const part = chunk.subarray(0, limit - forwarded);
      forwarded += part.length;
      record.bodyBytes += part.length;
      upstream.write(part);
      if (forwarded < limit) return;
      if (fault?.kind === 'reset') {
        upstream.destroy();
        request.socket.destroy();
      } else if (fault?.kind === 'stall') {
        // Stop reading: the client's socket buffer fills and it sees no progress at all.
        request.pause();
        request.socket.pause();
      }
    });
    request.on('end', () => {
      if (forwarded < limit) upstream.end();
    });
  };

  const server = createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    inject(...added) {
      for (const rule of added) rules.push({ ...rule, seen: 0, applied: 0 });
    },
    reset() {
      requests.length = 0;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
