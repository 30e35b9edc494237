// The HAProxy rollout target, for VM fleets behind HAProxy: one backend whose servers are split
// into a stable and a canary slot. Traffic moves through the runtime API (server weights and
// addresses), never by editing haproxy.cfg or reloading, and every read asks HAProxy afresh:
// an operator's command or a restart can change what it applies behind our back.
import { InputError } from '@ferry/core';
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FileStateStore } from '../../state/store.js';
import type { StateStore } from '../../state/store.js';
import { TargetUnavailableError } from '../../target/types.js';
import type { LiveRouting, Routing, Slot, Strategy, Target, VersionRef, Weights } from '../../target/types.js';
import { endpointOf, serverAddressOf } from './endpoint.js';
import { HaproxyRuntime } from './runtime.js';
import { trafficWeight } from './servers-state.js';
import type { HaproxyServerState } from './servers-state.js';
import { serverWeightsFor, sharesOf } from './weights.js';
import type { SlotWeights } from './weights.js';

export interface HaproxyTargetOptions {
  /** The runtime API: a unix socket (/run/haproxy/admin.sock, unix:/…) or host:port (127.0.0.1:9999, tcp://…). It needs `level admin`. */
  readonly runtime: string;
  /** The backend whose servers carry the model. */
  readonly backend: string;
  /** The stable slot's servers. Default: the backend's servers whose name starts with `stable`. */
  readonly stableServers?: readonly string[];
  /** The canary slot's servers. Default: the backend's servers whose name starts with `canary`. */
  readonly canaryServers?: readonly string[];
  /** The rollout record, a file next to the router; its directory must exist. */
  readonly stateFile: string;
  /** How long one runtime API command may take. Default 5000 ms. */
  readonly timeoutMs?: number;
}

const SLOTS: readonly Slot[] = ['stable', 'canary'];

const UNSUPPORTED: Partial<Record<Strategy, string>> = {
  ab: "HAProxy's runtime API cannot add header- or cookie-based stickiness to a backend without a config change and reload, so A/B routing needs the local target (or a sticky rule you write in haproxy.cfg).",
  shadow: "HAProxy's runtime API cannot mirror requests to a second server without a config change (mirroring needs an SPOE agent), so shadow runs need the local target.",
};

/** The backend's servers, by slot, as HAProxy reports them now. */
interface Slots {
  readonly stable: readonly HaproxyServerState[];
  readonly canary: readonly HaproxyServerState[];
  /** Servers in neither slot: they must take no traffic, or the split is not stable/canary. */
  readonly others: readonly HaproxyServerState[];
}

export class HaproxyTarget implements Target {
  readonly kind = 'haproxy';
  readonly description: string;
  readonly state: StateStore;
  private readonly runtime: HaproxyRuntime;
  private readonly backend: string;
  private readonly names: Readonly<Record<Slot, readonly string[] | undefined>>;

