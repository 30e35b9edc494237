// Blob upload by the OCI distribution API. A blob the repository already has is never sent (HEAD
// first); one held by another repository of the same registry is mounted; anything else goes up
// in PATCH chunks streamed from its source. After a failure the client asks the registry how much
// it kept (GET on the upload URL → Range) and continues from there, or starts a new session when
// the registry dropped the old one.
import { InfrastructureError, InputError } from '@ferry/core';
import type { ByteSource } from '../byte-source.js';
import type { Digest } from '../digest.js';
import { pushScope, pullScope } from './client.js';
import type { RegistryClient } from './client.js';
import { RegistryResponseError, unexpectedResponse } from './errors.js';
import type { HttpResponse } from './http.js';
import { TransientError } from './retry.js';

export type BlobUploadStatus = 'exists' | 'mounted' | 'uploaded';

export interface BlobUploadResult {
  digest: Digest;
  size: number;
  status: BlobUploadStatus;
  /** Bytes of this blob sent over the network, resends after failures included. */
  bytesSent: number;
  /** Repository the blob was mounted from, when mounted. */
  mountedFrom?: string;
}

export interface BlobUploadProgress {
  digest: Digest;
  size: number;
  /** Bytes the registry holds or is receiving now: goes back when an upload restarts. */
  bytesDone: number;
}

export interface BlobUploadOptions {
  /** Repositories of the same registry that may hold the blob, tried for a cross-repository mount. */
  mountFrom?: readonly string[];
  onProgress?: (progress: BlobUploadProgress) => void;
  /** Token scopes for every request of the upload; by default push on the repository and pull on mountFrom. */
  scopes?: readonly string[];
}

interface Session {
  location: URL;
  /** Bytes the registry has accepted. */
  offset: number;
}

/**
 * "0-1023" (or "bytes=0-1023") → 1024, the bytes held. distribution answers "0-0" both for an
 * empty upload and a one-byte one, so `expected` (what the client believes) settles that case.
 */
function heldBytes(range: string | undefined, expected: number): number {
  const match = /(\d+)-(\d+)/.exec(range ?? '');
  if (!match) return 0;
  const end = Number(match[2]);
  return end === 0 ? Math.min(expected, 1) : end + 1;
}

function locationOf(response: HttpResponse, base: URL, what: string): URL {
  const location = response.header('location');
  if (location === undefined) throw new InfrastructureError(`${what}: the registry answered without an upload Location`);
  return new URL(location, base);
}

export async function uploadBlob(
  client: RegistryClient,
  repository: string,
  digest: Digest,
  source: ByteSource,
  options: BlobUploadOptions = {},
): Promise<BlobUploadResult> {
  const size = source.size;
  const scopes = options.scopes ?? [pushScope(repository), ...(options.mountFrom ?? []).filter((from) => from !== repository).map(pullScope)];
  const result = (status: BlobUploadStatus, bytesSent: number, mountedFrom?: string): BlobUploadResult => ({
    digest,
    size,
    status,
    bytesSent,
    ...(mountedFrom === undefined ? {} : { mountedFrom }),
  });

  const existing = await client.blobSize(repository, digest, scopes);
  if (existing !== undefined) {
    client.logger.debug(`${repository}: blob ${digest} already there, not sent`);
    return result('exists', 0);
  }

  let session: Session | undefined;
  for (const from of options.mountFrom ?? []) {
    if (from === repository) continue;
    let outcome: Session | 'mounted';
    try {
      outcome = await startSession(client, repository, scopes, { digest, from });
    } catch (error) {
      // A mount is only a shortcut: refused (no pull access to `from`, say), the blob is uploaded.
      if (!(error instanceof InputError || error instanceof RegistryResponseError)) throw error;
      client.logger.debug(`${repository}: mounting ${digest} from ${from} was refused (${client.redactText(error.message)}); uploading it`);
      continue;
    }
    if (outcome === 'mounted') {
      client.logger.debug(`${repository}: blob ${digest} mounted from ${from}`);
      return result('mounted', 0, from);
    }
    session = outcome;
    break;
  }

  let bytesSent = 0;
  let failures = 0;
  let recovering = false;
  let restartsAfterBadDigest = 0;
  const progress = (bytesDone: number) => options.onProgress?.({ digest, size, bytesDone });

  for (;;) {
    try {
      if (recovering) {
        const recovered = await recover(client, repository, scopes, digest, session);
        if (recovered === 'complete') return result('uploaded', bytesSent);
        session = recovered;
        recovering = false;
        progress(session.offset);
      }
      session ??= (await startSession(client, repository, scopes)) as Session;
      while (session.offset < size) {
        const start = session.offset;
        const end = Math.min(size, start + client.chunkSize);
        let inFlight = 0;
        session = await patchChunk(client, session, scopes, source, start, end, (bytes) => {
          bytesSent += bytes;
          inFlight += bytes;
          progress(start + inFlight);
        });
        failures = 0;
        progress(session.offset);
      }
      await finish(client, session, scopes, digest);
      progress(size);
      return result('uploaded', bytesSent);
    } catch (error) {
      if (error instanceof RegistryResponseError && error.codes.includes('DIGEST_INVALID') && restartsAfterBadDigest === 0) {
        // The registry holds bytes that do not hash to the digest (a resume at a wrong offset):
        // start over once from a fresh session.
        restartsAfterBadDigest++;
        session = undefined;
        continue;
      }
      failures++;
      await client.afterFailure(`upload of blob ${digest} to ${repository}`, error, failures);
      recovering = true;
    }
  }
}

