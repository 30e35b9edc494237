// The rollout target for Ferry's local router: every call goes through the router's admin API,
// and the rollout record lives in the router's state directory behind it (compare-and-set), so a
// re-run job finds the record where the traffic is.
import http from 'node:http';
import { errorMessage } from '@ferry/core';
import { StateConflictError, StateCorruptError, type StateStore, type StoredRecord } from '../../state/store.js';
import { TargetUnavailableError, type LiveRouting, type Routing, type Slot, type Strategy, type Target, type VersionRef, type Weights } from '../../target/types.js';
import type { MirrorPair } from './mirror.js';

export interface LocalRouterTargetOptions {
  /** The router's admin API, http://127.0.0.1:<adminPort>. */
  readonly adminUrl: string;
  /** Bearer token, when the router was started with one. */
  readonly token?: string;
  /** Per admin call (default 10 s). */
  readonly timeoutMs?: number;
}

/** What GET /routing answers: the live routing plus the version in each slot. */
export interface LocalRouting extends LiveRouting {
  readonly versions: Readonly<Record<Slot, VersionRef | null>>;
}

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** JSON over HTTP to the admin API with its own keep-alive pool, so close() releases it. */
class AdminClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  readonly base: URL;

  constructor(
    readonly adminUrl: string,
    private readonly token: string | undefined,
    private readonly timeoutMs: number,
  ) {
    let base: URL;
    try {
      base = new URL(adminUrl);
    } catch {
      throw new TargetUnavailableError(`the local router's admin URL ${JSON.stringify(adminUrl)} is not a URL (want http://127.0.0.1:<admin port>)`);
    }
    if (base.protocol !== 'http:') throw new TargetUnavailableError(`the local router's admin URL ${adminUrl} must be http:// (the admin API listens on loopback)`);
    this.base = base;
  }

  call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const what = `${method} ${new URL(path, this.base).href}`;
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const all: Record<string, string | number> = { accept: 'application/json', ...headers };
    if (this.token !== undefined) all.authorization = `Bearer ${this.token}`;
    if (payload) {
      all['content-type'] = 'application/json';
      all['content-length'] = payload.length;
    }
    return new Promise<Answer>((resolve, reject) => {
      const req = http.request(new URL(path, this.base), { method, headers: all, agent: this.agent, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (error) => reject(new TargetUnavailableError(`${what}: the local router's admin API broke off its answer (${errorMessage(error)})`)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            reject(new TargetUnavailableError(`${what}: the local router's admin API answered ${res.statusCode} with something that is not JSON (${text.slice(0, 200)}); is ${this.adminUrl} the router's admin port?`));
            return;
          }
          resolve({ status: res.statusCode ?? 0, body: (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown> });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs / 1000} s`)));
      req.on('error', (error) => reject(new TargetUnavailableError(`${what}: cannot reach the local router's admin API at ${this.adminUrl} (${errorMessage(error)})`)));
      req.end(payload);
    });
  }

  /** A call that must succeed: anything but 2xx is the router refusing the command. */
  async expect(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const answer = await this.call(method, path, body);
    if (answer.status >= 200 && answer.status < 300) return answer.body;
    const reason = typeof answer.body.error === 'string' ? answer.body.error : `status ${answer.status}`;
    const hint = answer.status === 401 ? ' (the router wants a bearer token: pass the one it was started with)' : '';
    throw new TargetUnavailableError(`${method} ${path} on the local router at ${this.adminUrl} was refused (${answer.status}): ${reason}${hint}`);
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The rollout record, kept by the router in <stateDir>/rollout.json and reached through its admin API. */
class AdminStateStore implements StateStore {
  readonly location: string;

  constructor(private readonly client: AdminClient) {
    this.location = `${client.adminUrl.replace(/\/+$/, '')}/state`;
  }

  async read(): Promise<StoredRecord | null> {
    const answer = await this.client.call('GET', '/state');
    if (answer.status === 404) return null;
    this.refuse(answer, 'read');
    const { revision, data } = answer.body;
    if (!Number.isInteger(revision) || !('data' in answer.body)) throw new StateCorruptError(`the rollout record at ${this.location} is not {"revision": n, "data": …}`);
    return { revision: revision as number, data };
  }

  async write(data: unknown, expected: number): Promise<number> {
    const answer = await this.client.call('PUT', '/state', { data }, { 'if-match': String(expected) });
    if (answer.status === 412) throw new StateConflictError(this.location, expected, Number(answer.body.found ?? -1));
    this.refuse(answer, 'write');
    const { revision } = answer.body;
    if (!Number.isInteger(revision)) throw new TargetUnavailableError(`writing the rollout record at ${this.location} answered no revision`);
    return revision as number;
  }

  private refuse(answer: Answer, what: string): void {
    if (answer.status >= 200 && answer.status < 300) return;
    const reason = typeof answer.body.error === 'string' ? answer.body.error : `status ${answer.status}`;
    if (answer.body.corrupt === true) throw new StateCorruptError(reason);
    throw new TargetUnavailableError(`could not ${what} the rollout record at ${this.location} (${answer.status}): ${reason}`);
  }
}

export class LocalRouterTarget implements Target {
  readonly kind = 'local';
  readonly description: string;
  readonly state: StateStore;
  private readonly client: AdminClient;

  constructor(options: LocalRouterTargetOptions) {
    this.client = new AdminClient(options.adminUrl, options.token, options.timeoutMs ?? 10_000);
    this.description = `the local Ferry router (admin API ${options.adminUrl})`;
    this.state = new AdminStateStore(this.client);
  }

  /** The local router routes every strategy: weighted (canary, blue-green), sticky (ab), mirror (shadow). */
  supports(_strategy: Strategy): true {
    return true;
  }

  async setVersion(slot: Slot, version: VersionRef): Promise<void> {
    await this.client.expect('PUT', `/slots/${slot}`, { version });
  }

  /** Empties a slot at weight 0 (after a promotion the old canary slot holds nothing). */
  async clearSlot(slot: Slot): Promise<void> {
    await this.client.expect('PUT', `/slots/${slot}`, { version: null });
  }

  async setRouting(weights: Weights, routing: Routing): Promise<void> {
    await this.client.expect('PUT', '/routing', { weights, routing });
  }

  async readRouting(): Promise<LocalRouting> {
    const body = await this.client.expect('GET', '/routing');
    const { weights, routing, endpoints } = body as Partial<Record<keyof LocalRouting, unknown>>;
    if (typeof weights !== 'object' || weights === null || typeof routing !== 'object' || routing === null || typeof endpoints !== 'object' || endpoints === null) {
      throw new TargetUnavailableError(`GET /routing on the local router at ${this.client.adminUrl} answered without weights, routing and endpoints; is it a Ferry router?`);
    }
    return body as unknown as LocalRouting;
  }

  /** Outputs of stable and canary on the same mirrored inferences whose requests arrived at or after `sinceMs`. */
  async mirrorPairs(sinceMs: number): Promise<MirrorPair[]> {
    const body = await this.client.expect('GET', `/mirror/pairs?since=${encodeURIComponent(String(sinceMs))}`);
    if (!Array.isArray(body.pairs)) throw new TargetUnavailableError(`GET /mirror/pairs on the local router at ${this.client.adminUrl} answered without "pairs"`);
    return body.pairs as MirrorPair[];
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