  constructor(options: HaproxyTargetOptions) {
    if (!options.backend) throw new InputError('the HAProxy target needs a backend name', { subject: 'backend' });
    if (!options.stateFile) throw new InputError('the HAProxy target needs a state file next to the router (where the rollout record lives)', { subject: 'stateFile' });
    this.runtime = new HaproxyRuntime(options.runtime, options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs });
    this.backend = options.backend;
    this.names = { stable: options.stableServers, canary: options.canaryServers };
    for (const slot of SLOTS) {
      if (this.names[slot]?.length === 0) throw new InputError(`${slot}Servers is empty: name at least one server of backend ${options.backend}, or leave it out to take those named ${slot}*`, { subject: `${slot}Servers` });
    }
    const clash = this.names.stable?.find((name) => this.names.canary?.includes(name));
    if (clash !== undefined) throw new InputError(`server ${clash} is named in both stableServers and canaryServers`, { subject: 'canaryServers' });
    this.state = new FileStateStore(checkedStateFile(options.stateFile));
    this.description = `HAProxy backend \`${options.backend}\` via ${this.runtime.address.label}`;
  }

  supports(strategy: Strategy): true | string {
    return UNSUPPORTED[strategy] ?? true;
  }

  async setVersion(slot: Slot, version: VersionRef): Promise<void> {
    const servers = (await this.slots())[slot];
    if (version.endpoints.length !== servers.length) {
      throw new InputError(
        `version ${version.name} has ${version.endpoints.length} endpoint(s) but the ${slot} slot of ${this.description} has ${servers.length} server(s) (${servers.map((s) => s.name).join(', ')}): give one endpoint per server`,
        { subject: 'endpoints' },
      );
    }
    // Resolve every endpoint before changing anything, so a bad one cannot leave the slot half moved.
    const addresses = await Promise.all(version.endpoints.map((endpoint) => serverAddressOf(endpoint, version.name)));
    for (const [i, server] of servers.entries()) {
      const { ip, port } = addresses[i]!;
      // HAProxy pools server connections per server, not per address: a connection opened to the
      // old version before the address changed would keep carrying requests to it. So the server
      // goes to maintenance, its sessions are shut, and the address only changes once HAProxy
      // reports no connection left to it (idle ones are purged within the pool's purge delay).
      await this.runtime.setServerState(this.backend, server.name, 'maint');
      await this.runtime.command(`shutdown sessions server ${this.backend}/${server.name}`);
      await this.drained(server.name);
      await this.runtime.setServerAddress(this.backend, server.name, ip, port);
      // A server someone put in maintenance would silently take no share of the split.
      await this.runtime.setServerState(this.backend, server.name, 'ready');
    }
  }

  /** Waits until `show servers conn` shows no used or idle connection to the server (at most the purge delay + 2 s). */
  private async drained(server: string): Promise<void> {
    let deadline = Date.now() + 7_000;
    for (;;) {
      const counts = parseServerConnections(await this.runtime.command(`show servers conn ${this.backend}`), `${this.backend}/${server}`);
      if (!counts) return; // an older HAProxy without the command: the shutdown above is all we can do
      if (counts.open === 0) return;
      deadline = Math.min(deadline, Date.now() + counts.purgeDelayMs + 2_000);
      if (Date.now() > deadline) {
        throw new TargetUnavailableError(`${this.description}: ${server} still holds ${counts.open} connection(s) to its old address after maintenance; not re-pointing it`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async setRouting(weights: Weights, routing: Routing): Promise<void> {
    if (routing.kind !== 'weighted') {
      const reason = routing.kind === 'sticky' ? UNSUPPORTED.ab : UNSUPPORTED.shadow;
      throw new InputError(`${this.description} cannot apply ${routing.kind} routing: ${reason}`, { subject: 'strategy' });
    }
    const slots = await this.slots();
    const wanted = serverWeightsFor(weights, { stable: slots.stable.length, canary: slots.canary.length });
    for (const slot of orderOfChange(slots, wanted)) {
      for (const [i, server] of slots[slot].entries()) {
        // Only what differs: fewer commands, and a rollback's first command is the one that matters.
        if (server.weight !== wanted[slot][i]) await this.runtime.setWeight(this.backend, server.name, wanted[slot][i]!);
      }
    }
  }

  async readRouting(): Promise<LiveRouting> {
    const slots = await this.slots();
    const busy = slots.others.filter((server) => trafficWeight(server) > 0);
    if (busy.length > 0) {
      throw new InputError(
        `${this.description} also sends traffic to ${busy.map((s) => `${s.name} (weight ${s.weight})`).join(', ')}, in neither the stable nor the canary slot: ` +
          'the split between the two cannot be read; set their weight to 0 or name them in stableServers/canaryServers',
        { subject: 'backend' },
      );
    }
    const totals = { stable: totalWeight(slots.stable), canary: totalWeight(slots.canary) };
    if (totals.stable + totals.canary === 0) {
      throw new TargetUnavailableError(`${this.description} sends traffic nowhere: every server of both slots has weight 0 or is in maintenance, drain or down`);
    }
    return {
      weights: sharesOf(totals),
      routing: { kind: 'weighted' },
      endpoints: { stable: slots.stable.map((s) => endpointOf(s.address, s.port)), canary: slots.canary.map((s) => endpointOf(s.address, s.port)) },
    };
  }

  async close(): Promise<void> {
    // One connection per command: nothing stays open.
  }

  /** Reads the backend and sorts its servers into slots, by the names given or by prefix. */
  private async slots(): Promise<Slots> {
    const servers = await this.runtime.serversState(this.backend);
    const all = servers.map((s) => s.name).join(', ') || 'none';
    const pick = (slot: Slot): HaproxyServerState[] => {
      const names = this.names[slot];
      if (names === undefined) {
        const found = servers.filter((s) => s.name.startsWith(slot));
        if (found.length === 0) {
          throw new InputError(`${this.description} has no server whose name starts with "${slot}" (its servers: ${all}); name the ${slot} slot's servers with ${slot}Servers`, { subject: `${slot}Servers` });
        }
        return found;
      }
      return names.map((name) => {
        const server = servers.find((s) => s.name === name);
        if (!server) throw new InputError(`${this.description} has no server ${name}, named in ${slot}Servers (its servers: ${all})`, { subject: `${slot}Servers` });
        return server;
      });
    };
    const stable = pick('stable');
    const canary = pick('canary');
    const overlap = stable.find((s) => canary.includes(s));
    if (overlap) throw new InputError(`server ${overlap.name} of ${this.description} falls in both slots; name the slots' servers with stableServers and canaryServers`, { subject: 'canaryServers' });
    return { stable, canary, others: servers.filter((s) => !stable.includes(s) && !canary.includes(s)) };
  }
}

function totalWeight(servers: readonly HaproxyServerState[]): number {
  return servers.reduce((sum, server) => sum + trafficWeight(server), 0);
}

/**
 * Which slot's weights to change first. The commands are separate, so for a moment one slot has
 * its new weights and the other its old ones. Pick the order whose in-between canary share stays
 * within the old and new shares (so a rollback never briefly sends the canary more), and never one
 * where both slots are at 0 in between: HAProxy would answer 503 to everything.
 */
function orderOfChange(slots: Slots, wanted: SlotWeights): readonly Slot[] {
  const current = { stable: totalWeight(slots.stable), canary: totalWeight(slots.canary) };
  // A server in maintenance, drain or down still counts 0 after its `set weight`.
  const next = (slot: Slot) => slots[slot].reduce((sum, server, i) => sum + trafficWeight({ ...server, weight: wanted[slot][i]! }), 0);
  const target = { stable: next('stable'), canary: next('canary') };
  const share = (s: number, c: number) => (s + c === 0 ? NaN : c / (s + c));
  const from = share(current.stable, current.canary);
  const to = share(target.stable, target.canary);
  const outside = (between: number): number => {
    if (Number.isNaN(between)) return Infinity;
    const lo = Math.min(Number.isNaN(from) ? to : from, to);
    const hi = Math.max(Number.isNaN(from) ? to : from, to);
    return Math.max(0, lo - between, between - hi);
  };
  const canaryFirst = outside(share(current.stable, target.canary));
  const stableFirst = outside(share(target.stable, current.canary));
  // Ties go to canary first: when in doubt, less traffic on the unproven version.
  return canaryFirst <= stableFirst ? ['canary', 'stable'] : ['stable', 'canary'];
}

/** The rollout record must live next to the router; a missing directory is named now, not at the first write. */
function checkedStateFile(stateFile: string): string {
  const path = resolve(stateFile);
  const dir = dirname(path);
  let isDirectory = false;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    // Reported below, with the path.
  }
  if (!isDirectory) throw new InputError(`the directory of the HAProxy target's state file ${stateFile} (${dir}) does not exist; create it next to the router`, { subject: 'stateFile' });
  return path;
}

/**
 * One server's line of `show servers conn <backend>`: connections in use and pooled, read by the
 * header's column names (`used_cur`, `idle_cur`, `safe_nb`, `unsafe_nb`, `purge_delay`).
 */
export function parseServerConnections(reply: string, name: string): { open: number; purgeDelayMs: number } | undefined {
  const lines = reply.split('\n');
  const header = lines.find((l) => l.startsWith('# '));
  const row = lines.find((l) => l.startsWith(`${name} `));
  if (!header || !row) return undefined;
  const columns = header.slice(2).trim().split(/\s+/);
  const values = row.trim().split(/\s+/);
  const at = (column: string): number => {
    const i = columns.indexOf(column);
    const v = i < 0 ? Number.NaN : Number(values[i]);
    return Number.isFinite(v) ? v : 0;
  };
  return { open: at('used_cur') + at('idle_cur') + at('safe_nb') + at('unsafe_nb'), purgeDelayMs: at('purge_delay') || 5_000 };
}
