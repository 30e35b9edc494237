// A client for HAProxy's runtime API (the "stats socket"), the only way to move traffic on a
// running HAProxy without a reload. One command per connection: HAProxy answers and closes, so
// there is no session state to get wrong and nothing to keep open between rollout steps.
import { InputError } from '@ferry/core';
import { connect } from 'node:net';
import type { NetConnectOpts } from 'node:net';
import { TargetUnavailableError } from '../../target/types.js';
import { parseServersState } from './servers-state.js';
import type { HaproxyServerState } from './servers-state.js';

/** Where the runtime API listens: a unix socket (the usual admin.sock) or a TCP `stats socket`. */
export type RuntimeAddress =
  | { readonly kind: 'unix'; readonly path: string; readonly label: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly label: string };

/**
 * Reads `/run/haproxy/admin.sock`, `unix:/run/haproxy/admin.sock`, `127.0.0.1:9999`,
 * `tcp://127.0.0.1:9999` or `[::1]:9999`. Anything else is refused, naming the input.
 */
export function parseRuntimeAddress(address: string): RuntimeAddress {
  const text = address.trim();
  if (text.startsWith('unix:')) {
    // unix:/path and unix:///path both name /path.
    const path = text.slice('unix:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new InputError(`HAProxy runtime address ${JSON.stringify(address)} names no socket path after "unix:"`, { subject: 'runtime' });
    return { kind: 'unix', path, label: path };
  }
  if (text.startsWith('/') || text.startsWith('./') || text.startsWith('../')) return { kind: 'unix', path: text, label: text };
  const hostPort = text.startsWith('tcp://') ? text.slice('tcp://'.length) : text;
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:/[\]]+)):(\d{1,5})$/.exec(hostPort);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port < 1 || port > 65_535) {
    throw new InputError(
      `HAProxy runtime address ${JSON.stringify(address)} is neither a unix socket path (/run/haproxy/admin.sock, unix:/…) nor host:port (127.0.0.1:9999, tcp://…)`,
      { subject: 'runtime' },
    );
  }
  const host = (match[1] ?? match[2])!;
  return { kind: 'tcp', host, port, label: `${host.includes(':') ? `[${host}]` : host}:${port}` };
}

/**
 * HAProxy understood the connection but refused or failed the command: a backend or server it
 * does not have, a socket below `level admin`, a command its version lacks, a value out of range.
 * Each is a mismatch between Ferry's settings and the router's configuration, so it is bad input
 * (exit 2), not an outage: retrying will not help, fixing the names or the socket level will.
 */
export class HaproxyCommandError extends InputError {
  constructor(
    readonly address: string,
    readonly command: string,
    /** HAProxy's reply, trimmed. */
    readonly reply: string,
    hint?: string,
  ) {
    super(`HAProxy runtime API at ${address} refused \`${command}\`: ${firstLine(reply) || '(empty reply)'}`, hint === undefined ? { subject: 'runtime' } : { subject: 'runtime', hint });
  }
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!.trim();
}

