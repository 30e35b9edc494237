// Real `ferry serve` processes for tests that need model servers (serving, rollouts, analysis):
// started from the built CLI on a free loopback port, resolved at their "ready" line, killed by
// stopFerryServes(). makeSmokeModel() writes the small ONNX classifier they serve. startFerryRouter()
// runs `ferry router` in front of one as the stable version v1.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { requirePython } from './python.js';
import { cleanEnv, CLI, NODE24, REPO_ROOT, run } from './repo.js';

export interface ServeProcess {
  /** http://127.0.0.1:port */
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly stdoutLines: string[];
  stderr(): string;
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone. */
  stop(): Promise<void>;
}

const started: ServeProcess[] = [];

/** Starts `ferry serve ARGS` and resolves at its ready line; rejects with its stderr if it exits first. */
export function startFerryServe(args: readonly string[]): Promise<ServeProcess> {
  const child = spawn(NODE24, [CLI, 'serve', ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const stdoutLines: string[] = [];
  let stderr = '';
  let partial = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ferry serve not ready in 30 s\n${stderr}`)), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        stdoutLines.push(line);
        const event = JSON.parse(line) as { event: string; url: string; port: number };
        if (event.event === 'ready') {
          clearTimeout(timer);
          const proc: ServeProcess = { url: event.url, port: event.port, child, stdoutLines, stderr: () => stderr, exited, stop };
          started.push(proc);
          resolve(proc);
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`ferry serve exited ${code} before it was ready\n${stderr}`));
    });
  });
}

/** Stops every process startFerryServe() started. */
export async function stopFerryServes(): Promise<void> {
  await Promise.all(started.splice(0).map((p) => p.stop()));
}

/** Writes test/fixtures/make_smoke_model.py's classifier (model.onnx: input `features` [N,4] FP32) into `dir`; returns its path. */
export async function makeSmokeModel(dir: string): Promise<string> {
  const made = await run(requirePython(), [join(REPO_ROOT, 'test/fixtures/make_smoke_model.py'), dir], { timeoutMs: 120_000 });
  if (made.code !== 0) throw new Error(`make_smoke_model.py failed:\n${made.stderr}`);
  return join(dir, 'model.onnx');
}

export interface FerryRouter {
  /** The data plane: http://127.0.0.1:port */
  readonly url: string;
  /** The admin API the rollout steps take as router-url. */
  readonly adminUrl: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

const routers: FerryRouter[] = [];

/** Starts `ferry router` on free ports with `stable` as version v1, its state in `stateDir`. */
export function startFerryRouter(stateDir: string, stable: ServeProcess): Promise<FerryRouter> {
  const args = [CLI, 'router', '--state-dir', stateDir, '--port', '0', '--admin-port', '0', '--stable-version', 'v1', '--stable-endpoint', stable.url];
  const child = spawn(NODE24, args, { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ferry router not ready in 20 s\n${stderr}`)), 20_000);
    child.stdout.once('data', (d: Buffer) => {
      clearTimeout(timer);
      const ready = JSON.parse(d.toString().split('\n')[0]!) as { url: string; adminUrl: string };
      const router: FerryRouter = {
        url: ready.url,
        adminUrl: ready.adminUrl,
        child,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      };
      routers.push(router);
      resolve(router);
    });
    void exited.then(() => reject(new Error(`ferry router exited before it was ready\n${stderr}`)));
  });
}

/** Stops every router startFerryRouter() started. */
export async function stopFerryRouters(): Promise<void> {
  await Promise.all(routers.splice(0).map((r) => r.stop()));
}

/** Three `ferry serve` processes for rollout tests: v1 and v2 on the same model, and a model that disagrees with them. */
export interface CanaryServes {
  readonly v1: ServeProcess;
  readonly v2: ServeProcess;
  readonly disagree: ServeProcess;
}

/**
 * Writes the smoke model and the canary fixtures (test/fixtures/make_canary_models.py) into `dir`
 * and serves them, each adding 20 ms a request like real compute; `disagreeVersion` labels the
 * disagreeing one.
 */
export async function startCanaryServes(dir: string, disagreeVersion: string): Promise<CanaryServes> {
  const model = await makeSmokeModel(dir);
  const made = await run(requirePython(), [join(REPO_ROOT, 'test/fixtures/make_canary_models.py'), dir], { timeoutMs: 120_000 });
  if (made.code !== 0) throw new Error(`make_canary_models.py failed:\n${made.stderr}`);
  const args = (m: string, version: string): string[] => ['--model-path', m, '--model-name', 'classifier', '--model-version', version, '--port', '0', '--inject-latency-ms', '20'];
  const [v1, v2, disagree] = await Promise.all([startFerryServe(args(model, 'v1')), startFerryServe(args(model, 'v2')), startFerryServe(args(join(dir, 'canary-rotated', 'model.onnx'), disagreeVersion))]);
  return { v1: v1!, v2: v2!, disagree: disagree! };
}
