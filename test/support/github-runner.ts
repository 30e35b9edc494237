// Runs a workflow file the way a GitHub-hosted runner would, on this machine: jobs in `needs`
// order with GitHub's job and step conditions, this repository's `./actions/<step>` executed from
// their action.yml `runs.main` bundle on Node 24 with INPUT_<NAME> variables (action.yml defaults
// included), and the runner's files and variables (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STEP_SUMMARY,
// GITHUB_EVENT_PATH, RUNNER_TEMP …). Outputs travel only as the workflow wires them (steps.* and
// needs.*). The few third-party steps are stood in for (the workspace is the checkout), `run:`
// scripts only when the caller says its checkout already did them; anything else throws.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { asText, interpolate, truthy, usesStatusFunction, evaluate, type ExpressionContext, type Value } from './workflow-expressions.js';
import { cleanEnv, NODE24 } from './repo.js';

export interface RunnerEvent {
  readonly name: 'pull_request' | 'push' | 'workflow_dispatch';
  readonly payload: Record<string, Value>;
  /** GITHUB_REF: refs/pull/<n>/merge for a pull request, refs/heads/<branch> for a push. */
  readonly ref: string;
  /** GITHUB_SHA: the merge commit for a pull request, the pushed commit for a push. */
  readonly sha: string;
}

export interface WorkflowRunOptions {
  readonly workflowFile: string;
  readonly event: RunnerEvent;
  /** The checkout: GITHUB_WORKSPACE, holding ./actions and what the workflow reads. */
  readonly workspace: string;
  readonly repository: string;
  readonly actor?: string;
  readonly vars?: Readonly<Record<string, string>>;
  /** The job token (GITHUB_TOKEN, github.token). */
  readonly token: string;
  readonly apiUrl: string;
  /** `run:` scripts (trimmed) that the prepared workspace already did, such as `npm ci`. */
  readonly satisfiedRuns?: readonly string[];
  readonly stepTimeoutMs?: number;
}

export interface StepRun {
  readonly name: string;
  readonly id?: string;
  readonly uses?: string;
  readonly outcome: 'success' | 'failure' | 'skipped';
  readonly exitCode?: number | null;
  /** INPUT_ values the action saw, by input name. */
  readonly inputs: Record<string, string>;
  readonly outputs: Record<string, string>;
  readonly summary: string;
  readonly stdout: string;
  readonly stderr: string;
  /** ::error::/::warning::/::notice:: lines. */
  readonly annotations: string[];
}

export interface JobRun {
  readonly id: string;
  readonly result: 'success' | 'failure' | 'skipped';
  readonly runsOn: Value;
  readonly environment?: Value;
  readonly outputs: Record<string, string>;
  readonly steps: StepRun[];
  readonly artifacts: { name: string; path: string; files: string[] }[];
}

export interface WorkflowRun {
  readonly jobs: Record<string, JobRun>;
  /** Job ids in the order they ran or were skipped. */
  readonly order: string[];
}

interface StepSpec {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  'continue-on-error'?: unknown;
}
interface JobSpec {
  needs?: string | string[];
  if?: string;
  'runs-on': unknown;
  environment?: unknown;
  env?: Record<string, unknown>;
  outputs?: Record<string, string>;
  steps: StepSpec[];
}
interface WorkflowSpec {
  on: Record<string, { inputs?: Record<string, { type?: string; default?: unknown }>; branches?: string[] } | null>;
  env?: Record<string, unknown>;
  jobs: Record<string, JobSpec>;
}

/** GITHUB_OUTPUT / GITHUB_ENV file syntax: `name=value` lines and `name<<DELIMITER` blocks. */
export function parseCommandFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2]!, i + 1);
      if (end < 0) throw new Error(`unterminated ${heredoc[1]}<<${heredoc[2]} in a runner file`);
      out[heredoc[1]!] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else {
      const eq = line.indexOf('=');
      if (eq < 1) throw new Error(`malformed runner file line: ${line}`);
      out[line.slice(0, eq)] = line.slice(eq + 1);
    }
  }
  return out;
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

function evalEnv(env: Record<string, unknown> | undefined, ctx: ExpressionContext, into: Record<string, string>): Record<string, string> {
  const out = { ...into };
  for (const [k, v] of Object.entries(env ?? {})) out[k] = asText(interpolate(v, { ...ctx, contexts: { ...ctx.contexts, env: out } }));
  return out;
}

