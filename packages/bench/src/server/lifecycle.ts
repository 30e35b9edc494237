// The server under test: an endpoint that is already running, a container (docker or podman) or a
// plain command. A started server is polled until its health path answers 2xx (time-to-ready),
// then sent one real request until it succeeds (time-to-first-inference). Whatever was started is
// always stopped: on success, on failure and on cancellation; its log tail is kept for the report.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { InfrastructureError, InputError, type Logger } from '@ferry/core';
import { monotonicMs } from '../clock.js';
import type { HttpRequestSpec } from '../protocols/types.js';

export type ServerSpec =
  | { readonly kind: 'endpoint'; readonly url: string }
  | {
      readonly kind: 'container';
      readonly image: string;
      readonly runtime: 'auto' | 'docker' | 'podman';
      readonly containerPort: number;
      readonly args: readonly string[];
      /** After the image: the container's command. */
      readonly command?: readonly string[];
      /** Pass every GPU through (only asked when the readiness check found one). */
      readonly gpus: boolean;
    }
  | { readonly kind: 'command'; readonly command: string; readonly port: number; readonly cwd: string };

export interface StartOptions {
  /** Path polled for readiness (undefined: any HTTP answer below 500 counts). */
  readonly healthPath: string | undefined;
  readonly readyTimeoutMs: number;
  readonly logLines: number;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Why a started server never came up: the candidate could not serve, which the step reports as a failure. */
export class ServerStartError extends Error {
  readonly logTail: readonly string[];
  constructor(message: string, logTail: readonly string[]) {
    super(message);
    this.name = 'ServerStartError';
    this.logTail = logTail;
  }
}

export interface RunningServer {
  /** Base URL requests go to. */
  readonly url: string;
  /** How the server came to be, for the report ("podman container of image …"). */
  readonly description: string;
  /** Whether the step started it (and so measured its start and must stop it). */
  readonly started: boolean;
  /** Monotonic ms when the start command was issued. */
  readonly startedAtMs: number;
  /** Start to the first 2xx health check (started servers only). */
  readonly timeToReadyMs: number | undefined;
  /** Start to the first successful inference, once `firstInference` has run. */
  timeToFirstInferenceMs: number | undefined;
  /** The last lines the server wrote (empty for an endpoint). */
  logTail(): Promise<string[]>;
  /** Undefined while a started server runs; how it ended ("exited with code 1") once it has not. */
  exited(): Promise<string | undefined>;
  /** Stops what was started; safe to call more than once. */
  stop(): Promise<void>;
}

/** A free loopback TCP port, from the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((done) => {
    const onAbort = (): void => {
      clearTimeout(t);
      done();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      done();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Whether `p` settles within `ms`; the timer is cleared either way, so it never holds the process open. */
function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((done) => (timer = setTimeout(() => done(false), ms)));
  return Promise.race([p.then(() => true), timeout]).finally(() => clearTimeout(timer));
}

/** Keeps the last `max` lines written to a stream. */
class LineTail {
  private readonly lines: string[] = [];
  private partial = '';
  constructor(private readonly max: number) {}
  push(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const parts = text.split(/\r?\n/);
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.add(line);
    if (this.partial.length > 8192) (this.add(this.partial), (this.partial = ''));
  }
  private add(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
  }
  snapshot(): string[] {
    return this.partial ? [...this.lines, this.partial].slice(-this.max) : [...this.lines];
  }
}

interface Exec {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function exec(command: string, args: readonly string[], timeoutMs: number, env?: Readonly<Record<string, string | undefined>>): Promise<Exec> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env as NodeJS.ProcessEnv | undefined });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => (clearTimeout(timer), fail(err)));
    child.once('close', (code) => (clearTimeout(timer), done({ code, stdout, stderr })));
  });
}

function onPath(binary: string, env: Readonly<Record<string, string | undefined>>): Promise<boolean> {
  return exec(binary, ['--version'], 10_000, env).then(
    (r) => r.code === 0,
    () => false,
  );
}

/** The container runtime to use: docker when it is on PATH (auto), else podman. */
export async function pickContainerRuntime(wanted: 'auto' | 'docker' | 'podman', env: Readonly<Record<string, string | undefined>>): Promise<'docker' | 'podman'> {
  if (wanted !== 'auto') {
    if (!(await onPath(wanted, env))) throw new InputError(`container-runtime ${wanted} is not on PATH on this runner`, { subject: 'container-runtime' });
    return wanted;
  }
  if (await onPath('docker', env)) return 'docker';
  if (await onPath('podman', env)) return 'podman';
  throw new InputError('image is set, but neither docker nor podman is on PATH on this runner: install one, or give `endpoint` or `command` instead', { subject: 'container-runtime' });
}

interface ProbeResult {
  readonly ok: boolean;
  readonly status?: number;
  readonly error?: string;
}

