// .github/workflows/model-pipeline.yml on a simulated GitHub runner: its ./actions/<step> steps run
// through the committed dist/ bundles on Node 24, with pull_request, workflow_dispatch and push
// event payloads, runner files, the OpenAPI-validated GitHub fake, and real `ferry serve` and
// `ferry router` processes as production for the push path.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { GitHubFake } from '../support/github-fake/index.js';
import { startFerryRouter, startFerryServe, stopFerryRouters, stopFerryServes, type FerryRouter, type ServeProcess } from '../support/ferry-serve.js';
import { runWorkflow, type RunnerEvent, type WorkflowRun } from '../support/github-runner.js';
import { evaluate, interpolate, type Value } from '../support/workflow-expressions.js';
import { REPO_ROOT, requireBuilt } from '../support/repo.js';

const WORKFLOW = join(REPO_ROOT, '.github/workflows/model-pipeline.yml');
const REPOSITORY = 'ferry-ml/ferry';
const PR = 12;
const HEAD_SHA = 'a1'.repeat(20);
const MERGE_SHA = 'b2'.repeat(20);
const TOKEN = 'ghs_simulatedjobtoken0123456789';
const EXAMPLE = join(REPO_ROOT, 'examples/classifier');

function pullRequest(headRepo = REPOSITORY): RunnerEvent {
  return {
    name: 'pull_request',
    ref: `refs/pull/${PR}/merge`,
    sha: MERGE_SHA,
    payload: {
      action: 'synchronize',
      number: PR,
      pull_request: {
        number: PR,
        title: 'classifier v2: retrained on May data',
        head: { sha: HEAD_SHA, ref: 'classifier-v2', repo: { full_name: headRepo } },
        base: { sha: 'c3'.repeat(20), ref: 'main', repo: { full_name: REPOSITORY } },
      },
      repository: { full_name: REPOSITORY },
    },
  };
}

function dispatch(inputs: Record<string, Value>): RunnerEvent {
  return { name: 'workflow_dispatch', ref: 'refs/heads/main', sha: MERGE_SHA, payload: { inputs, ref: 'refs/heads/main', repository: { full_name: REPOSITORY } } };
}

const PUSH: RunnerEvent = {
  name: 'push',
  ref: 'refs/heads/main',
  sha: MERGE_SHA,
  payload: { ref: 'refs/heads/main', before: 'c3'.repeat(20), after: MERGE_SHA, head_commit: { id: MERGE_SHA, message: 'Merge pull request #12' }, repository: { full_name: REPOSITORY } },
};

/** A checkout of the repository: the example copied (the steps write under it), the rest linked. */
const scratch: string[] = [];
function checkout(): string {
  const root = mkdtempSync(join(tmpdir(), 'ferry-runner-'));
  scratch.push(root);
  const ws = join(root, 'workspace');
  mkdirSync(join(ws, 'examples'), { recursive: true });
  cpSync(EXAMPLE, join(ws, 'examples/classifier'), { recursive: true, filter: (src) => !src.includes('/.ferry') });
  for (const dir of ['actions', 'packages', 'node_modules', '.github']) symlinkSync(join(REPO_ROOT, dir), join(ws, dir));
  return ws;
}

let fake: GitHubFake;

async function runPipeline(event: RunnerEvent, vars: Record<string, string> = {}): Promise<WorkflowRun> {
  return runWorkflow({
    workflowFile: WORKFLOW,
    event,
    workspace: checkout(),
    repository: REPOSITORY,
    vars,
    token: TOKEN,
    apiUrl: fake.url,
    // The checkout is this repository with its dependencies installed and packages built.
    satisfiedRuns: ['npm ci --no-audit --no-fund', 'bash scripts/build.sh --packages-only'],
  });
}

function step(run: WorkflowRun, job: string, id: string) {
  const found = run.jobs[job]?.steps.find((s) => s.id === id);
  if (!found) throw new Error(`no step ${job}.${id}`);
  return found;
}