/** The `inputs` context: workflow_dispatch inputs with their declared defaults and types; {} otherwise. */
function inputsContext(workflow: WorkflowSpec, event: RunnerEvent): Record<string, Value> {
  if (event.name !== 'workflow_dispatch') return {};
  const given = (event.payload.inputs ?? {}) as Record<string, Value>;
  const out: Record<string, Value> = {};
  for (const [name, decl] of Object.entries(workflow.on.workflow_dispatch?.inputs ?? {})) {
    const raw = given[name] ?? (decl.default as Value) ?? '';
    out[name] = decl.type === 'boolean' ? raw === true || raw === 'true' : (raw as Value);
  }
  return out;
}

export async function runWorkflow(opts: WorkflowRunOptions): Promise<WorkflowRun> {
  const workflow = parse(readFileSync(opts.workflowFile, 'utf8')) as WorkflowSpec;
  if (!(opts.event.name in workflow.on)) throw new Error(`${opts.workflowFile} does not run on ${opts.event.name}`);
  const runnerRoot = mkdtempSync(join(dirname(opts.workspace), 'runner-'));
  const eventPath = join(runnerRoot, 'event.json');
  writeFileSync(eventPath, JSON.stringify(opts.event.payload));
  const pr = opts.event.payload.pull_request as { head?: { ref?: string }; base?: { ref?: string } } | undefined;
  const github: Record<string, Value> = {
    event_name: opts.event.name,
    event: opts.event.payload,
    ref: opts.event.ref,
    ref_name: opts.event.ref.replace(/^refs\/(heads|tags)\//, ''),
    sha: opts.event.sha,
    repository: opts.repository,
    repository_owner: opts.repository.split('/')[0]!,
    actor: opts.actor ?? 'octocat',
    token: opts.token,
    workflow: 'Model pipeline',
    run_id: '4242',
    run_number: '17',
    run_attempt: '1',
    server_url: 'https://github.com',
    api_url: opts.apiUrl,
    head_ref: pr?.head?.ref ?? '',
    base_ref: pr?.base?.ref ?? '',
    workspace: opts.workspace,
  };
  const base = { github, inputs: inputsContext(workflow, opts.event), vars: { ...opts.vars }, secrets: { GITHUB_TOKEN: opts.token } };
  const workflowEnv = evalEnv(workflow.env, { contexts: base }, {});

  const jobs: Record<string, JobRun> = {};
  const order: string[] = [];
  const pending = Object.keys(workflow.jobs);
  while (pending.length > 0) {
    const index = pending.findIndex((id) => [workflow.jobs[id]!.needs ?? []].flat().every((n) => n in jobs));
    if (index < 0) throw new Error(`jobs ${pending.join(', ')} wait on jobs that never run`);
    const [id] = pending.splice(index, 1) as [string];
    const spec = workflow.jobs[id]!;
    const needIds = [spec.needs ?? []].flat();
    const needs: Record<string, Value> = Object.fromEntries(needIds.map((n) => [n, { result: jobs[n]!.result, outputs: jobs[n]!.outputs }]));
    const status = { success: needIds.every((n) => jobs[n]!.result === 'success'), failure: needIds.some((n) => jobs[n]!.result === 'failure') };
    const jobCtx: ExpressionContext = { contexts: { ...base, needs, env: workflowEnv }, status };
    const condition = spec.if === undefined ? status.success : (usesStatusFunction(spec.if) || status.success) && truthy(evaluate(spec.if, jobCtx));
    const runsOn = interpolate(spec['runs-on'], { contexts: { ...base, needs } });
    order.push(id);
    if (!condition) {
      jobs[id] = { id, result: 'skipped', runsOn, outputs: {}, steps: [], artifacts: [] };
      continue;
    }
    jobs[id] = await runJob(opts, id, spec, { base, needs, workflowEnv, runsOn, eventPath, runnerRoot });
  }
  return { jobs, order };
}

interface JobSetup {
  base: Record<string, Value>;
  needs: Record<string, Value>;
  workflowEnv: Record<string, string>;
  runsOn: Value;
  eventPath: string;
  runnerRoot: string;
}

async function runJob(opts: WorkflowRunOptions, id: string, spec: JobSpec, setup: JobSetup): Promise<JobRun> {
  const temp = mkdtempSync(join(setup.runnerRoot, `${id}-temp-`));
  const runner = { os: 'Linux', arch: 'X64', temp, name: 'simulated' };
  const steps: Record<string, Value> = {};
  let env = evalEnv(spec.env, { contexts: { ...setup.base, needs: setup.needs, runner, env: setup.workflowEnv } }, setup.workflowEnv);
  const environment = spec.environment === undefined ? undefined : interpolate(spec.environment, { contexts: { ...setup.base, needs: setup.needs, env, runner, steps } });
  const runs: StepRun[] = [];
  const artifacts: JobRun['artifacts'] = [];
  let pathPrefix: string[] = [];
  let failed = false;

  for (const [n, step] of spec.steps.entries()) {
    if (step['continue-on-error'] !== undefined) throw new Error(`job ${id}: continue-on-error is not simulated`);
    const name = step.name ?? step.id ?? step.uses ?? step.run ?? `step ${n}`;
    const ctx: ExpressionContext = { contexts: { ...setup.base, needs: setup.needs, env, runner, steps }, status: { success: !failed, failure: failed } };
    const run = step.if === undefined ? !failed : (usesStatusFunction(step.if) || !failed) && truthy(evaluate(step.if, ctx));
    const blank = { name, ...(step.id ? { id: step.id } : {}), ...(step.uses ? { uses: step.uses } : {}), inputs: {}, outputs: {}, summary: '', stdout: '', stderr: '', annotations: [] };
    if (!run) {
      runs.push({ ...blank, outcome: 'skipped' });
      if (step.id) steps[step.id] = { outcome: 'skipped', conclusion: 'skipped', outputs: {} };
      continue;
    }
    const stepEnv = evalEnv(step.env, ctx, env);
    const withValues = Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, asText(interpolate(v, ctx))]));
    let result: StepRun;
    if (step.uses?.startsWith('./')) {
      result = await runNodeAction(opts, { id, step, name, index: n, stepEnv, withValues, ctx, temp, pathPrefix, eventPath: setup.eventPath, runnerRoot: setup.runnerRoot });
      for (const [k, v] of Object.entries(parseCommandFile(readFileSync(join(setup.runnerRoot, `${id}-${n}.env`), 'utf8')))) env = { ...env, [k]: v };
    } else if (step.uses?.startsWith('actions/checkout@')) {
      result = { ...blank, outcome: 'success' }; // The workspace is the checkout.
    } else if (step.uses?.startsWith('actions/setup-node@')) {
      if (!/^24(\.|$)/.test(withValues['node-version'] ?? '')) throw new Error(`job ${id}: setup-node ${withValues['node-version']} is not simulated (Node 24 only)`);
      pathPrefix = [dirname(NODE24)];
      result = { ...blank, inputs: withValues, outcome: 'success' };
    } else if (step.uses?.startsWith('actions/upload-artifact@')) {
      const path = withValues.path ?? '';
      const files = existsSync(path) ? listFiles(path).sort() : [];
      artifacts.push({ name: withValues.name ?? 'artifact', path, files });
      result = { ...blank, inputs: withValues, outcome: files.length > 0 ? 'success' : 'failure', annotations: files.length > 0 ? [] : [`::warning::No files were found with the provided path: ${path}`] };
    } else if (step.run !== undefined && (opts.satisfiedRuns ?? []).includes(step.run.trim())) {
      result = { ...blank, outcome: 'success' };
    } else {
      throw new Error(`job ${id}: the runner simulation cannot run step "${name}" (${step.uses ?? 'run'})`);
    }
    runs.push(result);
    if (result.outcome === 'failure') failed = true;
    if (step.id) steps[step.id] = { outcome: result.outcome, conclusion: result.outcome, outputs: result.outputs };
  }
  const outCtx: ExpressionContext = { contexts: { ...setup.base, needs: setup.needs, env, runner, steps } };
  const outputs = Object.fromEntries(Object.entries(spec.outputs ?? {}).map(([k, v]) => [k, asText(interpolate(v, outCtx))]));
  return { id, result: failed ? 'failure' : 'success', runsOn: setup.runsOn, ...(environment !== undefined ? { environment } : {}), outputs, steps: runs, artifacts };
}

