// Spawn-and-time: wall time from spawn to exit of a child process (start-up included, as a user
// pays it), its output, and optionally its peak RSS.
import { spawn } from 'node:child_process';
import { rssProbe } from './rss.ts';

export interface TimedProcess {
  readonly ms: number;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly peakRssBytes?: number | undefined;
}

export interface SpawnTimedOptions {
  readonly env?: Record<string, string> | undefined;
  readonly cwd?: string | undefined;
  /** Wraps the child to read its peak RSS; costs about a millisecond, so leave it off for start-up timing. */
  readonly measureRss?: boolean | undefined;
}

export function spawnTimed(command: string, args: readonly string[], options: SpawnTimedOptions = {}): Promise<TimedProcess> {
  const probe = options.measureRss ? rssProbe(command, args) : undefined;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(probe?.command ?? command, probe?.args ?? args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (probe && child.pid !== undefined) probe.attach(child.pid);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      probe?.finish();
      reject(new Error(`cannot run ${command}: ${e.message}`));
    });
    child.on('close', (exitCode, signal) => {
      const ms = performance.now() - t0;
      resolve({
        ms,
        exitCode,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        peakRssBytes: probe?.finish(),
      });
    });
  });
}

/** The last lines of a child's stderr, for an error message. */
export function stderrTail(p: TimedProcess, lines = 3): string {
  const tail = p.stderr.trim().split('\n').slice(-lines).join(' | ');
  return tail === '' ? `exit ${p.exitCode ?? p.signal}` : `exit ${p.exitCode ?? p.signal}: ${tail}`;
}

/** What an anchor tool printed and how it exited. */
export interface ToolRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a tool to completion (killed after timeoutMs); a spawn failure is exit -1, never a throw. */
export function runTool(command: string, args: readonly string[], timeoutMs: number): Promise<ToolRun> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: String(err) });
    });
  });
}
