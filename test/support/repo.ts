// Paths and process helpers shared by tests that run Ferry the way users do (CLI, bundles).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Node 24 from the `node@24` npm package: the runtime GitHub uses for `runs.using: node24`. */
export const NODE24 = join(REPO_ROOT, 'node_modules/.bin/node');
export const CLI = join(REPO_ROOT, 'packages/cli/dist/bin.js');

export function requireBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "bash scripts/build.sh --packages-only" (npm test does this)`);
  if (!existsSync(NODE24)) throw new Error(`${NODE24} is missing: run "npm ci" (the node@24 devDependency provides it)`);
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion with a bounded time, capturing output. */
export function run(command: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd ?? REPO_ROOT, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 60_000} ms\n${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs the built ferry CLI on Node 24. */
export function ferry(args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return run(NODE24, [CLI, ...args], { ...opts, env: { ...cleanEnv(), ...opts.env } });
}

/** The test's environment without CI variables that would switch Ferry into GitHub or GitLab mode. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('GITHUB_') || k.startsWith('INPUT_') || k.startsWith('CI_') || k === 'GITLAB_CI' || k.startsWith('FERRY_INPUT_') || k === 'RUNNER_TEMP') continue;
    env[k] = v;
  }
  return env;
}

/** Runs `ferry ARGS --json` and parses the step result it prints; throws with both streams when there is none. */
/** What `ferry <step> --json` prints, as far as the step tests read it. */
export interface StepJson {
  verdict: string;
  headline: string;
  outputs: Record<string, string>;
  exitCode: number;
  error?: string;
  report?: { heading: string; blocks: { kind: string; text?: string }[] }[];
}

/** A step run to completion, its JSON parsed. */
export type StepRun = RunResult & { json: StepJson };

/** `ferry ARGS --json` in `cwd`, the printed result parsed as a step's. */
export const stepIn = (cwd: string, args: readonly string[], timeoutMs = 120_000): Promise<StepRun> => ferryJson<StepJson>(args, { cwd, timeoutMs });

export async function ferryJson<T>(args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult & { json: T }> {
  const result = await ferry([...args, '--json'], opts);
  try {
    return { ...result, json: JSON.parse(result.stdout) as T };
  } catch {
    throw new Error(`ferry ${args[0]} printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}
