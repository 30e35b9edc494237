// The CNCF distribution registry (Debian's docker-registry) on loopback with our own config:
// Debian's default one listens on every address and demands htpasswd logins.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';
import { freePort } from './ports.js';
import { startComponent } from './process.js';
import type { ComponentProcess } from './process.js';
import { makeWorkDir } from './workdir.js';

export interface RegistryComponent {
  /** http://127.0.0.1:port (https:// with the tls option) */
  readonly url: string;
  /** 127.0.0.1:port, as image references spell it */
  readonly host: string;
  readonly storageDir: string;
  readonly logFile: string;
  stop(): Promise<void>;
  /** SIGKILL, for fault tests; stop() still cleans up afterwards. */
  kill(): Promise<void>;
  /** Starts it again (after kill() or a running one is stopped first) on the same port and storage. */
  restart(): Promise<void>;
}

/** How the registry authenticates; none by default. */
export type RegistryAuth =
  /** Basic auth against an htpasswd file (bcrypt entries). */
  | { htpasswd: string }
  /** Bearer tokens from a token service, signed by a key whose certificate is in rootCertBundle. */
  | { token: { realm: string; service: string; issuer: string; rootCertBundle: string } };

export interface RegistryOptions {
  auth?: RegistryAuth;
  /** Serve HTTPS with this PEM certificate and key instead of plain HTTP. */
  tls?: { certificate: string; key: string };
}

function authConfig(auth: RegistryAuth | undefined): string[] {
  if (auth === undefined) return [];
  if ('htpasswd' in auth) return ['auth:', '  htpasswd:', '    realm: ferry-test', `    path: ${auth.htpasswd}`];
  const { realm, service, issuer, rootCertBundle } = auth.token;
  return ['auth:', '  token:', `    realm: ${realm}`, `    service: ${service}`, `    issuer: ${issuer}`, `    rootcertbundle: ${rootCertBundle}`];
}

function registryConfig(port: number, storageDir: string, options: RegistryOptions): string {
  return [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storageDir}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    ...(options.tls ? ['  tls:', `    certificate: ${options.tls.certificate}`, `    key: ${options.tls.key}`] : []),
    ...authConfig(options.auth),
    '',
  ].join('\n');
}

export async function startRegistry(options: RegistryOptions = {}): Promise<RegistryComponent> {
  const binary = requireBinary('docker-registry', 'docker-registry');
  const workDir = await makeWorkDir('registry');
  const storageDir = join(workDir.path, 'storage');
  await mkdir(storageDir);
  const port = await freePort();
  const configFile = join(workDir.path, 'config.yml');
  await writeFile(configFile, registryConfig(port, storageDir, options));
  // REGISTRY_* variables override the config file; one leaking in from the shell would silently
  // move the registry off loopback or turn auth back on.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('REGISTRY_')));
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const launch = () =>
    startComponent({
      name: 'registry',
      command: binary,
      args: ['serve', configFile],
      workDir,
      env,
      keepWorkDir: true,
      // With auth on, /v2/ answers 401 once it is up; with TLS, fetch would refuse the test certificate.
      ready: options.tls ? { tcpPort: port } : { url: `${url}/v2/`, status: options.auth === undefined ? 200 : 401 },
    });
  let proc: ComponentProcess = await launch();
  return {
    url,
    host: `127.0.0.1:${port}`,
    storageDir,
    get logFile() {
      return proc.logFile;
    },
    async stop() {
      await proc.stop();
      await workDir.remove();
    },
    kill: () => proc.kill(),
    async restart() {
      await proc.stop();
      proc = await launch();
    },
  };
}