interface ActionStep {
  id: string;
  step: StepSpec;
  name: string;
  index: number;
  stepEnv: Record<string, string>;
  withValues: Record<string, string>;
  ctx: ExpressionContext;
  temp: string;
  pathPrefix: string[];
  eventPath: string;
  runnerRoot: string;
}

async function runNodeAction(opts: WorkflowRunOptions, a: ActionStep): Promise<StepRun> {
  const actionDir = join(opts.workspace, a.step.uses!);
  const action = parse(readFileSync(join(actionDir, 'action.yml'), 'utf8')) as { inputs?: Record<string, { default?: string }>; runs: { using: string; main: string; post?: string } };
  if (action.runs.using !== 'node24' || action.runs.post) throw new Error(`${a.step.uses}: only node24 actions without a post step are simulated`);
  const declared = action.inputs ?? {};
  const unexpected = Object.keys(a.withValues).filter((k) => !(k in declared));
  if (unexpected.length > 0) throw new Error(`${a.step.uses}: unexpected input(s) ${unexpected.join(', ')}`);
  const inputs: Record<string, string> = {};
  for (const [k, decl] of Object.entries(declared)) {
    const value = k in a.withValues ? a.withValues[k]! : decl.default !== undefined ? asText(interpolate(decl.default, { contexts: { github: a.ctx.contexts.github } })) : undefined;
    if (value !== undefined) inputs[k] = value;
  }
  const files = Object.fromEntries(['output', 'env', 'summary', 'state', 'path'].map((f) => [f, join(a.runnerRoot, `${a.id}-${a.index}.${f}`)]));
  for (const f of Object.values(files)) writeFileSync(f, '');
  mkdirSync(a.temp, { recursive: true });
  const github = a.ctx.contexts.github as Record<string, string>;
  const env: NodeJS.ProcessEnv = {
    ...cleanEnv(),
    ...a.stepEnv,
    PATH: [...a.pathPrefix, process.env.PATH ?? ''].join(':'),
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: opts.workspace,
    GITHUB_EVENT_NAME: github.event_name,
    GITHUB_EVENT_PATH: a.eventPath,
    GITHUB_REF: github.ref,
    GITHUB_REF_NAME: github.ref_name,
    GITHUB_SHA: github.sha,
    GITHUB_HEAD_REF: github.head_ref,
    GITHUB_BASE_REF: github.base_ref,
    GITHUB_REPOSITORY: github.repository,
    GITHUB_REPOSITORY_OWNER: github.repository_owner,
    GITHUB_ACTOR: github.actor,
    GITHUB_WORKFLOW: github.workflow,
    GITHUB_RUN_ID: github.run_id,
    GITHUB_RUN_NUMBER: github.run_number,
    GITHUB_RUN_ATTEMPT: github.run_attempt,
    GITHUB_JOB: a.id,
    GITHUB_ACTION: a.step.id ?? `__run_${a.index}`,
    GITHUB_ACTION_PATH: actionDir,
    GITHUB_SERVER_URL: github.server_url,
    GITHUB_API_URL: opts.apiUrl,
    GITHUB_GRAPHQL_URL: `${opts.apiUrl}/graphql`,
    GITHUB_OUTPUT: files.output,
    GITHUB_ENV: files.env,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_STATE: files.state,
    GITHUB_PATH: files.path,
    RUNNER_TEMP: a.temp,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
  };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v;
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(NODE24, [join(actionDir, action.runs.main)], { cwd: opts.workspace, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.stepTimeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve({ code: c, stdout: out, stderr: err });
    });
  });
  return {
    name: a.name,
    ...(a.step.id ? { id: a.step.id } : {}),
    uses: a.step.uses!,
    outcome: code === 0 ? 'success' : 'failure',
    exitCode: code,
    inputs,
    outputs: parseCommandFile(readFileSync(files.output, 'utf8')),
    summary: readFileSync(files.summary, 'utf8'),
    stdout,
    stderr,
    annotations: stdout.split('\n').filter((l) => /^::(error|warning|notice)\b/.test(l)),
  };
}
