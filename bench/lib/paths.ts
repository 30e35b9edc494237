// Where the bench finds the repository, the built doors it runs, and where it keeps data and results.
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
/** Big generated input files, created once and reused between runs (gitignored). */
export const CACHE_DIR = join(REPO_ROOT, '.cache', 'bench');
/** latest.json lands here (gitignored). */
export const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');
export const CLI_BIN = join(REPO_ROOT, 'packages', 'cli', 'dist', 'bin.js');
export const ACTIONS_DIR = join(REPO_ROOT, 'actions');
/** The plain-JavaScript child that times one in-process check or read (bench/lib/check-child.mjs). */
export const CHECK_CHILD = join(REPO_ROOT, 'bench', 'lib', 'check-child.mjs');

/**
 * The environment for the doors under test: the caller's, minus anything that would make the CLI or an
 * action think it runs inside a CI job (publishing reports, reading inputs) while it is being timed.
 */
export function doorEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/^(INPUT_|GITHUB_|GITLAB_|CI_|RUNNER_|FERRY_)/.test(k) || k === 'CI') continue;
    env[k] = v;
  }
  return env;
}
