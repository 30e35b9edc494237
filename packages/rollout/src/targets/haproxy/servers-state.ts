// Reads HAProxy's `show servers state <backend>` dump: the one reply that carries every server's
// weight, address, port and admin/operational state at once. Columns are found by the header
// line's names, not by position, because HAProxy versions append columns.

/** One server of a backend as HAProxy reports it now. */
export interface HaproxyServerState {
  /** srv_id: the configuration order. */
  readonly id: number;
  readonly name: string;
  /** srv_addr: an IP literal. */
  readonly address: string;
  /** srv_port; 0 when the configuration gives none (HAProxy then uses the client's destination port). */
  readonly port: number;
  /** srv_uweight: the weight `set weight` changes. */
  readonly weight: number;
  /** srv_iweight: the weight in haproxy.cfg. */
  readonly initialWeight: number;
  /** srv_op_state: 0 stopped (down), 1 starting, 2 running, 3 stopping. */
  readonly operationalState: number;
  /** srv_admin_state bit field: forced, inherited, config, resolution or health maintenance; drain. */
  readonly adminState: number;
}

// srv_admin_state bits (include/haproxy/server-t.h): FMAINT 0x01, IMAINT 0x02, CMAINT 0x04,
// FDRAIN 0x08, IDRAIN 0x10, RMAINT 0x20, HMAINT 0x40.
const MAINTENANCE_BITS = 0x01 | 0x02 | 0x04 | 0x20 | 0x40;
const DRAIN_BITS = 0x08 | 0x10;
const OP_STOPPED = 0;

export function inMaintenance(server: HaproxyServerState): boolean {
  return (server.adminState & MAINTENANCE_BITS) !== 0;
}

/**
 * The weight new requests actually see. A server in maintenance or drain, or one its health check
 * marked down, gets no new requests whatever its weight says, so it counts as 0: the split
 * reported must be the split applied.
 */
export function trafficWeight(server: HaproxyServerState): number {
  if (inMaintenance(server) || (server.adminState & DRAIN_BITS) !== 0 || server.operationalState === OP_STOPPED) return 0;
  return server.weight;
}

const REQUIRED = ['be_name', 'srv_id', 'srv_name', 'srv_addr', 'srv_op_state', 'srv_admin_state', 'srv_uweight', 'srv_iweight', 'srv_port'] as const;

/** Parses the dump (format version 1); throws with what is wrong when it is not one. */
export function parseServersState(reply: string, backend: string): HaproxyServerState[] {
  const lines = reply.split('\n').filter((line) => line.trim() !== '');
  if (lines[0]?.trim() !== '1') throw new Error(`expected format version "1" on the first line, got ${JSON.stringify(lines[0] ?? '')}`);
  const header = lines[1];
  if (!header?.startsWith('# ')) throw new Error('no "# be_id be_name …" header line');
  const columns = header.slice(2).trim().split(/\s+/);
  const index = Object.fromEntries(REQUIRED.map((name) => [name, columns.indexOf(name)])) as Record<(typeof REQUIRED)[number], number>;
  const missing = REQUIRED.filter((name) => index[name] < 0);
  if (missing.length > 0) throw new Error(`the header lacks ${missing.join(', ')}`);

  const servers = lines.slice(2).map((line) => {
    const fields = line.trim().split(/\s+/);
    const text = (name: (typeof REQUIRED)[number]): string => {
      const value = fields[index[name]];
      if (value === undefined) throw new Error(`line ${JSON.stringify(line)} has no ${name}`);
      return value;
    };
    const number = (name: (typeof REQUIRED)[number]): number => {
      const value = Number(text(name));
      if (!Number.isInteger(value)) throw new Error(`line ${JSON.stringify(line)}: ${name} is ${JSON.stringify(text(name))}, not a whole number`);
      return value;
    };
    return {
      backend: text('be_name'),
      id: number('srv_id'),
      name: text('srv_name'),
      address: text('srv_addr'),
      port: number('srv_port'),
      weight: number('srv_uweight'),
      initialWeight: number('srv_iweight'),
      operationalState: number('srv_op_state'),
      adminState: number('srv_admin_state'),
    };
  });
  const stray = servers.find((server) => server.backend !== backend);
  if (stray) throw new Error(`asked for backend ${backend}, got a server of ${stray.backend}`);
  return servers.map(({ backend: _backend, ...server }) => server).sort((a, b) => a.id - b.id);
}
