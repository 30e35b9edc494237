// The validate-model action bundle on a simulated GitHub runner, against the OpenAPI-validated
// GitHub fake: check run, annotations, the one sticky PR comment, and deployment records.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GitHubDeploymentLedger, githubClient, readGitHubEnvironment } from '@ferry/platform/github';
import { GitHubFake } from '../support/github-fake/index.js';
import { makeSmokeModel, startFerryRouter, startFerryServe, stopFerryRouters, stopFerryServes, type FerryRouter, type ServeProcess } from '../support/ferry-serve.js';
import { cleanEnv, NODE24, REPO_ROOT, requireBuilt, run } from '../support/repo.js';

const OWNER = 'acme';
const REPO = 'models';
const PR = 7;
const HEAD_SHA = 'a'.repeat(40);
const MERGE_SHA = 'b'.repeat(40);

let fake: GitHubFake;
beforeAll(async () => {
  fake = await GitHubFake.start();
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(() => fake.reset());

function runnerEnv(workspace: string, inputs: Record<string, string>, event: 'pull_request' | 'push' = 'pull_request'): NodeJS.ProcessEnv {
  const eventPath = join(workspace, 'event.json');
  const payload =
    event === 'pull_request'
      ? { number: PR, pull_request: { number: PR, head: { sha: HEAD_SHA, ref: 'feature' }, base: { sha: 'c'.repeat(40), ref: 'main' } } }
      : { ref: 'refs/heads/main', after: MERGE_SHA };
  writeFileSync(eventPath, JSON.stringify(payload));
  for (const f of ['output', 'summary']) writeFileSync(join(workspace, f), '');
  const env: NodeJS.ProcessEnv = {
    ...cleanEnv(),
    GITHUB_ACTIONS: 'true',
    GITHUB_API_URL: fake.url,
    GITHUB_SERVER_URL: 'https://github.example',
    GITHUB_REPOSITORY: `${OWNER}/${REPO}`,
    GITHUB_EVENT_NAME: event,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_SHA: MERGE_SHA,
    GITHUB_RUN_ID: '42',
    GITHUB_WORKSPACE: workspace,
    GITHUB_OUTPUT: join(workspace, 'output'),
    GITHUB_STEP_SUMMARY: join(workspace, 'summary'),
    RUNNER_TEMP: join(workspace, 'tmp'),
    'INPUT_GITHUB-TOKEN': 'ghs_testtoken123456',
  };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  return env;
}

async function runBundle(step: string, workspace: string, inputs: Record<string, string>, event: 'pull_request' | 'push' = 'pull_request') {
  return run(NODE24, [join(REPO_ROOT, 'actions', step, 'dist/index.js')], { cwd: workspace, env: runnerEnv(workspace, inputs, event) });
}

function workspaceWithModel(extra?: Record<string, Buffer>): string {
  const ws = mkdtempSync(join(tmpdir(), 'ferry-ws-'));
  mkdirSync(join(ws, 'model'));
  for (const f of ['model.safetensors', 'config.json']) writeFileSync(join(ws, 'model', f), readFileSync(join(REPO_ROOT, 'examples/tiny', f)));
  for (const [name, data] of Object.entries(extra ?? {})) writeFileSync(join(ws, 'model', name), data);
  return ws;
}

describe('GitHub door', () => {
  it('publishes a check run on the PR head commit and one sticky comment, updated in place on re-runs', async () => {
    const ws = workspaceWithModel();
    for (let i = 0; i < 2; i++) {
      const r = await runBundle('validate-model', ws, { 'model-path': 'model' });
      expect(r.stdout).not.toContain('::warning::');
      expect(r.code).toBe(0);
    }
    const runs = fake.checkRuns.filter((c) => c.name === 'ferry / validate-model');
    expect(runs).toHaveLength(2);
    expect(runs.every((c) => c.head_sha === HEAD_SHA && c.conclusion === 'success' && c.status === 'completed')).toBe(true);
    const comments = fake.comments(OWNER, REPO, PR);
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toContain('validate-model: ✅ pass');
    expect(comments[0]?.body).toContain('model.safetensors');
    // The token never reaches the log.
    const all = fake.requests.map((r) => r.path).join('\n');
    expect(all).not.toContain('ghs_testtoken123456');
    fake.assertNoViolations();
  });

  it('adds a section per step to the same comment, and turns findings into annotations', async () => {
    const ws = workspaceWithModel({ 'weights.bin': Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe, 0x00, 0x10]) });
    const bad = await runBundle('validate-model', ws, { 'model-path': 'model' });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/::error::validate-model: fail: .*weights\.bin/);
    const other = await runBundle('promote', ws, {});
    expect(other.code).toBe(1);
    const comments = fake.comments(OWNER, REPO, PR);
    expect(comments).toHaveLength(1);
    const body = comments[0]?.body ?? '';
    expect(body).toContain('validate-model: ❌ fail');
    expect(body).toContain('promote: ❌ error');
    expect(body.indexOf('validate-model')).toBeLessThan(body.indexOf('promote'));
    const check = fake.checkRuns.find((c) => c.name === 'ferry / validate-model');
    expect(check?.conclusion).toBe('failure');
    const annotations = fake.annotations(check?.id ?? 0);
    expect(annotations).toEqual([
      expect.objectContaining({ path: 'model/weights.bin', annotation_level: 'failure', title: 'files/unscanned' }),
    ]);
    fake.assertNoViolations();
  });

  it('on push, publishes the check run on GITHUB_SHA and posts no comment', async () => {
    const ws = workspaceWithModel();
    const r = await runBundle('validate-model', ws, { 'model-path': 'model' }, 'push');
    expect(r.code).toBe(0);
    expect(fake.checkRuns.map((c) => c.head_sha)).toEqual([MERGE_SHA]);
    expect(fake.comments(OWNER, REPO, PR)).toHaveLength(0);
    fake.assertNoViolations();
  });

  it('keeps the verdict when the API refuses: publishing failures only warn', async () => {
    const ws = workspaceWithModel();
    fake.failNext('POST', '/repos/{owner}/{repo}/check-runs', 403, 1, { body: { message: 'Resource not accessible by integration' } });
    const r = await runBundle('validate-model', ws, { 'model-path': 'model' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/::warning::could not create the check run "ferry \/ validate-model": .*Resource not accessible/);
    expect(fake.comments(OWNER, REPO, PR)).toHaveLength(1);
  });
});

