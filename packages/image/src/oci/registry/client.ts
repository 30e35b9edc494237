// A client for one registry speaking the OCI distribution API: requests with authentication
// (auth.ts), retries with backoff, and the manifest and blob reads and writes the image build
// needs. Uploads live in upload.ts. Every error message passes through redaction before it leaves.
import { Agent as HttpAgent } from 'node:http';
import type { OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { Readable } from 'node:stream';
import { CancelledError, errorMessage, FerryError, InfrastructureError, InputError, silentLogger, throwIfCancelled } from '@ferry/core';
import type { Logger } from '@ferry/core';
import { isDigest, sha256Digest } from '../digest.js';
import type { Digest } from '../digest.js';
import { MANIFEST_ACCEPT } from '../media-types.js';
import { apiHost } from '../reference.js';
import { RegistryAuth } from './auth.js';
import type { RegistryCredentials } from './credentials.js';
import { RegistryResponseError, unexpectedResponse } from './errors.js';
import { exchange } from './http.js';
import type { HttpResponse } from './http.js';
import { BlobCheck, readLimited, RemoteBlobSource } from './remote-blob.js';
import { backoff, DEFAULT_RETRY, isAbort, isTransient, TransientError } from './retry.js';
import type { RetryPolicy } from './retry.js';

export interface RegistryClientOptions {
  /** host[:port] as in image references (docker.io for Docker Hub). */
  registry: string;
  /** Explicit credentials; without them the standard auth files are read (see findCredentials). */
  credentials?: RegistryCredentials;
  /** Set false to never read auth files (anonymous unless `credentials`). Default true. */
  credentialFiles?: boolean;
  /** Environment for locating auth files; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Plain HTTP instead of HTTPS: only when explicitly asked for. */
  plainHttp?: boolean;
  /** HTTPS without certificate verification: only when explicitly asked for. */
  insecureSkipVerify?: boolean;
  /** Extra CA certificates (PEM) to trust, for a registry with a private CA. */
  ca?: string | Buffer;
  /** Idle timeout of one request: no byte sent or received for this long fails it. Default 60 s. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Bytes per PATCH of a chunked upload. Default 64 MiB. */
  chunkSize?: number;
  logger?: Logger;
  signal?: AbortSignal;
  userAgent?: string;
}

/** Counters a caller can show: requests made and blob bytes handed to the network. */
export interface RegistryClientStats {
  requests: number;
  bytesSent: number;
}

export interface FetchedManifest {
  mediaType: string;
  digest: Digest;
  bytes: Buffer;
}

export interface RequestSpec {
  method: string;
  /** A path under the registry (/v2/…) or an absolute URL (an upload Location). */
  url: string | URL;
  /** Token scopes the request needs, e.g. repository:team/model:pull,push */
  scopes: readonly string[];
  headers?: OutgoingHttpHeaders;
  /** Called for each try, so a body can be replayed after an auth challenge. */
  body?: () => Promise<Buffer | Readable>;
  onBodyBytes?: (bytes: number) => void;
  /** Follow redirects (GET/HEAD only); credentials are not sent to another host. */
  followRedirects?: boolean;
}

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
export const DEFAULT_CHUNK_SIZE = 64 * 1024 * 1024;

export const pullScope = (repository: string) => `repository:${repository}:pull`;
export const pushScope = (repository: string) => `repository:${repository}:pull,push`;

export class RegistryClient {
  readonly registry: string;
  readonly baseUrl: URL;
  readonly retry: RetryPolicy;
  readonly chunkSize: number;
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly signal: AbortSignal | undefined;
  readonly stats: RegistryClientStats = { requests: 0, bytesSent: 0 };
  private readonly options: RegistryClientOptions;
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private readonly httpsAgent: HttpsAgent;
  private readonly auth: RegistryAuth;

  constructor(options: RegistryClientOptions) {
    this.options = options;
    this.registry = options.registry;
    this.baseUrl = new URL(`${options.plainHttp ? 'http' : 'https'}://${apiHost(options.registry)}`);
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.logger = options.logger ?? silentLogger;
    this.signal = options.signal;
    this.httpsAgent = new HttpsAgent({
      keepAlive: true,
      rejectUnauthorized: options.insecureSkipVerify !== true,
      // Node's `ca` replaces the trusted roots; a private CA is added to them instead.
      ...(options.ca === undefined ? {} : { ca: [...rootCertificates, options.ca] }),
    });
    this.auth = new RegistryAuth(this, options);
  }

  /** Closes idle connections. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /** Checks the registry answers the distribution API, and learns how it authenticates. */
  async ping(): Promise<void> {
    await this.retrying('GET /v2/', () => this.auth.discover());
  }

  /** A manifest or index by tag or digest, checked against the digest when one was asked for. */
  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const what = `GET ${repository} manifest ${reference}`;
    return this.retrying(what, async () => {
      const response = await this.request({
        method: 'GET',
        url: `/v2/${repository}/manifests/${reference}`,
        scopes: [pullScope(repository)],
        headers: { accept: MANIFEST_ACCEPT },
      });
      if (response.status === 404) {
        await response.drain();
        throw new InputError(`${this.registry}/${repository}:${reference} was not found in the registry`, { subject: 'image' });
      }
      if (response.status !== 200) throw await unexpectedResponse(response, what, this.registry);
      const bytes = await readLimited(response.body, MAX_MANIFEST_BYTES, what);
      const digest = sha256Digest(bytes);
      if (isDigest(reference) && digest !== reference) {
        throw new InfrastructureError(`${what}: the registry returned content with digest ${digest}`, { service: this.registry });
      }
      const declared = (JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType;
      const contentType = response.header('content-type')?.split(';')[0]?.trim();
      return { mediaType: declared ?? contentType ?? '', digest, bytes };
    });
  }

  /** Digest and size of a manifest if it exists (HEAD), else undefined. */
  async manifestDigest(repository: string, reference: string): Promise<Digest | undefined> {
    const what = `HEAD ${repository} manifest ${reference}`;
    return this.retrying(what, async () => {
      const response = await this.request({
        method: 'HEAD',
        url: `/v2/${repository}/manifests/${reference}`,
        scopes: [pullScope(repository)],
        headers: { accept: MANIFEST_ACCEPT },
      });
      await response.drain();
      if (response.status === 404) return undefined;
      if (response.status !== 200) throw await unexpectedResponse(response, what, this.registry);
      const digest = response.header('docker-content-digest');
      return digest !== undefined && isDigest(digest) ? digest : undefined;
    });
  }

  /** Stores a manifest under a digest or a tag; returns the digest the registry computed. */
  async putManifest(repository: string, reference: string, mediaType: string, bytes: Buffer, scopes?: readonly string[]): Promise<Digest> {
    return (await this.storeManifest(repository, reference, mediaType, bytes, scopes)).digest;
  }

  /**
   * Stores a manifest and says whether the registry indexed its `subject`: a registry with the
   * referrers API answers with an OCI-Subject header; without one, the client keeps the
   * referrers list itself under the fallback tag.
   */
  async storeManifest(
    repository: string,
    reference: string,
    mediaType: string,
    bytes: Buffer,
    scopes?: readonly string[],
  ): Promise<{ digest: Digest; ociSubject: string | undefined }> {
    const what = `PUT ${repository} manifest ${reference}`;
    const expected = sha256Digest(bytes);
    return this.retrying(what, async () => {
      const response = await this.request({
        method: 'PUT',
        url: `/v2/${repository}/manifests/${reference}`,
        scopes: scopes ?? [pushScope(repository)],
        headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
        body: async () => bytes,
      });
      if (response.status !== 201 && response.status !== 200) throw await unexpectedResponse(response, what, this.registry);
      await response.drain();
      const stored = response.header('docker-content-digest');
      if (stored !== undefined && stored !== expected) {
        throw new InfrastructureError(`${what}: the registry stored digest ${stored}, expected ${expected}`, { service: this.registry });
      }
      return { digest: expected, ociSubject: response.header('oci-subject') };
    });
  }

  /** Size of a blob the repository holds, or undefined when it does not. */
  async blobSize(repository: string, digest: Digest, scopes?: readonly string[]): Promise<number | undefined> {
    const what = `HEAD ${repository} blob ${digest}`;
    return this.retrying(what, async () => {
      const response = await this.request({
        method: 'HEAD',
        url: `/v2/${repository}/blobs/${digest}`,
        scopes: scopes ?? [pullScope(repository)],
        followRedirects: true,
      });
      await response.drain();
      if (response.status === 404) return undefined;
      if (response.status !== 200) throw await unexpectedResponse(response, what, this.registry);
      return Number(response.header('content-length') ?? -1);
    });
  }

  /**
   * The bytes [start, end) of a blob as a stream. A full read is checked against the digest, and
   * a stream that ends early fails instead of looking complete.
   */
  async openBlob(repository: string, digest: Digest, size: number, start = 0, end = size): Promise<Readable> {
    const what = `GET ${repository} blob ${digest}`;
    const partial = start > 0 || end < size;
    const response = await this.retrying(what, async () => {
      const attempt = await this.request({
        method: 'GET',
        url: `/v2/${repository}/blobs/${digest}`,
        scopes: [pullScope(repository)],
        headers: partial ? { range: `bytes=${start}-${end - 1}` } : {},
        followRedirects: true,
      });
      if (attempt.status === 404) {
        await attempt.drain();
        throw new InputError(`blob ${digest} is missing from ${this.registry}/${repository}`, { subject: 'image' });
      }
      if (attempt.status !== 200 && attempt.status !== 206) throw await unexpectedResponse(attempt, what, this.registry);
      return attempt;
    });
    // A registry that ignores Range answers 200 with the whole blob: skip to the wanted bytes.
    const skip = partial && response.status === 200 ? start : 0;
    const check = new BlobCheck(what, skip, end - start, partial ? undefined : digest);
    // pipe() does not pass errors on: a download cut short must fail the reader, not go unheard.
    response.body.once('error', (error) => check.destroy(error));
    return response.body.pipe(check);
  }

  /** A small blob (an image config) read whole and checked against its digest. */
  async readBlob(repository: string, digest: Digest, size: number): Promise<Buffer> {
    if (size > MAX_CONFIG_BYTES) throw new InfrastructureError(`blob ${digest} is ${size} bytes, too large to be an image config`, { service: this.registry });
    const stream = await this.openBlob(repository, digest, size);
    return readLimited(stream, MAX_CONFIG_BYTES, `GET ${repository} blob ${digest}`);
  }

  /** A blob of this registry as a ByteSource, to copy it into another registry or a layout. */
  blobSource(repository: string, digest: Digest, size: number): RemoteBlobSource {
    return new RemoteBlobSource(this, repository, digest, size);
  }

  /**
   * One request with authentication: a 401 learns the challenge, fetches a token (or uses basic
   * credentials) and tries once more. Returns whatever status the registry answers.
   * @internal for upload.ts
   */
  async request(spec: RequestSpec): Promise<HttpResponse> {
    throwIfCancelled(this.signal);
    let scopes = spec.scopes;
    let response = await this.send(spec, await this.auth.header(scopes));
    if (response.status !== 401) return response;
    const challenge = response.header('www-authenticate');
    await response.drain();
    const extra = this.auth.learn(challenge);
    this.auth.forget(scopes);
    if (extra !== undefined && !scopes.includes(extra)) scopes = [...scopes, extra];
    response = await this.send(spec, await this.auth.header(scopes));
    if (response.status === 401 || response.status === 403) {
      await response.drain();
      throw await this.auth.denied(spec.method, typeof spec.url === 'string' ? spec.url : spec.url.pathname, response.status);
    }
    return response;
  }

  /**
   * Runs `attempt` until it succeeds, retrying transient failures with backoff; maps the final
   * failure to InfrastructureError (exit 3) and removes any secret from the message.
   * @internal for upload.ts
   */
  async retrying<T>(what: string, attempt: (tries: number) => Promise<T>): Promise<T> {
    for (let failures = 0; ; ) {
      throwIfCancelled(this.signal);
      try {
        return await attempt(failures);
      } catch (error) {
        failures++;
        await this.afterFailure(what, error, failures);
      }
    }
  }

  /**
   * Decides what a failure means: cancellation and non-transient errors are thrown (redacted);
   * a transient one waits the backoff, unless it was the last try, which ends in
   * InfrastructureError (exit 3).
   * @internal for upload.ts
   */
  async afterFailure(what: string, error: unknown, failures: number): Promise<void> {
    if (isAbort(error, this.signal)) throw new CancelledError();
    if (!isTransient(error)) {
      if (error instanceof FerryError) throw this.redactError(error);
      // A TLS refusal, a protocol mismatch, a malformed answer: no retry helps, so say what broke.
      throw new InfrastructureError(`registry ${this.registry}: ${what} failed: ${this.redactText(errorMessage(error))}`, {
        service: this.registry,
        cause: error,
        ...connectionHint(error),
      });
    }
    const message = this.redactText(errorMessage(error));
    if (failures >= this.retry.attempts) {
      throw new InfrastructureError(`registry ${this.registry}: ${what} failed after ${failures} tries: ${message}`, {
        service: this.registry,
        hint: 'check that the registry is reachable and healthy, then re-run: blobs already pushed are not sent again',
      });
    }
    this.logger.debug(`registry ${this.registry}: ${what} failed (${message}); try ${failures + 1} of ${this.retry.attempts}`);
    await backoff(this.retry, failures, this.signal, error instanceof TransientError ? error.retryAfterMs : undefined);
  }

  /** @internal */
  redactText(text: string): string {
    return this.auth.redact(text);
  }

  /** @internal */
  redactError(error: unknown): unknown {
    if (error instanceof Error) {
      error.message = this.redactText(error.message);
      if ('hint' in error && typeof error.hint === 'string') (error as { hint: string }).hint = this.redactText(error.hint);
    }
    return error;
  }

  /**
   * One exchange, following redirects when asked; the Authorization header never goes to another host.
   * @internal for auth.ts
   */
  async send(
    spec: Pick<RequestSpec, 'method' | 'url' | 'headers' | 'onBodyBytes' | 'followRedirects'> & { body?: Buffer | (() => Promise<Buffer | Readable>) },
    authorization?: string,
  ): Promise<HttpResponse> {
    let url = typeof spec.url === 'string' ? new URL(spec.url, this.baseUrl) : spec.url;
    for (let redirects = 0; ; redirects++) {
      const sameOrigin = url.origin === this.baseUrl.origin;
      const headers: OutgoingHttpHeaders = { 'user-agent': this.options.userAgent ?? 'ferry', ...spec.headers };
      if (authorization !== undefined && sameOrigin) headers.authorization = authorization;
      this.stats.requests++;
      const response = await exchange({
        method: spec.method,
        url,
        headers,
        ...(spec.body === undefined ? {} : { body: Buffer.isBuffer(spec.body) ? spec.body : await spec.body() }),
        timeoutMs: this.timeoutMs,
        agent: url.protocol === 'https:' ? this.httpsAgent : this.httpAgent,
        ...(this.signal ? { signal: this.signal } : {}),
        onBodyBytes: (bytes) => {
          this.stats.bytesSent += bytes;
          spec.onBodyBytes?.(bytes);
        },
      });
      const location = response.header('location');
      if (!spec.followRedirects || ![301, 302, 303, 307, 308].includes(response.status) || location === undefined || redirects >= 5) return response;
      await response.drain();
      url = new URL(location, url);
    }
  }
}

const CERTIFICATE_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME/;

/** What to do about a connection that failed for a reason retrying cannot fix. */
function connectionHint(error: unknown): { hint?: string } {
  const code = String((error as { code?: unknown } | null)?.code ?? '');
  const message = error instanceof Error ? error.message : '';
  if (CERTIFICATE_ERRORS.test(code)) {
    return { hint: "the registry's TLS certificate is not trusted: give its CA certificate, or skip verification explicitly for a test registry" };
  }
  if (code === 'EPROTO' || /wrong version number/i.test(message)) {
    return { hint: 'the registry does not speak HTTPS here: plain HTTP must be allowed explicitly (insecure registry), for loopback or test registries only' };
  }
  return {};
}

export { RegistryResponseError, RemoteBlobSource };
