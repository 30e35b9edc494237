// MLServer (Seldon's Open Inference Protocol v2 server, installed by scripts/install-model-servers.sh)
// on loopback, serving the tiny numpy runtime of test/fixtures/mlserver: third-party OIP traffic
// for the load generator.
import { existsSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from '../repo.js';
import { freePorts } from './ports.js';
import { startComponent } from './process.js';
import { makeWorkDir } from './workdir.js';

const VENV = process.env.FERRY_MLSERVER_VENV ?? '/var/cache/ferry/mlserver-venv';
export const MLSERVER_FIXTURE = join(REPO_ROOT, 'test/fixtures/mlserver');
/** The model the fixture serves: the row sums of an FP32 [-1, 4] input `x`, as output `sum`. */
export const MLSERVER_MODEL = 'row-sum';

export interface MlserverComponent {
  readonly url: string;
  readonly logFile: string;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

/** Fails (never skips) with the command that installs MLServer. */
export function requireMlserver(): string {
  const binary = join(VENV, 'bin/mlserver');
  if (!existsSync(binary)) throw new Error(`MLServer ${binary} is missing: run "sudo bash scripts/install-model-servers.sh" (npm test does this)`);
  return binary;
}

export async function startMlserver(): Promise<MlserverComponent> {
  const binary = requireMlserver();
  const workDir = await makeWorkDir('mlserver');
  // A copy, so the server's bytecode and scratch files never land in the repository.
  const models = join(workDir.path, 'models');
  await cp(MLSERVER_FIXTURE, models, { recursive: true });
  const [httpPort, grpcPort] = (await freePorts(2)) as [number, number];
  const settings = JSON.parse(await readFile(join(models, 'settings.json'), 'utf8')) as Record<string, unknown>;
  // gRPC cannot be switched off in MLServer 1.7, so it gets a free loopback port too (metrics are off).
  await writeFile(join(models, 'settings.json'), JSON.stringify({ ...settings, host: '127.0.0.1', http_port: httpPort, grpc_port: grpcPort }));
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };
  for (const key of Object.keys(env)) if (key.startsWith('MLSERVER_')) delete env[key];
  const url = `http://127.0.0.1:${httpPort}`;
  const proc = await startComponent({
    name: 'mlserver',
    command: binary,
    args: ['start', models],
    workDir,
    env,
    ready: { url: `${url}/v2/health/ready` },
    readyTimeoutMs: 60_000,
  });
  return { url, logFile: proc.logFile, logTail: (lines) => proc.logTail(lines), stop: () => proc.stop() };
}
