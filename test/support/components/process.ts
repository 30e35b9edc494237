// Runs a long-running component (registry, Prometheus, HAProxy) on loopback, waits until it
// answers, and makes sure it and everything it forked are gone after stop(), kill() or the run.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeAllWorkDirs, removeAllWorkDirsSync } from './workdir.js';
import type { WorkDir } from './workdir.js';

export type Readiness =
  | { url: string; status?: number }
  | { tcpPort: number }
  | { what: string; probe: () => Promise<boolean> };

export interface StartOptions {
  name: string;
  /** Absolute path, from requireBinary. */
  command: string;
  args: readonly string[];
  /** Holds the component's config, data and log; removed by stop() unless keepWorkDir. */
  workDir: WorkDir;
  ready: Readiness;
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. */
  graceMs?: number;
  /** For restarts that reuse the same config and data. */
  keepWorkDir?: boolean;
}

export interface ComponentProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Exit code, or the signal name when killed. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, SIGKILL after the grace period, then the work dir is removed (unless kept). */
  stop(): Promise<void>;
  /** SIGKILL at once, keeping the work dir: for fault tests. */
  kill(): Promise<void>;
  logTail(lines?: number): string;
}

const liveProcesses = new Set<ComponentProcess>();
const otherCleanups = new Set<() => Promise<void>>();

/** Registers cleanup for something that is not a process or a dir (a podman image); returns the unregister. */
export function onStopAll(cleanup: () => Promise<void>): () => void {
  otherCleanups.add(cleanup);
  return () => otherCleanups.delete(cleanup);
}

// The component runs in its own process group so one signal reaches everything it forks. The
// watcher in the same group reads fd 3, a pipe whose other end only this Node process holds:
// when this process dies, even by SIGKILL, the pipe closes and the watcher kills the group.
const WATCHDOG = '(cat <&3 >/dev/null; kill -KILL 0) & exec "$@" 3<&-';

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function readTail(logFile: string, lines: number): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function probeOnce(ready: Readiness): Promise<boolean> {
  if ('url' in ready) {
    const response = await fetch(ready.url, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return response.status === (ready.status ?? 200);
  }
  if ('tcpPort' in ready) {
    return new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: ready.tcpPort, timeout: 1_000 });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
    });
  }
  return ready.probe();
}

function describeReadiness(ready: Readiness): string {
  if ('url' in ready) return `GET ${ready.url} to answer ${ready.status ?? 200}`;
  if ('tcpPort' in ready) return `127.0.0.1:${ready.tcpPort} to accept connections`;
  return ready.what;
}

/** Undefined once ready, else why not; an exit ends the wait at once instead of at the timeout. */
async function waitUntilReady(ready: Readiness, timeoutMs: number, hasExited: () => boolean): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (hasExited()) return 'exited';
    if (await probeOnce(ready).catch(() => false)) return undefined;
    if (Date.now() >= deadline) return `not ready after ${timeoutMs} ms waiting for ${describeReadiness(ready)}`;
    await sleep(50);
  }
}

/** Starts the component and resolves once it is ready; throws with its log tail if it is not. */
export async function startComponent(options: StartOptions): Promise<ComponentProcess> {
  const { name, command, args, workDir, ready, readyTimeoutMs = 30_000, graceMs = 5_000, keepWorkDir = false } = options;
  const logFile = join(workDir.path, `${name}.log`);
  const logFd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn('/bin/sh', ['-c', WATCHDOG, `ferry-${name}`, command, ...args], {
      cwd: workDir.path,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', logFd, logFd, 'pipe'],
    });
  } finally {
    closeSync(logFd);
  }
  let hasExited = false;
  const lifeline = child.stdio[3] as Socket;
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (error) => {
      hasExited = true;
      resolve(`spawn failed: ${error.message}`);
    });
    child.once('exit', (code, signal) => {
      hasExited = true;
      // Closing the lifeline makes the watchdog sweep anything the component left behind.
      lifeline.destroy();
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: could not spawn ${command}: ${String(await exited)}`);
  // A component a test forgot must not keep the test process alive; the exit hook and the
  // watchdog take it down instead.
  child.unref();
  lifeline.unref();

  const waitForExit = async (ms: number): Promise<boolean> => {
    if (hasExited) return true;
    const timer = new AbortController();
    try {
      return await Promise.race([exited.then(() => true), sleep(ms, false, { signal: timer.signal })]);
    } finally {
      timer.abort();
    }
  };

  const handle: ComponentProcess = {
    name,
    pid,
    logFile,
    exited,
    async stop() {
      if (!hasExited) {
        signalGroup(pid, 'SIGTERM');
        if (!(await waitForExit(graceMs))) signalGroup(pid, 'SIGKILL');
      }
      // SIGKILL the group even after a clean exit: a forked helper may have outlived its parent.
      signalGroup(pid, 'SIGKILL');
      await waitForExit(graceMs);
      liveProcesses.delete(handle);
      if (!keepWorkDir) await workDir.remove();
    },
    async kill() {
      signalGroup(pid, 'SIGKILL');
      await waitForExit(graceMs);
    },
    logTail(lines = 20) {
      return readTail(logFile, lines);
    },
  };
  liveProcesses.add(handle);

  const failure = await waitUntilReady(ready, readyTimeoutMs, () => hasExited);
  if (failure !== undefined) {
    const reason = hasExited ? `exited (${String(await exited)}) before it was ready` : failure;
    const tail = handle.logTail(20);
    await handle.stop();
    throw new Error(`${name} did not start: ${reason}\n--- last lines of its log ---\n${tail}`);
  }
  return handle;
}

/** Stops every component and removes every work dir and image still registered: for afterAll. */
export async function stopAll(): Promise<void> {
  await Promise.all([...liveProcesses].map((p) => p.stop()));
  const cleanups = [...otherCleanups];
  otherCleanups.clear();
  await Promise.all(cleanups.map((cleanup) => cleanup()));
  await removeAllWorkDirs();
}

// Signals and dir removal only: an exit hook cannot wait for anything.
process.on('exit', () => {
  for (const p of liveProcesses) signalGroup(p.pid, 'SIGKILL');
  removeAllWorkDirsSync();
});
