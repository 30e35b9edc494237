// How one registry wants to be authenticated, learned from its challenge on GET /v2/ (none, basic,
// or bearer tokens from a token service), and the Authorization header for each request. Tokens
// are cached per set of scopes until shortly before they expire. Every credential and token is
// registered as a secret, so the client can scrub it from any message.
import type { OutgoingHttpHeaders } from 'node:http';
import { InfrastructureError, InputError } from '@ferry/core';
import type { Logger } from '@ferry/core';
import { parseChallenges } from './challenge.js';
import { findCredentials, redact, secretsOf } from './credentials.js';
import type { RegistryCredentials } from './credentials.js';
import { unexpectedResponse } from './errors.js';
import type { HttpResponse } from './http.js';
import { TransientError } from './retry.js';

/** What the authenticator needs from the client: one plain exchange, and the retry loop. */
export interface AuthTransport {
  readonly registry: string;
  readonly baseUrl: URL;
  readonly logger: Logger;
  send(request: { method: string; url: string | URL; headers?: OutgoingHttpHeaders; body?: Buffer }, authorization?: string): Promise<HttpResponse>;
  retrying<T>(what: string, attempt: () => Promise<T>): Promise<T>;
}

export interface AuthOptions {
  credentials?: RegistryCredentials;
  /** false: never read auth files. */
  credentialFiles?: boolean;
  env?: Readonly<Record<string, string | undefined>>;
  /** A plain-HTTP registry may use a plain-HTTP token service; otherwise credentials only go over HTTPS. */
  plainHttp?: boolean;
}

type Scheme = { kind: 'none' } | { kind: 'basic' } | { kind: 'bearer'; realm: string; service: string | undefined };

const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
const scopeKey = (scopes: readonly string[]) => [...scopes].sort().join(' ');

export class RegistryAuth {
  private scheme: Scheme | undefined;
  private lookup: Promise<RegistryCredentials | undefined> | undefined;
  private readonly tokens = new Map<string, { value: string; expiresAt: number }>();
  private readonly secrets = new Set<string>();

  constructor(
    private readonly transport: AuthTransport,
    private readonly options: AuthOptions,
  ) {
    if (options.credentials) this.remember(secretsOf(options.credentials));
  }

  /** `text` with every known credential and token replaced by ***. */
  redact(text: string): string {
    return redact(text, this.secrets);
  }

  /** GET /v2/ without credentials: 200 means none needed, 401 carries the challenge. */
  async discover(): Promise<void> {
    const response = await this.transport.send({ method: 'GET', url: '/v2/' });
    await response.drain();
    if (response.status === 200) {
      this.scheme = { kind: 'none' };
    } else if (response.status === 401) {
      this.learn(response.header('www-authenticate'));
    } else if (response.status >= 500) {
      throw new TransientError(`GET /v2/: HTTP ${response.status}`);
    } else {
      throw new InfrastructureError(`${this.transport.baseUrl.origin} does not answer the registry API (GET /v2/ returned HTTP ${response.status})`, {
        service: this.transport.registry,
      });
    }
  }

