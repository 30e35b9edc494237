// What a registry with logins needs in tests: an htpasswd file (bcrypt, made by Apache's htpasswd)
// for basic auth, a token service for bearer auth, and a certificate for HTTPS. The token service is the one part of
// distribution's token flow that has no packaged server: it checks a user's password and signs
// a JWT with a key whose certificate the registry trusts (x5c header, RS256), as the token spec says.
import { createPrivateKey, createSign, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { checkedCommand, makeWorkDir, requireBinary } from './components/index.js';

export interface RegistryUser {
  username: string;
  password: string;
}

/** An htpasswd file with bcrypt entries for `users`, in a work dir removed by stopAll(). */
export async function makeHtpasswd(users: readonly RegistryUser[]): Promise<string> {
  const htpasswd = requireBinary('htpasswd', 'apache2-utils');
  const dir = await makeWorkDir('htpasswd');
  const lines: string[] = [];
  for (const { username, password } of users) lines.push((await checkedCommand(htpasswd, ['-nbB', username, password])).trim());
  const file = join(dir.path, 'htpasswd');
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

export interface ServerCertificate {
  /** PEM files. */
  certificate: string;
  key: string;
}

/** A self-signed certificate for 127.0.0.1, for a registry serving HTTPS on loopback. */
export async function makeServerCertificate(): Promise<ServerCertificate> {
  const openssl = requireBinary('openssl', 'openssl');
  const dir = await makeWorkDir('tls');
  const certificate = join(dir.path, 'registry.crt');
  const key = join(dir.path, 'registry.key');
  await checkedCommand(openssl, [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', certificate, '-days', '2',
    '-subj', '/CN=ferry-test-registry', '-addext', 'subjectAltName=IP:127.0.0.1',
  ]);
  return { certificate, key };
}

export interface TokenRequestRecord {
  /** User name presented, or undefined for an anonymous request. */
  username: string | undefined;
  scopes: string[];
  granted: boolean;
}

export interface TokenServer {
  /** http://127.0.0.1:port/token */
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** PEM certificate the registry's rootcertbundle points at. */
  readonly rootCertBundle: string;
  readonly requests: TokenRequestRecord[];
  close(): Promise<void>;
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

function parseBasic(header: string | undefined): RegistryUser | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * A token service on loopback. Known users get every action they ask for; a wrong password gets
 * 401; anonymous requests get a token with no access (the registry then answers 401 itself).
 */
export async function startTokenServer(users: readonly RegistryUser[]): Promise<TokenServer> {
  const openssl = requireBinary('openssl', 'openssl');
  const dir = await makeWorkDir('token-server');
  const keyFile = join(dir.path, 'key.pem');
  const certFile = join(dir.path, 'cert.pem');
  await checkedCommand(openssl, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=ferry-test-token-signer']);
  const key = createPrivateKey(await readFile(keyFile));
  const certificate = pemToDer(await readFile(certFile, 'utf8')).toString('base64');
  const service = 'ferry-test-registry';
  const issuer = 'ferry-test-token-service';
  const requests: TokenRequestRecord[] = [];

  const sign = (subject: string, access: { type: string; name: string; actions: string[] }[]) => {
    const now = Math.floor(Date.now() / 1000);
    const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [certificate] }));
    const claims = base64url(
      JSON.stringify({ iss: issuer, sub: subject, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access }),
    );
    const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(key);
    return `${header}.${claims}.${base64url(signature)}`;
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://token');
    const scopes = url.searchParams.getAll('scope');
    const presented = parseBasic(request.headers.authorization);
    const known = presented !== undefined && users.some((u) => u.username === presented.username && u.password === presented.password);
    requests.push({ username: presented?.username, scopes, granted: known });
    if (url.pathname !== '/token') return void response.writeHead(404).end();
    if (presented !== undefined && !known) {
      response.writeHead(401, { 'content-type': 'application/json' });
      return void response.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] }));
    }
    const access = known
      ? scopes.map((scope) => {
          const [type, ...rest] = scope.split(':');
          const actions = rest.pop() ?? '';
          return { type: type ?? '', name: rest.join(':'), actions: actions.split(',').filter(Boolean) };
        })
      : [];
    const token = sign(presented?.username ?? '', access);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertBundle: certFile,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
