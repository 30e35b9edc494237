// The CNCF distribution registry (Debian's docker-registry) on loopback with our own config:
// Debian's default one listens on every address and demands htpasswd logins.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';
import { freePort } from './ports.js';
import { startComponent } from './process.js';
import { makeWorkDir } from './workdir.js';

export interface RegistryComponent {
  /** http://127.0.0.1:port */
  readonly url: string;
  /** 127.0.0.1:port, as image references spell it */
  readonly host: string;
  readonly storageDir: string;
  readonly logFile: string;
  stop(): Promise<void>;
  /** SIGKILL, for fault tests; stop() still cleans up afterwards. */
  kill(): Promise<void>;
}

function registryConfig(port: number, storageDir: string): string {
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
    '',
  ].join('\n');
}

export async function startRegistry(): Promise<RegistryComponent> {
  const binary = requireBinary('docker-registry', 'docker-registry');
  const workDir = await makeWorkDir('registry');
  const storageDir = join(workDir.path, 'storage');
  await mkdir(storageDir);
  const port = await freePort();
  const configFile = join(workDir.path, 'config.yml');
  await writeFile(configFile, registryConfig(port, storageDir));
  // REGISTRY_* variables override the config file; one leaking in from the shell would silently
  // move the registry off loopback or turn auth back on.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('REGISTRY_')));
  const url = `http://127.0.0.1:${port}`;
  const proc = await startComponent({
    name: 'registry',
    command: binary,
    args: ['serve', configFile],
    workDir,
    env,
    ready: { url: `${url}/v2/` },
  });
  return { url, host: `127.0.0.1:${port}`, storageDir, logFile: proc.logFile, stop: () => proc.stop(), kill: () => proc.kill() };
}