/** The replies HAProxy gives whatever the command; each gets a hint saying what to fix. */
const KNOWN_REFUSALS: readonly { readonly pattern: RegExp; readonly hint: string }[] = [
  { pattern: /^Unknown command/, hint: 'this HAProxy does not have the command; Ferry needs HAProxy 1.8 or newer' },
  { pattern: /^Permission denied/, hint: 'the socket must be declared with `level admin` (stats socket … level admin) to change weights and servers' },
  { pattern: /^(No such backend|Can't find backend)/, hint: 'check the backend name against haproxy.cfg' },
  { pattern: /^No such server/, hint: 'check the server names against the backend in haproxy.cfg' },
  { pattern: /static LB algorithm/, hint: 'use `balance roundrobin` (or another dynamic algorithm) in the backend, so weights can change at runtime' },
];

export interface HaproxyRuntimeOptions {
  /** How long one command may take, connect included. Default 5000 ms. */
  readonly timeoutMs?: number;
}

export class HaproxyRuntime {
  readonly address: RuntimeAddress;
  private readonly timeoutMs: number;

  constructor(address: string, options: HaproxyRuntimeOptions = {}) {
    this.address = parseRuntimeAddress(address);
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  /**
   * Sends one command and returns HAProxy's reply with its closing blank line removed. Throws
   * TargetUnavailableError when the API cannot be reached or does not answer in time, and
   * HaproxyCommandError for the refusals every command can get (unknown command, permission).
   */
  async command(command: string): Promise<string> {
    if (/[\n;]/.test(command)) throw new InputError(`HAProxy runtime command ${JSON.stringify(command)} must be one command: no newline or ";"`, { subject: 'runtime' });
    const raw = await this.exchange(command);
    // HAProxy ends every answer, even an empty success, with a newline; no bytes at all means the
    // connection was dropped (a reload, a proxy in between), not that the command succeeded.
    if (raw === '') throw new TargetUnavailableError(`HAProxy runtime API at ${this.address.label} closed the connection without answering \`${command}\``);
    const reply = raw.replace(/\n+$/, '');
    const refusal = KNOWN_REFUSALS.find(({ pattern }) => pattern.test(reply));
    if (refusal) throw new HaproxyCommandError(this.address.label, command, reply, refusal.hint);
    return reply;
  }

  /** `show servers state <backend>`: every server of the backend, in configuration order. */
  async serversState(backend: string): Promise<HaproxyServerState[]> {
    const command = `show servers state ${word(backend, 'backend')}`;
    const reply = await this.command(command);
    try {
      return parseServersState(reply, backend);
    } catch (error) {
      throw new HaproxyCommandError(this.address.label, command, reply, `not a servers-state dump Ferry can read (${(error as Error).message})`);
    }
  }

  /** `get weight <backend>/<server>`: the current and the configured weight. */
  async getWeight(backend: string, server: string): Promise<{ current: number; initial: number }> {
    const command = `get weight ${serverRef(backend, server)}`;
    const reply = await this.command(command);
    const match = /^(\d+) \(initial (\d+)\)$/.exec(reply);
    if (!match) throw new HaproxyCommandError(this.address.label, command, reply);
    return { current: Number(match[1]), initial: Number(match[2]) };
  }

  /** `set weight <backend>/<server> <0..256>`. */
  async setWeight(backend: string, server: string, weight: number): Promise<void> {
    if (!Number.isInteger(weight) || weight < 0 || weight > 256) throw new RangeError(`HAProxy server weight must be a whole number in [0, 256], got ${weight} for ${backend}/${server}`);
    await this.expectEmpty(`set weight ${serverRef(backend, server)} ${weight}`);
  }

  /** `set server <backend>/<server> addr <ip> port <port>`: HAProxy wants an IP literal, not a name. */
  async setServerAddress(backend: string, server: string, ip: string, port: number): Promise<void> {
    const command = `set server ${serverRef(backend, server)} addr ${word(ip, 'address')} port ${port}`;
    const reply = await this.command(command);
    // Success is reported in words: "IP changed from … to …", "no need to change the addr, port changed from …".
    if (!/changed from|no need to change/.test(reply)) throw new HaproxyCommandError(this.address.label, command, reply);
  }

  /** `set server <backend>/<server> state ready|maint|drain`. */
  async setServerState(backend: string, server: string, state: 'ready' | 'maint' | 'drain'): Promise<void> {
    await this.expectEmpty(`set server ${serverRef(backend, server)} state ${state}`);
  }

  /** For the `set` commands that answer nothing when they succeed: any text is a refusal. */
  private async expectEmpty(command: string): Promise<void> {
    const reply = await this.command(command);
    if (reply.trim() !== '') throw new HaproxyCommandError(this.address.label, command, reply);
  }

  private exchange(command: string): Promise<string> {
    const address = this.address;
    const target: NetConnectOpts = address.kind === 'unix' ? { path: address.path } : { host: address.host, port: address.port };
    return new Promise((resolve, reject) => {
      const socket = connect(target);
      const chunks: Buffer[] = [];
      let settled = false;
      const fail = (reason: string, cause?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(new TargetUnavailableError(`HAProxy runtime API at ${address.label} ${reason} (command \`${command}\`)`, cause === undefined ? undefined : { cause }));
      };
      // A whole-exchange deadline, not an idle timeout: a peer that trickles bytes must not hold a rollback.
      const timer = setTimeout(() => fail(`did not answer within ${this.timeoutMs} ms`), this.timeoutMs);
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.once('error', (error: NodeJS.ErrnoException) => fail(describeSocketError(address, error), error));
      socket.once('close', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
      socket.end(`${command}\n`);
    });
  }
}

function describeSocketError(address: RuntimeAddress, error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return `cannot be reached: no socket at that path (is HAProxy running, with \`stats socket ${address.label} level admin\` in its global section?)`;
    case 'ECONNREFUSED':
      return address.kind === 'unix'
        ? 'cannot be reached: the socket file exists but nothing listens on it (HAProxy stopped or restarting?)'
        : 'cannot be reached: connection refused (is HAProxy running, with a `stats socket` on that address?)';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be reached: permission denied opening the socket (run as a user that may, e.g. in the haproxy group)';
    default:
      return `cannot be reached: ${error.code ?? error.message}`;
  }
}

/** Names go into a space-separated command line: refuse what would split or end it. */
function word(value: string, what: string): string {
  if (value === '' || /[\s;#]/.test(value)) throw new InputError(`HAProxy ${what} ${JSON.stringify(value)} cannot be sent to the runtime API: it is empty or holds a space, ";" or "#"`, { subject: what });
  return value;
}

function serverRef(backend: string, server: string): string {
  if (backend.includes('/') || server.includes('/')) throw new InputError(`HAProxy backend and server names cannot hold "/": ${backend}/${server}`, { subject: 'backend' });
  return `${word(backend, 'backend')}/${word(server, 'server')}`;
}