describe('GitHub deployment ledger', () => {
  it('records a rollout and finds the previous successful deployment for rollback', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'ferry-ws-'));
    const env = readGitHubEnvironment(runnerEnv(ws, {}, 'push'));
    const ledger = new GitHubDeploymentLedger(githubClient('ghs_x', fake.url), env);
    const v1 = await ledger.start('production', 'v1', 'roll out v1');
    await ledger.update(v1, 'in_progress', 'canary 5%');
    await ledger.update(v1, 'success', 'promoted', 'https://models.example/v1');
    const v2 = await ledger.start('production', 'v2', 'roll out v2');
    await ledger.update(v2, 'failure', 'canary aborted: p95 +40%');
    const previous = await ledger.previousSuccessful('production', 'v2');
    expect(previous?.version).toBe('v1');
    expect(fake.deploymentStatuses(Number(v1.id)).map((s) => s.state)).toEqual(['in_progress', 'success']);
    expect(fake.deploymentStatuses(Number(v1.id))[1]?.log_url).toBe('https://github.example/acme/models/actions/runs/42');
    fake.assertNoViolations();
  });
});

describe('rollout actions record GitHub deployments', () => {
  let dir: string;
  let router: FerryRouter;
  let v2: ServeProcess;
  beforeAll(async () => {
    requireBuilt();
    dir = mkdtempSync(join(tmpdir(), 'ferry-gh-rollout-'));
    const model = await makeSmokeModel(dir);
    // 20 ms a request, like the other real-target rollout tests: two sub-millisecond servers on a
    // shared 2-core runner differ by scheduler wake-ups, which is not what this test is about.
    const serve = (version: string): Promise<ServeProcess> =>
      startFerryServe(['--model-path', model, '--model-name', 'classifier', '--model-version', version, '--port', '0', '--inject-latency-ms', '20']);
    const v1 = await serve('v1');
    v2 = await serve('v2');
    router = await startFerryRouter(mkdtempSync(join(dir, 'router-')), v1);
  }, 180_000);
  afterAll(async () => {
    await stopFerryRouters();
    await stopFerryServes();
  });

  it('canary-deploy marks <env>-canary in progress then successful; promote records the environment; the OpenAPI description holds throughout', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'ferry-ws-'));
    const canary = await runBundle('canary-deploy', ws, {
      'router-url': router.adminUrl,
      version: 'v2',
      endpoints: v2.url,
      'model-name': 'classifier',
      steps: '50,100',
      bake: '2s',
      'synthetic-rate': '40',
      'min-agreement': '0.9',
      'latency-floor': '0.5',
      'error-floor': '0.02',
      'max-extensions': '6',
      'environment-url': 'https://models.example/classifier',
    }, 'push');
    expect(canary.stdout).not.toContain('::error::');
    expect(canary.code).toBe(0);
    const [canaryDeployment] = fake.deployments;
    expect(canaryDeployment).toMatchObject({ environment: 'production-canary', payload: { version: 'v2', tool: 'ferry' } });
    expect(fake.deploymentStatuses(canaryDeployment!.id).map((s) => s.state)).toEqual(['in_progress', 'success']);
    expect(fake.deploymentStatuses(canaryDeployment!.id).map((s) => s.environment_url)).toEqual(['https://models.example/classifier', 'https://models.example/classifier']);
    expect(readFileSync(join(ws, 'output'), 'utf8')).toMatch(/environment-url<<(\S+)\nhttps:\/\/models\.example\/classifier\n\1/);

    const promoted = await runBundle('promote', ws, { 'router-url': router.adminUrl, version: 'v2' }, 'push');
    expect(promoted.stdout).not.toContain('::error::');
    expect(promoted.code).toBe(0);
    const production = fake.deployments.find((d) => d.environment === 'production');
    expect(production).toMatchObject({ payload: { version: 'v2' } });
    expect(fake.deploymentStatuses(production!.id).map((s) => s.state)).toEqual(['success']);
    expect(fake.deploymentStatuses(production!.id)[0]?.log_url).toBe('https://github.example/acme/models/actions/runs/42');
    fake.assertNoViolations();
  }, 180_000);
});
