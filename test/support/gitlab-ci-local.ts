// Runs GitLab pipelines on this machine with gitlab-ci-local: throwaway git repositories holding a
// template and a user's .gitlab-ci.yml, the shell executor, and a `ferry` shim on PATH.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cleanEnv, CLI, NODE24, REPO_ROOT, run, type RunResult } from './repo.js';

/** The JavaScript entry of the gitlab-ci-local devDependency (4.74+ needs Node 22+: run on NODE24). */
export const GITLAB_CI_LOCAL = join(REPO_ROOT, 'node_modules/gitlab-ci-local/dist/index.js');

/**
 * Fails with the command that installs whatever gitlab-ci-local needs and is missing: `jobs` when
 * the test runs jobs, because gitlab-ci-local copies the tracked files with rsync first.
 */
export function requireGitlabCiLocal(use: 'preview' | 'jobs'): void {
  if (!existsSync(GITLAB_CI_LOCAL)) throw new Error(`${GITLAB_CI_LOCAL} is missing: run "npm ci" (gitlab-ci-local is a devDependency)`);
  if (!existsSync(NODE24)) throw new Error(`${NODE24} is missing: run "npm ci" (gitlab-ci-local needs Node 22+; the node@24 devDependency provides it)`);
  const tools = use === 'jobs' ? (['git', 'rsync'] as const) : (['git'] as const);
  for (const bin of tools) {
    if (spawnSync(bin, ['--version'], { stdio: 'ignore' }).status !== 0) {
      throw new Error(`${bin} is missing: gitlab-ci-local needs it; run "sudo apt-get install -y ${bin}"`);
    }
  }
}

export interface Workspace {
  /** The git repository gitlab-ci-local runs in. */
  readonly repo: string;
  /** Holds the `ferry` shim; first on the jobs' PATH. */
  readonly bin: string;
  readonly home: string;
  remove(): void;
}

/**
 * A temp directory with a committed git repository of `files` (gitlab-ci-local resolves
 * `include: local` only for files git knows) and, beside it, a `ferry` shim that runs the built CLI.
 */
export function makeWorkspace(files: Readonly<Record<string, string | Uint8Array>>): Workspace {
  const root = mkdtempSync(join(tmpdir(), 'ferry-glci-'));
  const repo = join(root, 'repo');
  const bin = join(root, 'bin');
  const home = join(root, 'home');
  for (const d of [repo, bin, home]) mkdirSync(d, { recursive: true });
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(repo, rel)), { recursive: true });
    writeFileSync(join(repo, rel), content);
  }
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(join(bin, 'ferry'), `#!/bin/sh\nexec ${q(NODE24)} ${q(CLI)} "$@"\n`);
  chmodSync(join(bin, 'ferry'), 0o755);
  const git = (...args: string[]): void => {
    const r = spawnSync('git', ['-c', 'user.name=ferry-test', '-c', 'user.email=ferry-test@example.invalid', '-c', 'commit.gpgsign=false', ...args], { cwd: repo, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  };
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'fixture');
  return { repo, bin, home, remove: () => rmSync(root, { recursive: true, force: true }) };
}

export interface PipelineRun extends RunResult {
  /** stdout and stderr together, without colour. */
  readonly output: string;
  /** The exit code gitlab-ci-local printed for each job that ran (0 for a pass). */
  readonly jobs: ReadonlyMap<string, number>;
  /** The log of one job, or undefined when the job never started. */
  log(job: string): string | undefined;
}

/**
 * Runs the pipeline (or `--preview`, …) with gitlab-ci-local. Its environment is this test's
 * without CI variables, so a run inside a real CI job behaves like one on a laptop.
 */
export async function gitlabCiLocal(ws: Workspace, args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<PipelineRun> {
  const env = { ...cleanEnv(), PATH: `${ws.bin}:${dirname(NODE24)}:${process.env.PATH ?? ''}`, NO_COLOR: '1' };
  const r = await run(NODE24, [GITLAB_CI_LOCAL, '--home', ws.home, '--no-color', ...args], { cwd: ws.repo, env, timeoutMs: opts.timeoutMs ?? 60_000 });
  const output = `${r.stdout}\n${r.stderr}`;
  const jobs = new Map<string, number>();
  // "<job> finished in 435 ms" or "<job> finished in 926 ms  FAIL 1"; "pipeline finished in 1.4 s" is the total.
  for (const m of output.matchAll(/^(\S+)\s+finished in .*?(?:FAIL (\d+))?\s*$/gm)) {
    if (m[1] !== 'pipeline') jobs.set(m[1]!, m[2] === undefined ? 0 : Number(m[2]));
  }
  const log = (job: string): string | undefined => {
    const file = join(ws.repo, '.gitlab-ci-local/output', `${job}.log`);
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  };
  return { ...r, output, jobs, log };
}

/**
 * Flags that make gitlab-ci-local run a Ferry template job the way a GitLab shell runner would:
 * - `--force-shell-executor`: the template names an image (the CLI image); run it on this machine.
 * - `GITLAB_CI=true`: gitlab-ci-local sets GITLAB_CI=false on purpose; Ferry writes its GitLab
 *   reports only when it is true.
 * - `CI_PROJECT_DIR=<repo>`: gitlab-ci-local (4.75) sets CI_PROJECT_DIR=/builds/<group>/<project>
 *   for every job that has `image:`, even under --force-shell-executor where the job runs in the
 *   repository; Ferry would write its reports there, outside the artifacts' reach.
 */
export function shellRunnerArgs(ws: Workspace): string[] {
  return [
    '--force-shell-executor',
    '--variable',
    'GITLAB_CI=true',
    '--variable',
    `CI_PROJECT_DIR=${ws.repo}`,
    '--ignore-predefined-vars',
    'GITLAB_CI,CI_PROJECT_DIR',
  ];
}
