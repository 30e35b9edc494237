// The embedded local deployment `ferry pipeline` uses for what ferry.yml does not name: stable and
// candidate served on loopback (`ferry serve` processes, or podman running their built images with
// serve-with: podman), and, for the local target, Ferry's weighted router in this process in front
// of them. Everything started here is stopped by stop(), also after a signal.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InfrastructureError, type Logger } from '@ferry/core';
import { startRouter, type RunningRouter } from '@ferry/rollout';
import { PodmanServers, type ImageSource, type ServedContainer } from './pipeline-podman.js';

/** The `ferry` binary this process runs, so started servers are the same build. */
export const FERRY_BIN = fileURLToPath(new URL('./bin.js', import.meta.url));

/** One word of a POSIX shell command line, quoted. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `ferry serve` for a model, as argv after the node binary. */
export function serveArgs(modelPath: string, modelName: string, version: string, port: string): string[] {
  return [FERRY_BIN, 'serve', '--model-path', modelPath, '--model-name', modelName, '--model-version', version, '--port', port];
}

/** The same as a shell command with $PORT, for benchmark-on-gpu-runner's `command`. */
export function serveCommand(modelPath: string, modelName: string, version: string): string {
  return [process.execPath, ...serveArgs(modelPath, modelName, version, '0')].map(shellQuote).join(' ').replace(/--port 0$/, '--port "$PORT"');
}

interface ServerProcess {
  readonly version: string;
  readonly url: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

export class LocalDeployment {
  private readonly servers: ServerProcess[] = [];
  private router: RunningRouter | undefined;
  private stopping: Promise<void> | undefined;
  private readonly podman: PodmanServers;

  constructor(
    private readonly modelName: string,
    private readonly logger: Logger,
  ) {
    this.podman = new PodmanServers(modelName, logger);
  }

  /** Containers started with serve-with: podman and still running. */
  get containers(): readonly ServedContainer[] {
    return this.podman.running;
  }

  /** Runs `version`'s built image with podman on a loopback port (`port`, or a free one); resolves once it is ready. */
  async serveImage(version: string, source: ImageSource, signal: AbortSignal, port?: number): Promise<ServedContainer> {
    if (this.stopping) throw new InfrastructureError('the local deployment is stopping');
    return this.podman.serve(version, source, signal, port);
  }

  get routerUrl(): string | undefined {
    return this.router?.url;
  }

  get adminUrl(): string | undefined {
    return this.router?.adminUrl;
  }

  /** URLs of the servers and containers started and still running, as `version url`. */
  get endpoints(): string[] {
    const processes = this.servers.filter((s) => s.child.exitCode === null && s.child.signalCode === null).map((s) => `${s.version} ${s.url}`);
    return [...processes, ...this.podman.running.map((c) => `${c.version} ${c.url}`)];
  }

  /** Pids of the processes started and still running. */
  get pids(): number[] {
    return this.servers.filter((s) => s.child.exitCode === null && s.child.signalCode === null).map((s) => s.child.pid!);
  }

  /** Starts `ferry serve` on `modelPath` as `version` (on `port`, or a free one); resolves at its ready line with its URL. */
  async serve(version: string, modelPath: string, signal: AbortSignal, port?: number): Promise<string> {
    if (this.stopping) throw new InfrastructureError('the local deployment is stopping');
    const child = spawn(process.execPath, serveArgs(modelPath, this.modelName, version, String(port ?? 0)), { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const url = await new Promise<string>((resolve, reject) => {
      let partial = '';
      const timer = setTimeout(() => reject(new InfrastructureError(`ferry serve for ${version} was not ready within 60 s:\n${stderr.trim()}`)), 60_000);
      const onAbort = (): void => reject(new InfrastructureError(`cancelled while ${version} was starting`));
      signal.addEventListener('abort', onAbort, { once: true });
      child.stdout.on('data', (d: Buffer) => {
        const lines = (partial + d.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          try {
            const event = JSON.parse(line) as { event?: string; url?: string };
            if (event.event === 'ready' && event.url) {
              clearTimeout(timer);
              signal.removeEventListener('abort', onAbort);
              resolve(event.url);
            }
          } catch {
            // Not an event line.
          }
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new InfrastructureError(`ferry serve for ${version} (${modelPath}) exited before it was ready:\n${stderr.trim()}`));
      });
    }).catch(async (err: unknown) => {
      await this.kill({ version, url: '', child, exited });
      throw err;
    });
    this.servers.push({ version, url, child, exited });
    this.logger.info(`ferry serve: ${version} on ${url} (pid ${child.pid})`);
    return url;
  }

  /** Starts the router in this process with `stable` serving all traffic; its state lives in stateDir (emptied first). */
  async startRouter(stateDir: string, stable: { name: string; endpoints: readonly string[] }): Promise<RunningRouter> {
    rmSync(stateDir, { recursive: true, force: true });
    mkdirSync(stateDir, { recursive: true });
    this.router = await startRouter({ port: 0, adminPort: 0, stateDir, stable: { name: stable.name, endpoints: [...stable.endpoints] }, logger: this.logger });
    this.logger.info(`ferry router: clients ${this.router.url}, admin ${this.router.adminUrl}, stable ${stable.name}`);
    return this.router;
  }

  private async kill(server: ServerProcess): Promise<void> {
    const { child } = server;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await server.exited;
    clearTimeout(timer);
  }

  /** Stops the router, then every server and container; safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const router = this.router;
      this.router = undefined;
      await router?.close().catch(() => undefined);
      await Promise.all([...this.servers.map((s) => this.kill(s)), this.podman.stop()]);
    })();
    return this.stopping;
  }
}
