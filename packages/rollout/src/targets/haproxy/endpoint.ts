// Version endpoints (http://host:port base URLs) as HAProxy server addresses and back. HAProxy's
// `set server … addr` takes an IP literal only, so a host name is resolved here, once: HAProxy
// will keep that IP until told otherwise (it does not re-resolve a name set this way).
import { InputError } from '@ferry/core';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export interface ServerAddress {
  readonly ip: string;
  readonly port: number;
}

/** Resolves one endpoint of `version`; the errors name the endpoint and the version. */
export async function serverAddressOf(endpoint: string, version: string): Promise<ServerAddress> {
  const where = `endpoint ${JSON.stringify(endpoint)} of version ${version}`;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new InputError(`${where} is not a URL (want http://host:port)`, { subject: 'endpoints' });
  }
  if (url.protocol !== 'http:') {
    // TLS to a server is fixed in haproxy.cfg (`ssl` on the server line); the runtime API cannot switch it.
    throw new InputError(`${where}: the HAProxy target sends plain HTTP to its servers, so endpoints must be http://, not ${url.protocol}//`, { subject: 'endpoints' });
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.username !== '' || url.password !== '') {
    throw new InputError(`${where}: an HAProxy server is an address and a port, so the endpoint cannot carry a path, query or credentials`, { subject: 'endpoints' });
  }
  const port = url.port === '' ? 80 : Number(url.port);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) !== 0) return { ip: host, port };

  let addresses: { address: string; family: number }[];
  try {
    addresses = await lookup(host, { all: true });
  } catch (error) {
    throw new InputError(`${where}: cannot resolve ${host} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); HAProxy's runtime API takes IP addresses only`, {
      subject: 'endpoints',
      cause: error,
    });
  }
  // IPv4 first: a server started on the default 127.0.0.1 is not reachable at ::1, which
  // `localhost` often resolves to first.
  const chosen = [...addresses].sort((a, b) => a.family - b.family)[0];
  if (!chosen) throw new InputError(`${where}: ${host} resolves to no address`, { subject: 'endpoints' });
  return { ip: chosen.address, port };
}

/** The endpoint a server sends to, as a base URL; a server with no port (0) uses the client's. */
export function endpointOf(ip: string, port: number): string {
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return port === 0 ? `http://${host}` : `http://${host}:${port}`;
}