/** POST to open an upload session, or to mount the blob from another repository (201 = mounted). */
async function startSession(
  client: RegistryClient,
  repository: string,
  scopes: readonly string[],
  mount?: { digest: Digest; from: string },
): Promise<Session | 'mounted'> {
  const query = mount ? `?mount=${encodeURIComponent(mount.digest)}&from=${encodeURIComponent(mount.from)}` : '';
  const what = mount ? `mount of ${mount.digest} from ${mount.from} into ${repository}` : `start of an upload to ${repository}`;
  return client.retrying(what, async () => {
    const response = await client.request({
      method: 'POST',
      url: `/v2/${repository}/blobs/uploads/${query}`,
      scopes,
      headers: { 'content-length': '0' },
    });
    if (mount && response.status === 201) {
      await response.drain();
      return 'mounted' as const;
    }
    if (response.status !== 202) throw await unexpectedResponse(response, what, client.registry);
    await response.drain();
    return { location: locationOf(response, client.baseUrl, what), offset: 0 };
  });
}

/** One PATCH of [start, end), streamed from the source. */
async function patchChunk(
  client: RegistryClient,
  session: Session,
  scopes: readonly string[],
  source: ByteSource,
  start: number,
  end: number,
  onBytes: (bytes: number) => void,
): Promise<Session> {
  const what = `PATCH bytes ${start}-${end - 1} of an upload`;
  const response = await client.request({
    method: 'PATCH',
    url: session.location,
    scopes,
    headers: {
      'content-type': 'application/octet-stream',
      'content-length': String(end - start),
      'content-range': `${start}-${end - 1}`,
    },
    body: () => source.open(start, end, client.signal),
    onBodyBytes: onBytes,
  });
  if (response.status === 416) {
    // The registry disagrees about the offset: find out what it holds.
    await response.drain();
    throw new TransientError(`${what}: HTTP 416, the registry holds a different number of bytes`);
  }
  if (response.status !== 202 && response.status !== 204) throw await unexpectedResponse(response, what, client.registry);
  await response.drain();
  const range = response.header('range');
  const held = range === undefined ? end : heldBytes(range, end);
  if (held !== end) throw new TransientError(`${what}: the registry holds ${held} bytes, expected ${end}`);
  return { location: locationOf(response, session.location, what), offset: held };
}

/** PUT ?digest= closes the session; the registry checks the digest of everything it received. */
async function finish(client: RegistryClient, session: Session, scopes: readonly string[], digest: Digest): Promise<void> {
  const url = new URL(session.location);
  url.searchParams.set('digest', digest);
  const what = `PUT to complete the upload of ${digest}`;
  const response = await client.request({
    method: 'PUT',
    url,
    scopes,
    headers: { 'content-type': 'application/octet-stream', 'content-length': '0' },
  });
  if (response.status !== 201 && response.status !== 204) throw await unexpectedResponse(response, what, client.registry);
  await response.drain();
  const stored = response.header('docker-content-digest');
  if (stored !== undefined && stored !== digest) throw new InfrastructureError(`${what}: the registry stored ${stored}`, { service: client.registry });
}

/** After a failure: done already (HEAD), resumable (GET status → Range), or a new session. */
async function recover(
  client: RegistryClient,
  repository: string,
  scopes: readonly string[],
  digest: Digest,
  session: Session | undefined,
): Promise<Session | 'complete'> {
  if ((await client.blobSize(repository, digest, scopes)) !== undefined) return 'complete';
  if (session !== undefined) {
    const response = await client.request({ method: 'GET', url: session.location, scopes });
    if (response.status === 204 || response.status === 202) {
      await response.drain();
      const location = response.header('location') === undefined ? session.location : locationOf(response, session.location, 'upload status');
      return { location, offset: heldBytes(response.header('range'), session.offset) };
    }
    if (response.status >= 500) throw await unexpectedResponse(response, 'GET upload status', client.registry);
    // 404 (unknown session) or 400 (the registry invalidated it): start again.
    await response.drain();
    client.logger.debug(`${repository}: upload session of ${digest} is gone (HTTP ${response.status}); starting a new one`);
  }
  return (await startSession(client, repository, scopes)) as Session;
}
