// HAProxy on loopback with its runtime API open, the way a VM fleet's router is driven by the
// rollout HAProxy target: weights change over the admin socket, without a reload.
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import type { NetConnectOpts } from 'node:net';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';
import { freePorts } from './ports.js';
import { startComponent } from './process.js';
import { makeWorkDir } from './workdir.js';
import type { ComponentProcess } from './process.js';

export interface HaproxyServer {
  name: string;
  /** host:port */
  address: string;
  weight: number;
}

export interface HaproxyBackend {
  name: string;
  servers: HaproxyServer[];
}

export interface HaproxyOptions {
  /** The first backend takes the traffic; a request header `x-ferry-backend: <name>` picks another. */
  backends: HaproxyBackend[];
}

export interface HaproxyComponent {
  /** http://127.0.0.1:frontendPort */
  readonly url: string;
  readonly frontendPort: number;
  /** Path of the runtime API unix socket (level admin). */
  readonly adminSocket: string;
  /** 127.0.0.1:port of the runtime API TCP socket (level admin). */
  readonly adminAddress: string;
  /** Path of a runtime API unix socket at level operator: it may read state but not change weights or servers. */
  readonly operatorSocket: string;
  readonly configFile: string;
  readonly logFile: string;
  /** Sends one runtime API command over the unix socket and returns the reply. */
  runtime(command: string): Promise<string>;
  /** A cold restart from the config file: weights set at runtime are lost, as after a real one. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

function haproxyConfig(options: HaproxyOptions, frontendPort: number, adminSocket: string, adminPort: number, operatorSocket: string): string {
  const [first] = options.backends;
  if (first === undefined) throw new Error('startHaproxy needs at least one backend');
  const lines = [
    'global',
    `  stats socket ${adminSocket} mode 600 level admin`,
    `  stats socket ipv4@127.0.0.1:${adminPort} level admin`,
    `  stats socket ${operatorSocket} mode 600 level operator`,
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 10s',
    '  timeout server 10s',
    'frontend ferry',
    `  bind 127.0.0.1:${frontendPort}`,
    '  use_backend %[req.hdr(x-ferry-backend)] if { req.hdr(x-ferry-backend) -m found }',
    `  default_backend ${first.name}`,
  ];
  for (const backend of options.backends) {
    lines.push(`backend ${backend.name}`, '  balance roundrobin');
    for (const server of backend.servers) lines.push(`  server ${server.name} ${server.address} weight ${server.weight}`);
  }
  return `${lines.join('\n')}\n`;
}

/** One runtime API exchange: HAProxy answers one command and closes the connection. */
export function runtimeCommand(target: NetConnectOpts, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(target);
    const chunks: Buffer[] = [];
    socket.setTimeout(5_000, () => socket.destroy(new Error(`runtime API timed out on: ${command}`)));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('close', () => resolve(Buffer.concat(chunks).toString()));
    socket.end(`${command}\n`);
  });
}

export async function startHaproxy(options: HaproxyOptions): Promise<HaproxyComponent> {
  const binary = requireBinary('haproxy', 'haproxy');
  const workDir = await makeWorkDir('haproxy');
  const [frontendPort, adminPort] = (await freePorts(2)) as [number, number];
  const adminSocket = join(workDir.path, 'admin.sock');
  const operatorSocket = join(workDir.path, 'operator.sock');
  const configFile = join(workDir.path, 'haproxy.cfg');
  await writeFile(configFile, haproxyConfig(options, frontendPort, adminSocket, adminPort, operatorSocket));
  const runtime = (command: string) => runtimeCommand({ path: adminSocket }, command);

  const launch = () =>
    startComponent({
      name: 'haproxy',
      command: binary,
      // -W: master-worker, as packaged services run it; -db: stay in the foreground.
      args: ['-W', '-db', '-f', configFile],
      workDir,
      keepWorkDir: true,
      // Both listeners and the admin socket open together; the runtime API answering means the
      // worker, not just the master, is up.
      ready: { what: `haproxy runtime API on ${adminSocket}`, probe: async () => (await runtime('show info')).includes('Pid:') },
    });
  let proc: ComponentProcess = await launch();

  return {
    url: `http://127.0.0.1:${frontendPort}`,
    frontendPort,
    adminSocket,
    adminAddress: `127.0.0.1:${adminPort}`,
    operatorSocket,
    configFile,
    get logFile() {
      return proc.logFile;
    },
    runtime,
    async restart() {
      await proc.stop();
      proc = await launch();
    },
    async stop() {
      await proc.stop();
      await workDir.remove();
    },
    kill: () => proc.kill(),
  };
}
