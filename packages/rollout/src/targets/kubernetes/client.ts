// A small REST client for the Kubernetes API: credentials.ts reads the credentials with
// @kubernetes/client-node's kubeconfig model (a kubeconfig given as input, in-cluster service
// account, or the runner's default kubeconfig, with exec plugins and token files), and requests go out over node:https so every call can say exactly
// what it means: server-side apply under the `ferry` field manager with Strict field validation,
// merge patches with resourceVersion preconditions, and status codes kept for the caller.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { InputError } from '@ferry/core';
import type { StateStore } from '../../state/store.js';
import { TargetUnavailableError } from '../../target/types.js';
import { loadCredentials } from './credentials.js';

export const FIELD_MANAGER = 'ferry';

/** Where the credentials come from. */
export type KubeCredentials =
  /** A kubeconfig's text (the `kubeconfig` input, masked); `context` picks one of its contexts. */
  | { readonly kubeconfig: string; readonly context?: string }
  /** The pod's service account (KUBERNETES_SERVICE_HOST), else $KUBECONFIG or ~/.kube/config. */
  | { readonly kubeconfig?: undefined; readonly context?: string };

/** An answer of the API server with an error status; `reason` is the Status reason (Conflict, NotFound, Invalid…). */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    generation?: number;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    [key: string]: unknown;
  };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  status?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** ConfigMaps. */
  data?: Record<string, string>;
}

interface Connection {
  readonly server: URL;
  readonly refresh: () => Promise<RequestOptions>;
}

const TRANSIENT = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

export class KubeClient {
  private connection: Promise<Connection> | undefined;
  /** For messages: the API server's URL once known. */
  server = '';

  constructor(
    private readonly credentials: KubeCredentials = {},
    private readonly timeoutMs = 15_000,
  ) {}

  private connect(): Promise<Connection> {
    this.connection ??= (async () => {
      const creds = loadCredentials(this.credentials);
      this.server = creds.server.href;
      return { server: creds.server, refresh: creds.refresh };
    })();
    return this.connection;
  }

  /** One request; returns the parsed body. Transport errors are retried three times, then TargetUnavailableError. */
  async request<T = unknown>(method: string, path: string, options: { body?: unknown; contentType?: string; query?: Record<string, string> } = {}): Promise<T> {
    const { server, refresh } = await this.connect();
    // Per request: an exec plugin's token or a pod's rotated service-account token may have changed.
    const auth = await refresh();
    const url = new URL(server.pathname.replace(/\/$/, '') + path, server);
    for (const [key, value] of Object.entries(options.query ?? {})) url.searchParams.set(key, value);
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    for (let attempt = 1; ; attempt++) {
      try {
        const { status, text } = await this.send(url, method, auth, payload, options.contentType ?? 'application/json');
        let body: unknown = undefined;
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          body = text;
        }
        if (status >= 400) {
          const s = body as { reason?: string; message?: string } | undefined;
          const message = typeof s === 'object' && s?.message ? s.message : String(text).slice(0, 300);
          // Server-side apply reports a manifest its schema refuses as a 500; it is bad input, not an outage.
          const refused = message.includes('failed to create typed patch object');
          if (status >= 500 && !refused && attempt < 3) throw Object.assign(new Error(message), { code: 'ECONNRESET' });
          const reason = refused ? 'Invalid' : typeof s === 'object' && s?.reason ? s.reason : String(status);
          throw new KubeApiError(status, reason, `${method} ${url.pathname}: HTTP ${status}: ${message}`);
        }
        return body as T;
      } catch (error) {
        if (error instanceof KubeApiError) throw error;
        const code = (error as NodeJS.ErrnoException).code ?? '';
        if (attempt >= 3 || !TRANSIENT.has(code)) {
          throw new TargetUnavailableError(`the Kubernetes API at ${server.origin} did not answer ${method} ${url.pathname}: ${(error as Error).message}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }

  private send(url: URL, method: string, auth: RequestOptions, payload: string | undefined, contentType: string): Promise<{ status: number; text: string }> {
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          ...auth,
          method,
          headers: {
            ...(auth.headers as Record<string, string> | undefined),
            accept: 'application/json',
            ...(payload === undefined ? {} : { 'content-type': contentType, 'content-length': String(Buffer.byteLength(payload)) }),
          },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error(`timed out after ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** The object, or null when it does not exist. */
  async get<T extends KubeObject = KubeObject>(path: string): Promise<T | null> {
    try {
      return await this.request<T>('GET', path);
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return null;
      throw error;
    }
  }

  /** Server-side apply under the `ferry` field manager; unknown fields are refused (Strict). */
  apply<T extends KubeObject = KubeObject>(path: string, object: KubeObject, options: { force?: boolean; dryRun?: boolean } = {}): Promise<T> {
    return this.request<T>('PATCH', path, {
      body: object,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: FIELD_MANAGER, fieldValidation: 'Strict', ...(options.force ? { force: 'true' } : {}), ...(options.dryRun ? { dryRun: 'All' } : {}) },
    });
  }

  /** JSON merge patch; a metadata.resourceVersion in the patch makes it conditional (409 when it moved on). */
  mergePatch<T extends KubeObject = KubeObject>(path: string, patch: unknown, subresource = ''): Promise<T> {
    return this.request<T>('PATCH', path + subresource, { body: patch, contentType: 'application/merge-patch+json', query: { fieldManager: FIELD_MANAGER, fieldValidation: 'Strict' } });
  }

  create<T extends KubeObject = KubeObject>(collectionPath: string, object: KubeObject): Promise<T> {
    return this.request<T>('POST', collectionPath, { body: object, query: { fieldManager: FIELD_MANAGER, fieldValidation: 'Strict' } });
  }

  async delete(path: string): Promise<boolean> {
    try {
      await this.request('DELETE', path);
      return true;
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return false;
      throw error;
    }
  }
}

/**
 * What an API error means to a step, for both Kubernetes targets: refused credentials and refused
 * manifests are bad input (exit 2, naming the kubeconfig or the target), anything else an
 * unavailable target (exit 3). `objects` lists what the README's Role grants, for the hint.
 */
export function kubeStepError(error: unknown, what: string, description: string, objects: string): unknown {
  if (!(error instanceof KubeApiError)) return error;
  if (error.status === 401 || error.status === 403) {
    return new InputError(`could not ${what} of ${description}: ${error.message}`, { subject: 'kubeconfig', hint: `the kubeconfig's user or service account needs the Role in the README (${objects})` });
  }
  if (error.status === 422 || error.status === 400 || error.reason === 'Invalid') return new InputError(`the API server refused to ${what} of ${description}: ${error.message}`, { subject: 'target' });
  return new TargetUnavailableError(`could not ${what} of ${description}: ${error.message}`);
}

/** The record store with its API errors said as kubeStepError says them: the record is the first thing a step reads. */
export function translatedStore(store: StateStore, call: <T>(what: string, work: () => Promise<T>) => Promise<T>): StateStore {
  return {
    location: store.location,
    read: () => call('read the rollout record', () => store.read()),
    write: (data, expected) => call('write the rollout record', () => store.write(data, expected)),
  };
}
