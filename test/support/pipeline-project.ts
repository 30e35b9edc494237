// examples/classifier prepared for a `ferry pipeline` test: a fresh copy (without an earlier run's
// .ferry directory), its ferry.yml edited with every edit checked to have taken, the report read
// back, and the CLI run as a user runs it (a live process with its output, or to completion).
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cleanEnv, CLI, NODE24, REPO_ROOT } from './repo.js';

export const EXAMPLE = join(REPO_ROOT, 'examples/classifier');

/** A fresh copy of the example in a new directory under `parent`. */
export function copyExample(parent: string): string {
  const to = mkdtempSync(join(parent, 'example-'));
  cpSync(EXAMPLE, to, { recursive: true, filter: (src) => !relative(EXAMPLE, src).startsWith('.ferry') });
  return to;
}

/**
 * Rewrites the project's ferry.yml with [text, replacement] edits, in order; an edit whose text is
 * not in the file throws, so a test never runs on a file it did not mean to write.
 */
export function editFerryYml(project: string, edits: readonly (readonly [string, string])[]): string {
  const file = join(project, 'ferry.yml');
  let text = readFileSync(file, 'utf8');
  for (const [from, to] of edits) {
    if (!text.includes(from)) throw new Error(`examples/classifier/ferry.yml has no ${JSON.stringify(from)} to replace: the example changed, update the test`);
    text = text.replace(from, to);
  }
  writeFileSync(file, text);
  return text;
}

/** A container report.json records for serve-with: podman. */
export interface PipelineContainer {
  version: string;
  id: string;
  name: string;
  reference: string;
  imageDigest: string;
  url: string;
}

/** One candidate's run in report.json, as far as the pipeline tests read it. */
export interface PipelineRun {
  candidate: string;
  outcome: string;
  stoppedAt?: string;
  reason: string;
  steps: {
    step: string;
    verdict: string;
    inputs?: Record<string, unknown>;
    result?: { outputs: Record<string, string>; gates: { name: string; passed: boolean }[]; metrics: Record<string, number> };
  }[];
  benchmark?: { load: unknown };
  canary?: {
    phase: string;
    analysis?: unknown;
    finalWeights: Record<string, number>;
    decisions: { action: string; canary: number }[];
    looks: { judgement: { rows: { metric: string; kind: string; outcome: string; samples: unknown }[] } }[];
  };
  image?: { digest: string; output: string; image: string };
  stableImage?: { digest: string; image: string };
  deployment: {
    kind: string;
    serveWith: string;
    stable: { endpoints: string[]; containers?: PipelineContainer[] };
    candidate: { endpoints: string[]; containers?: PipelineContainer[] };
  };
}

export interface PipelineReport {
  exitCode: number;
  expectationsMet?: boolean;
  candidates: PipelineRun[];
}

/** The steps of a promoted candidate's run, each passed, in order. */
export const EVERY_STEP_PASSED: readonly (readonly [string, string])[] = [
  ['validate-model', 'pass'],
  ['build-serving-image', 'pass'],
  ['benchmark-on-gpu-runner', 'pass'],
  ['canary-deploy', 'pass'],
  ['promote', 'pass'],
];

/** Each step of a run with its verdict, to compare with EVERY_STEP_PASSED. */
export const stepVerdicts = (run: PipelineRun): [string, string][] => run.steps.map((s) => [s.step, s.verdict]);

/** The report.json the pipeline wrote in the project. */
export function readPipelineReport<T = PipelineReport>(project: string): T {
  return JSON.parse(readFileSync(join(project, '.ferry/pipeline/report.json'), 'utf8')) as T;
}

export interface LivePipeline {
  readonly stderr: () => string;
  readonly stdout: () => string;
  readonly exited: Promise<number | null>;
  readonly kill: (sig: NodeJS.Signals) => void;
  /** Resolves with the first match of `pattern` in stderr and stdout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

/** `ferry pipeline ARGS` as a live process. */
export function startPipeline(args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv()): LivePipeline {
  const child = spawn(NODE24, [CLI, 'pipeline', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  const check = (): void => {
    for (const w of [...waiters]) {
      const m = (stderr + stdout).match(w.pattern);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  child.stdout.on('data', (d: Buffer) => ((stdout += d.toString()), check()));
  child.stderr.on('data', (d: Buffer) => ((stderr += d.toString()), check()));
  // 'close', not 'exit': the output is complete when it resolves.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    stderr: () => stderr,
    stdout: () => stdout,
    exited,
    kill: (sig) => child.kill(sig),
    waitFor: (pattern, timeoutMs = 120_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms\n${stderr}`)), timeoutMs);
        waiters.push({ pattern, resolve: (m) => (clearTimeout(timer), resolve(m)) });
        void exited.then((code) => reject(new Error(`ferry pipeline exited ${code} before ${pattern}\n${stdout}\n${stderr}`)));
        check();
      }),
  };
}

/** `ferry pipeline ARGS` to completion. */
export async function runPipeline(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = startPipeline(args, env);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}