function ran(run: WorkflowRun): string[] {
  return run.order.flatMap((job) => run.jobs[job]!.steps.filter((s) => s.uses?.startsWith('./') && s.outcome !== 'skipped').map((s) => s.uses!.replace('./actions/', '')));
}

beforeAll(async () => {
  requireBuilt();
  fake = await GitHubFake.start();
});
afterAll(async () => {
  await fake?.stop();
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('model-pipeline workflow: pull requests', () => {
  it('validate → build → benchmark on the CPU fallback, each output reaching the job the workflow wires it to', async () => {
    fake.reset();
    const run = await runPipeline(pullRequest());
    expect(run.order).toEqual(['validate', 'build', 'benchmark', 'deploy']);
    expect(Object.fromEntries(run.order.map((j) => [j, run.jobs[j]!.result]))).toEqual({ validate: 'success', build: 'success', benchmark: 'success', deploy: 'skipped' });
    expect(ran(run)).toEqual(['validate-model', 'build-serving-image', 'benchmark-on-gpu-runner']);

    const validate = step(run, 'validate', 'validate');
    expect(validate.inputs['model-path']).toBe('models/v2');
    expect(validate.inputs['github-token']).toBe(TOKEN); // action.yml's default, ${{ github.token }}
    expect(validate.outputs.verdict).toBe('pass');
    expect(run.jobs.validate!.outputs['model-digest']).toMatch(/^sha256:[0-9a-f]{64}$/);

    // build: an OCI layout in RUNNER_TEMP, uploaded as the job's artifact; nothing pushed on a PR.
    const build = step(run, 'build', 'build');
    expect(build.inputs.image).toBe('');
    expect(build.inputs['base-image']).toBe('scratch');
    const digest = run.jobs.build!.outputs.digest!;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(run.jobs.build!.outputs['model-digest']).toBe(run.jobs.validate!.outputs['model-digest']);
    const layout = build.inputs.output!;
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(index.manifests.map((m) => m.digest)).toContain(digest);
    expect(run.jobs.build!.artifacts).toEqual([expect.objectContaining({ name: 'image-v2', path: layout, files: expect.arrayContaining(['index.json', 'oci-layout']) })]);

    // benchmark: same-repository PR, no GPU opt-in → the hosted CPU runner; the server is ferry serve.
    expect(run.jobs.benchmark!.runsOn).toBe('ubuntu-latest');
    const bench = step(run, 'benchmark', 'benchmark');
    expect(bench.outcome, bench.stdout).toBe('success');
    expect(bench.outputs.verdict).toBe('pass');
    expect(Number(run.jobs.benchmark!.outputs['throughput-rps'])).toBeGreaterThan(5);

    // Every step wrote its job summary and reported on the PR head commit and the one sticky comment.
    for (const s of [validate, build, bench]) expect(s.summary).toMatch(new RegExp(`${s.uses!.replace('./actions/', '')}: ✅ pass`));
    const checks = fake.checkRuns.map((c) => [c.name, c.head_sha, c.conclusion]);
    expect(checks).toEqual(expect.arrayContaining([['ferry / validate-model', HEAD_SHA, 'success'], ['ferry / build-serving-image', HEAD_SHA, 'success'], ['ferry / benchmark-on-gpu-runner', HEAD_SHA, 'success']]));
    const comments = fake.comments('ferry-ml', 'ferry', PR);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('benchmark-on-gpu-runner');
    fake.assertNoViolations();
  }, 150_000);

  it('a less accurate candidate stops at validate with exit 1 and the reason; nothing after it runs', async () => {
    fake.reset();
    const run = await runPipeline(dispatch({ candidate: 'less-accurate', 'benchmark-on': 'cpu' }));
    expect(Object.fromEntries(run.order.map((j) => [j, run.jobs[j]!.result]))).toEqual({ validate: 'failure', build: 'skipped', benchmark: 'skipped', deploy: 'skipped' });
    expect(ran(run)).toEqual(['validate-model']);
    const validate = step(run, 'validate', 'validate');
    expect(validate.inputs['model-path']).toBe('models/less-accurate');
    expect(validate.exitCode).toBe(1);
    expect(validate.outputs.verdict).toBe('fail');
    expect(validate.annotations.join('\n')).toMatch(/::error.*accuracy/);
    expect(validate.summary).toMatch(/validate-model: ❌ fail/);
    expect(validate.summary).toContain('accuracy');
  }, 60_000);

  // Evaluated, not run: where the benchmark job would be scheduled for each trigger.
  it.each([
    ['a pull request from this repository', pullRequest(), {}, 'ubuntu-latest'],
    ['a pull request from this repository, GPU benchmarks opted in', pullRequest(), { FERRY_GPU_BENCHMARK: 'true' }, ['self-hosted', 'gpu']],
    ["a fork's pull request, GPU benchmarks opted in", pullRequest('someone/ferry'), { FERRY_GPU_BENCHMARK: 'true' }, 'ubuntu-latest'],
    ['a manual run on cpu (the default)', dispatch({}), { FERRY_GPU_BENCHMARK: 'true' }, 'ubuntu-latest'],
    ['a manual run on gpu', dispatch({ 'benchmark-on': 'gpu' }), {}, ['self-hosted', 'gpu']],
  ] as [string, RunnerEvent, Record<string, string>, Value][])('benchmark runs-on for %s', (_what, event, vars, expected) => {
    const workflow = parse(readFileSync(WORKFLOW, 'utf8')) as { jobs: { benchmark: { 'runs-on': string } }; on: { workflow_dispatch: { inputs: Record<string, { default?: Value }> } } };
    const declared = workflow.on.workflow_dispatch.inputs;
    const inputs = event.name === 'workflow_dispatch' ? { ...Object.fromEntries(Object.entries(declared).map(([k, d]) => [k, d.default ?? ''])), ...(event.payload.inputs as Record<string, Value>) } : {};
    const github = { event_name: event.name, event: event.payload, repository: REPOSITORY };
    expect(interpolate(workflow.jobs.benchmark['runs-on'], { contexts: { github, inputs, vars } })).toEqual(expected);
  });

  it('the expression evaluator refuses what it does not know instead of guessing', () => {
    const contexts = { github: { event_name: 'push' }, needs: { build: { outputs: { digest: 'sha256:1' } } } };
    expect(evaluate("needs.build.outputs.digest || 'none'", { contexts })).toBe('sha256:1');
    expect(() => evaluate('needs.buld.outputs.digest', { contexts })).toThrow(/needs.buld does not exist/);
    expect(() => evaluate("contains(github.event_name, 'pu')", { contexts })).toThrow(/does not know contains\(\)/);
    expect(() => evaluate('matrix.gpu', { contexts })).toThrow(/context "matrix" is not available/);
    expect(() => evaluate("github.event_name == 'push' &&", { contexts })).toThrow(/unexpected end/);
  });
});

describe('model-pipeline workflow: push to main', () => {
  let router: FerryRouter;
  const servers: Record<string, ServeProcess> = {};
  beforeAll(async () => {
    const serve = (version: string, model: string): Promise<ServeProcess> =>
      startFerryServe(['--model-path', join(EXAMPLE, 'models', model), '--model-name', 'classifier', '--model-version', version, '--port', '0']);
    servers.v1 = await serve('v1', 'v1');
    servers.v2 = await serve('v2', 'v2');
    // The "new version" a bad deploy puts up: v2's label on the slow model.
    servers.slowV2 = await serve('v2', 'slow');
  }, 120_000);
  afterAll(async () => {
    await stopFerryRouters();
    await stopFerryServes();
  });

  async function versionsThroughRouter(n: number): Promise<Record<string, number>> {
    const body = readFileSync(join(EXAMPLE, 'data/traffic.jsonl'), 'utf8').split('\n')[0]!;
    const counts: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${router.url}/v2/models/classifier/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      const version = ((await res.json()) as { model_version?: string }).model_version ?? `status-${res.status}`;
      counts[version] = (counts[version] ?? 0) + 1;
    }
    return counts;
  }

  function production(endpoint: string): Record<string, string> {
    return { FERRY_ROUTER_URL: router.adminUrl, FERRY_CANDIDATE_ENDPOINTS: endpoint, FERRY_ENVIRONMENT_URL: 'https://models.example/classifier' };
  }

  it('no router configured: the deploy job is skipped, the build still runs', async () => {
    fake.reset();
    const run = await runPipeline(PUSH);
    expect(Object.fromEntries(run.order.map((j) => [j, run.jobs[j]!.result]))).toEqual({ validate: 'success', build: 'success', benchmark: 'skipped', deploy: 'skipped' });
  }, 60_000);

  it('canary → promote in the protected environment moves all traffic to v2; rollback does not run', async () => {
    fake.reset();
    router = await startFerryRouter(mkdtempSync(join(tmpdir(), 'ferry-router-')), servers.v1!);
    expect(await versionsThroughRouter(5)).toEqual({ v1: 5 });
    const run = await runPipeline(PUSH, production(servers.v2!.url));
    expect(Object.fromEntries(run.order.map((j) => [j, run.jobs[j]!.result]))).toEqual({ validate: 'success', build: 'success', benchmark: 'skipped', deploy: 'success' });
    expect(ran(run)).toEqual(['validate-model', 'build-serving-image', 'canary-deploy', 'promote']);
    expect(run.jobs.deploy!.environment).toEqual({ name: 'production', url: 'https://models.example/classifier' });

    const canary = step(run, 'deploy', 'canary');
    expect(canary.outcome, canary.stdout).toBe('success');
    expect(canary.inputs.digest).toBe(run.jobs.build!.outputs.digest); // needs.build.outputs.digest
    expect(canary.inputs.endpoints).toBe(servers.v2!.url);
    expect(canary.outputs.phase).toBe('completed');
    const promote = step(run, 'deploy', 'promote');
    expect(promote.inputs.version).toBe(canary.outputs['new-version']); // steps.canary.outputs.new-version
    expect(promote.outputs['stable-version']).toBe('v2');
    expect(step(run, 'deploy', 'rollback').outcome).toBe('skipped');
    for (const s of [canary, promote]) expect(s.summary).toMatch(/✅ pass/);

    expect(await versionsThroughRouter(20)).toEqual({ v2: 20 });
    const prod = fake.deployments.find((d) => d.environment === 'production');
    expect(prod).toMatchObject({ sha: MERGE_SHA, payload: { version: 'v2' } });
    fake.assertNoViolations();
  }, 150_000);

  it('a slow new version: the canary aborts and is back on v1 by itself; promote and the rollback step do not run', async () => {
    fake.reset();
    router = await startFerryRouter(mkdtempSync(join(tmpdir(), 'ferry-router-')), servers.v1!);
    const run = await runPipeline(PUSH, production(servers.slowV2!.url));
    expect(run.jobs.deploy!.result).toBe('failure');
    const canary = step(run, 'deploy', 'canary');
    expect(canary.exitCode).toBe(1);
    expect(canary.outputs.phase).toBe('aborted');
    expect(step(run, 'deploy', 'promote').outcome).toBe('skipped');
    expect(step(run, 'deploy', 'rollback').outcome).toBe('skipped');
    expect(canary.summary).toMatch(/canary-deploy: ❌ fail/);
    expect(await versionsThroughRouter(20)).toEqual({ v1: 20 });
  }, 150_000);
});

it('the workflow serialises deploys per environment and never cancels one mid-rollout', () => {
  const workflow = parse(readFileSync(WORKFLOW, 'utf8')) as { jobs: { deploy: { concurrency: unknown; environment: { name: string } } } };
  expect(workflow.jobs.deploy.concurrency).toEqual({ group: 'ferry-deploy-production', 'cancel-in-progress': false });
  expect(workflow.jobs.deploy.environment.name).toBe('production');
  expect(existsSync(join(REPO_ROOT, '.github/workflows/model-pipeline.yml'))).toBe(true);
});