async function probe(url: string, signal: AbortSignal, init?: { method: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<ProbeResult> {
  const timeout = AbortSignal.timeout(5000);
  try {
    const response = await fetch(url, { method: init?.method ?? 'GET', headers: init?.headers, body: init?.body, signal: AbortSignal.any([signal, timeout]), redirect: 'manual' });
    await response.arrayBuffer();
    return { ok: response.status >= 200 && response.status < 300, status: response.status };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, error: cause?.code ?? cause?.message ?? (err as Error).message };
  }
}

function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/** Something that ends the wait early: the process or container died. */
type Liveness = () => Promise<string | undefined>;

async function waitReady(url: string, options: StartOptions, startedAtMs: number, alive: Liveness, tail: () => Promise<string[]>): Promise<number> {
  const target = options.healthPath === undefined ? url : joinUrl(url, options.healthPath);
  const deadline = startedAtMs + options.readyTimeoutMs;
  let last: ProbeResult | undefined;
  let lastReport = startedAtMs;
  let interval = 100;
  for (;;) {
    if (options.signal.aborted) throw new InfrastructureError('cancelled while waiting for the server to become ready');
    last = await probe(target, options.signal);
    const answered = options.healthPath === undefined ? last.status !== undefined && last.status < 500 : last.ok;
    if (answered) return monotonicMs() - startedAtMs;
    const died = await alive();
    if (died !== undefined) throw new ServerStartError(`the server ${died} before it became ready (${target})`, await tail());
    const now = monotonicMs();
    if (now >= deadline) {
      const why = last.status !== undefined ? `last answer HTTP ${last.status}` : `last error ${last.error ?? 'none'}`;
      throw new ServerStartError(`the server was not ready within ${Math.round(options.readyTimeoutMs / 1000)} s: ${target} never answered 2xx (${why})`, await tail());
    }
    if (now - lastReport >= 15_000) {
      options.logger.info(`waiting for ${target}: ${Math.round((now - startedAtMs) / 1000)} s so far (${last.status !== undefined ? `HTTP ${last.status}` : (last.error ?? '…')})`);
      lastReport = now;
    }
    await sleep(interval, options.signal);
    interval = Math.min(500, interval * 1.5);
  }
}

/**
 * Sends one real request until it succeeds, measuring time-to-first-inference from the start.
 * Servers often answer health before the model has loaded; this is the number users feel.
 */
export async function firstInference(server: RunningServer, request: HttpRequestSpec, options: { timeoutMs: number; signal: AbortSignal }): Promise<number | undefined> {
  const deadline = monotonicMs() + options.timeoutMs;
  let last: ProbeResult = { ok: false };
  while (!options.signal.aborted) {
    last = await probe(joinUrl(server.url, request.path), options.signal, {
      method: request.method,
      headers: { ...(request.headers ?? {}) },
      ...(request.body !== undefined ? { body: request.body } : {}),
    });
    if (last.ok) {
      if (server.started) server.timeToFirstInferenceMs = monotonicMs() - server.startedAtMs;
      return server.timeToFirstInferenceMs;
    }
    if (monotonicMs() >= deadline) break;
    await sleep(250, options.signal);
  }
  if (options.signal.aborted) throw new InfrastructureError('cancelled while sending the first inference request');
  const why = last.status !== undefined ? `HTTP ${last.status}` : (last.error ?? 'no answer');
  throw new ServerStartError(`no inference request succeeded within ${Math.round(options.timeoutMs / 1000)} s (${request.method} ${request.path}: ${why})`, await server.logTail());
}

function endpointServer(url: string): RunningServer {
  return {
    url: url.replace(/\/+$/, ''),
    description: `endpoint ${url}`,
    started: false,
    startedAtMs: monotonicMs(),
    timeToReadyMs: undefined,
    timeToFirstInferenceMs: undefined,
    logTail: async () => [],
    exited: async () => undefined,
    stop: async () => undefined,
  };
}

async function startCommand(spec: Extract<ServerSpec, { kind: 'command' }>, options: StartOptions): Promise<RunningServer> {
  const port = spec.port === 0 ? await freePort() : spec.port;
  const url = `http://127.0.0.1:${port}`;
  const tail = new LineTail(Math.max(1, options.logLines));
  const startedAtMs = monotonicMs();
  const child: ChildProcess = spawn('/bin/sh', ['-c', spec.command], {
    cwd: spec.cwd,
    env: { ...(options.env as NodeJS.ProcessEnv), PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so stop() reaches the server and everything it started.
    detached: true,
  });
  let exit: string | undefined;
  const exited = new Promise<void>((done) => {
    child.once('exit', (code, sig) => {
      exit = sig ? `was killed by ${sig}` : `exited with code ${code}`;
      done();
    });
    child.once('error', (err) => {
      exit = `could not be started (${err.message})`;
      done();
    });
  });
  child.stdout!.on('data', (d: Buffer) => tail.push(d));
  child.stderr!.on('data', (d: Buffer) => tail.push(d));
  const kill = (sig: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, sig);
    } catch {
      /* already gone */
    }
  };
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (exit !== undefined) return;
      kill('SIGTERM');
      if (!(await settlesWithin(exited, 10_000))) {
        kill('SIGKILL');
        await settlesWithin(exited, 5000);
      }
    })());
  const server: RunningServer = {
    url,
    description: `command \`${spec.command}\` on port ${port}`,
    started: true,
    startedAtMs,
    timeToReadyMs: undefined,
    timeToFirstInferenceMs: undefined,
    logTail: async () => tail.snapshot(),
    exited: async () => exit,
    stop,
  };
  try {
    const ready = await waitReady(url, options, startedAtMs, server.exited, server.logTail);
    return { ...server, timeToReadyMs: ready };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function startContainer(spec: Extract<ServerSpec, { kind: 'container' }>, options: StartOptions): Promise<RunningServer> {
  const runtime = await pickContainerRuntime(spec.runtime, options.env);
  const hostPort = await freePort();
  const name = `ferry-bench-${randomBytes(5).toString('hex')}`;
  const gpuArgs = spec.gpus ? (runtime === 'docker' ? ['--gpus', 'all'] : ['--device', 'nvidia.com/gpu=all']) : [];
  // No --rm: a container that crashes keeps its log until stop() has read it.
  const args = ['run', '--detach', '--name', name, '--publish', `127.0.0.1:${hostPort}:${spec.containerPort}`, ...gpuArgs, ...spec.args, spec.image, ...(spec.command ?? [])];
  options.logger.info(`${runtime} ${args.join(' ')}`);
  const startedAtMs = monotonicMs();
  const run = await exec(runtime, args, options.readyTimeoutMs, options.env).catch((err: Error) => ({ code: -1, stdout: '', stderr: err.message }));
  const logTail = async (): Promise<string[]> => {
    const r = await exec(runtime, ['logs', '--tail', String(Math.max(1, options.logLines)), name], 30_000, options.env).catch(() => undefined);
    if (!r) return [];
    return `${r.stdout}${r.stderr}`.split(/\r?\n/).filter((l, i, all) => l !== '' || i < all.length - 1).slice(-options.logLines);
  };
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= exec(runtime, ['rm', '--force', name], 60_000, options.env).then(
      () => undefined,
      () => undefined,
    ));
  if (run.code !== 0) {
    await stop();
    const message = run.stderr.trim().split('\n').slice(-3).join(' ') || `exit code ${run.code}`;
    throw new InfrastructureError(`${runtime} could not start image ${spec.image}: ${message}`, { service: runtime });
  }
  const alive: Liveness = async () => {
    const r = await exec(runtime, ['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name], 10_000, options.env).catch(() => undefined);
    if (!r || r.code !== 0) return undefined;
    const [status, code] = r.stdout.trim().split(/\s+/);
    return status === 'exited' || status === 'dead' ? `container exited with code ${code}` : undefined;
  };
  const url = `http://127.0.0.1:${hostPort}`;
  try {
    const ready = await waitReady(url, options, startedAtMs, alive, logTail);
    return {
      url,
      description: `${runtime} container ${name} of ${spec.image}${spec.gpus ? ' with every GPU' : ''}`,
      started: true,
      startedAtMs,
      timeToReadyMs: ready,
      timeToFirstInferenceMs: undefined,
      logTail,
      exited: alive,
      stop,
    };
  } catch (err) {
    if (err instanceof ServerStartError) {
      const lines = await logTail();
      await stop();
      throw new ServerStartError(err.message, lines);
    }
    await stop();
    throw err;
  }
}

/** Starts (or adopts) the server; throws ServerStartError when a started one never comes up. */
export async function startServer(spec: ServerSpec, options: StartOptions): Promise<RunningServer> {
  switch (spec.kind) {
    case 'endpoint': {
      const server = endpointServer(spec.url);
      const target = options.healthPath === undefined ? server.url : joinUrl(server.url, options.healthPath);
      const answer = await probe(target, options.signal);
      if (!answer.ok && answer.status === undefined) {
        throw new InfrastructureError(`endpoint ${spec.url} is unreachable: ${target} gave ${answer.error ?? 'no answer'}`, { service: 'endpoint' });
      }
      if (!answer.ok && options.healthPath !== undefined) options.logger.warn(`endpoint health ${target} answered HTTP ${answer.status}; benchmarking anyway`);
      return server;
    }
    case 'command':
      return startCommand(spec, options);
    case 'container':
      return startContainer(spec, options);
  }
}