  /** Takes the challenge of a 401; a bearer challenge's own scope is returned, to be asked for too. */
  learn(header: string | undefined): string | undefined {
    const challenges = parseChallenges(header ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    if (bearer) {
      this.scheme = { kind: 'bearer', realm: bearer.params.realm!, service: bearer.params.service };
      return bearer.params.scope;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      this.scheme = { kind: 'basic' };
      return undefined;
    }
    throw new InfrastructureError(`registry ${this.transport.registry} asks for an unsupported authentication: ${header ?? '(no WWW-Authenticate header)'}`, {
      service: this.transport.registry,
    });
  }

  /** Drops the cached token for these scopes (the registry refused it). */
  forget(scopes: readonly string[]): void {
    this.tokens.delete(scopeKey(scopes));
  }

  /** The Authorization header for a request needing `scopes`, or undefined when none is needed or known. */
  async header(scopes: readonly string[]): Promise<string | undefined> {
    if (this.scheme === undefined) await this.discover();
    const scheme = this.scheme!;
    if (scheme.kind === 'none') return undefined;
    const credentials = await this.credentials();
    if (scheme.kind === 'basic') {
      if (credentials === undefined) return undefined;
      if (!('password' in credentials)) {
        throw new InputError(`registry ${this.transport.registry} asks for a user name and password, but the credentials found are a token`, {
          subject: 'registry-password',
        });
      }
      return basic(credentials.username, credentials.password);
    }
    if (credentials !== undefined && 'registryToken' in credentials) return `Bearer ${credentials.registryToken}`;
    return `Bearer ${await this.token(scheme, scopes, credentials)}`;
  }

  /** The error for a request the registry still refuses after authenticating. */
  async denied(method: string, path: string, status: number): Promise<InputError> {
    const credentials = await this.credentials();
    const who = credentials === undefined ? 'anonymous access' : 'the credentials';
    return new InputError(`registry ${this.transport.registry} refused ${who} for ${method} ${path} (HTTP ${status})`, {
      subject: 'registry-password',
      hint:
        credentials === undefined
          ? 'give registry credentials as inputs or log in (docker login / podman login) so they are in the docker config file'
          : 'check that the user may push to this repository',
    });
  }

  private credentials(): Promise<RegistryCredentials | undefined> {
    this.lookup ??= (async () => {
      if (this.options.credentials) return this.options.credentials;
      if (this.options.credentialFiles === false) return undefined;
      const found = await findCredentials(this.transport.registry, this.options.env ?? process.env);
      if (found === undefined) {
        this.transport.logger.debug(`registry ${this.transport.registry}: no credentials found, continuing anonymously`);
        return undefined;
      }
      this.remember(secretsOf(found.credentials));
      this.transport.logger.debug(`registry ${this.transport.registry}: using credentials from ${found.from}`);
      return found.credentials;
    })();
    return this.lookup;
  }

  private remember(secrets: readonly string[]): void {
    for (const secret of secrets) {
      this.secrets.add(secret);
      this.transport.logger.setSecret(secret);
    }
  }

  private async token(scheme: { realm: string; service: string | undefined }, scopes: readonly string[], credentials: RegistryCredentials | undefined): Promise<string> {
    const key = scopeKey(scopes);
    const cached = this.tokens.get(key);
    if (cached !== undefined && cached.expiresAt > Date.now()) return cached.value;
    const realm = new URL(scheme.realm);
    const registry = this.transport.registry;
    if (realm.protocol !== 'https:' && credentials !== undefined && !this.options.plainHttp) {
      throw new InputError(`registry ${registry} sends credentials to a plain-HTTP token service (${realm.origin}); refusing`, { subject: 'registry-password' });
    }
    const what = `token from ${realm.origin}${realm.pathname}`;
    const text = await this.transport.retrying(what, async () => {
      const url = new URL(realm);
      const headers: OutgoingHttpHeaders = {};
      let body: Buffer | undefined;
      if (credentials !== undefined && 'identityToken' in credentials) {
        // An OAuth2 refresh token is exchanged by POST (the distribution token spec).
        const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.identityToken, client_id: 'ferry' });
        if (scheme.service !== undefined) form.set('service', scheme.service);
        if (scopes.length > 0) form.set('scope', scopes.join(' '));
        body = Buffer.from(form.toString());
        headers['content-type'] = 'application/x-www-form-urlencoded';
        headers['content-length'] = String(body.length);
      } else {
        if (scheme.service !== undefined) url.searchParams.set('service', scheme.service);
        for (const scope of scopes) url.searchParams.append('scope', scope);
        if (credentials !== undefined && 'password' in credentials) headers.authorization = basic(credentials.username, credentials.password);
      }
      const answer = await this.transport.send({ method: body ? 'POST' : 'GET', url, headers, ...(body ? { body } : {}) });
      if (answer.status === 401 || answer.status === 403) {
        await answer.drain();
        throw new InputError(`the token service of registry ${registry} refused ${credentials === undefined ? 'anonymous access' : 'the credentials'} (HTTP ${answer.status})`, {
          subject: 'registry-password',
          hint: 'check the registry user name and password (or the docker config file they came from)',
        });
      }
      if (answer.status !== 200) throw await unexpectedResponse(answer, what, registry);
      return answer.text(1024 * 1024);
    });
    let parsed: { token?: string; access_token?: string; expires_in?: number };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new InfrastructureError(`${what}: the answer is not JSON`, { service: registry });
    }
    const value = parsed.token ?? parsed.access_token;
    if (!value) throw new InfrastructureError(`${what}: the answer holds no token`, { service: registry });
    this.remember([value]);
    // Renewed a little early; distribution's default lifetime is 60 s.
    const lifetime = Math.max(5, (parsed.expires_in ?? 60) - 10);
    this.tokens.set(key, { value, expiresAt: Date.now() + lifetime * 1000 });
    return value;
  }
}
