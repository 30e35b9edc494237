// A user's whole GitLab pipeline, end to end: test/fixtures/gitlab-pipeline/.gitlab-ci.yml includes
// all six templates (validate → build → benchmark → canary → promote, rollback as a button) and
// runs under gitlab-ci-local with the shell executor against real components on loopback: a
// distribution registry with TLS and logins (the project's container registry), HAProxy in front of
// `ferry serve` processes for the stable and the new version, Prometheus scraping both, and the
// GitLab API fake (validated against GitLab's OpenAPI description) for the MR note and commit
// statuses. Client traffic flows through HAProxy the whole time and is counted by version.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPORT_MARKER, parseSections } from '@ferry/platform';
import { skopeoInspect, startHaproxy, startPrometheus, startRegistry, stopAll, type HaproxyComponent, type PrometheusComponent, type RegistryComponent } from '../support/components/index.js';
import { makeSmokeModel, startFerryServe, stopFerryServes, type ServeProcess } from '../support/ferry-serve.js';
import { gitlabCiLocal, makeWorkspace, requireGitlabCiLocal, type PipelineRun, type Workspace } from '../support/gitlab-ci-local.js';
import { GitLabFake, type Note } from '../support/gitlab-fake/index.js';
import { pipelineRunnerArgs } from '../support/gitlab-pipeline.js';
import { requirePython } from '../support/python.js';
import { makeHtpasswd, makeServerCertificate } from '../support/registry-auth.js';
import { REPO_ROOT, requireBuilt, run } from '../support/repo.js';
import { TrafficClient } from '../support/traffic-client.js';

const PIPELINE = readFileSync(join(REPO_ROOT, 'test/fixtures/gitlab-pipeline/.gitlab-ci.yml'), 'utf8');
const STEPS = ['validate-model', 'build-serving-image', 'benchmark-on-gpu-runner', 'canary-deploy', 'promote'] as const;
const JOBS = STEPS.map((s) => `ferry-${s}`);
const PROJECT = { id: 42, path: 'acme/models' };
const TOKEN = 'glpat-FerryPipelineToken_0123456789';
const REGISTRY_USER = 'gitlab-ci-token';
const REGISTRY_PASSWORD = 'registry-Secret_0123456789';

let dir: string;
let model: string;
let baseLayout: string;
let registry: RegistryComponent;
let certificate: string;
let prometheus: PrometheusComponent;
let fake: GitLabFake;
const serves: Record<string, ServeProcess> = {};

const hostPort = (s: ServeProcess): string => `127.0.0.1:${s.port}`;
const serveArgs = (version: string, extra: string[] = []): string[] => ['--model-path', model, '--model-name', 'classifier', '--model-version', version, '--port', '0', '--inject-latency-ms', '20', ...extra];

/** The workspace: the user's .gitlab-ci.yml, the six templates as read now, the model and its smoke data. */
function workspace(): Workspace {
  const templates = Object.fromEntries(readdirSync(join(REPO_ROOT, 'gitlab-templates')).filter((f) => f.endsWith('.yml')).map((f) => [`ci/ferry/${f}`, readFileSync(join(REPO_ROOT, 'gitlab-templates', f))]));
  return makeWorkspace({
    '.gitlab-ci.yml': PIPELINE,
    ...templates,
    'models/classifier/model.onnx': readFileSync(model),
    'eval/samples.json': readFileSync(join(dir, 'samples.json')),
    'eval/golden.json': readFileSync(join(dir, 'golden.json')),
  });
}

/** HAProxy with the stable version at 100% and the candidate's server at 0%. */
function haproxyFor(candidate: ServeProcess): Promise<HaproxyComponent> {
  return startHaproxy({
    backends: [{ name: 'models', servers: [{ name: 'stable', address: hostPort(serves.stable!), weight: 100 }, { name: 'canary', address: hostPort(candidate), weight: 0 }] }],
  });
}

/** The project's CI/CD variables and GitLab's predefined ones for a merge-request pipeline. */
function variables(h: HaproxyComponent, candidate: ServeProcess, mr: number, pipelineId: number, stateFile: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CI_SERVER_URL: fake.url,
    CI_API_V4_URL: fake.apiUrl,
    CI_PROJECT_ID: String(PROJECT.id),
    CI_PROJECT_PATH: PROJECT.path,
    CI_PIPELINE_ID: String(pipelineId),
    CI_PIPELINE_SOURCE: 'merge_request_event',
    CI_COMMIT_REF_NAME: 'better-model',
    CI_MERGE_REQUEST_IID: String(mr),
    CI_MERGE_REQUEST_PROJECT_ID: String(PROJECT.id),
    CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'better-model',
    CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'main',
    CI_REGISTRY: registry.host,
    CI_REGISTRY_IMAGE: `${registry.host}/${PROJECT.path}`,
    CI_REGISTRY_USER: REGISTRY_USER,
    CI_REGISTRY_PASSWORD: REGISTRY_PASSWORD,
    // The runner trusts the registry's certificate the way runners with a private CA do.
    NODE_EXTRA_CA_CERTS: certificate,
    FERRY_GITLAB_TOKEN: TOKEN,
    FERRY_SERVE_BASE: `oci:${baseLayout}:ferry-serve`,
    HAPROXY_RUNTIME: h.adminSocket,
    ROLLOUT_STATE: stateFile,
    STABLE_URL: serves.stable!.url,
    CANDIDATE_URL: candidate.url,
    PROMETHEUS_URL: prometheus.url,
    MODELS_URL: h.url,
    XDG_CACHE_HOME: join(dir, 'cache'),
    ...extra,
  };
}

/** A job's dotenv report and JSON result, from the artifacts gitlab-ci-local kept. */
function artifact(ws: Workspace, step: string, file: string): string {
  return readFileSync(join(ws.repo, '.gitlab-ci-local/artifacts', `ferry-${step}`, '.ferry', step, file), 'utf8');
}
function dotenv(ws: Workspace, step: string): Record<string, string> {
  return Object.fromEntries(artifact(ws, step, 'outputs.env').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}
function result(ws: Workspace, step: string): { verdict: string; headline: string; outputs: Record<string, string> } {
  return JSON.parse(artifact(ws, step, 'result.json')) as { verdict: string; headline: string; outputs: Record<string, string> };
}

const ferryNotes = (mr: number): Note[] => fake.notes(PROJECT.id, mr).filter((n) => n.body.startsWith(REPORT_MARKER));
const creds = `${REGISTRY_USER}:${REGISTRY_PASSWORD}`;

beforeAll(async () => {
  requireBuilt();
  requireGitlabCiLocal('jobs');
  requirePython();
  dir = mkdtempSync(join(tmpdir(), 'ferry-gl-pipeline-'));
  const tls = await makeServerCertificate();
  certificate = tls.certificate;
  const [made, htpasswd] = await Promise.all([makeSmokeModel(dir), makeHtpasswd([{ username: REGISTRY_USER, password: REGISTRY_PASSWORD }])]);
  model = made;
  registry = await startRegistry({ tls, auth: { htpasswd } });
  // The Ferry runtime's base, built offline into an OCI layout: the "mirror" FERRY_SERVE_BASE names.
  baseLayout = join(dir, 'ferry-serve-base');
  const base = await run('bash', [join(REPO_ROOT, 'scripts/build-ferry-base.sh'), '--output', baseLayout], { timeoutMs: 180_000 });
  if (base.code !== 0) throw new Error(`scripts/build-ferry-base.sh failed:\n${base.stderr}`);
  const [stable, candidate, erroring] = await Promise.all([
    startFerryServe(serveArgs('1.0.0')),
    startFerryServe(serveArgs('1.1.0')),
    // A candidate that fails one request in five: the benchmark's error-rate gate must stop it.
    startFerryServe(serveArgs('1.2.0', ['--inject-error-rate', '0.2', '--inject-seed', '3'])),
  ]);
  Object.assign(serves, { stable, candidate, erroring });
  prometheus = await startPrometheus({ scrapeTargets: Object.values(serves).map(hostPort), scrapeInterval: '1s' });
  fake = await GitLabFake.start();
  fake.seedProject(PROJECT);
}, 300_000);

afterAll(async () => {
  await fake?.stop();
  await prometheus?.stop();
  await stopFerryServes();
  await registry?.stop();
  await stopAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a merge request whose model is good: validate → build → benchmark → canary → promote', () => {
  const MR = 7;
  let ws: Workspace;
  let h: HaproxyComponent;
  let client: TrafficClient;
  let pipeline: PipelineRun;
  let startedAt: number;
  let endedAt: number;
  let afterPromote: Record<string, number>;
  const state = (): string => join(dir, 'good.rollout.json');

  beforeAll(async () => {
    ws = workspace();
    h = await haproxyFor(serves.candidate!);
    client = new TrafficClient(h.url, 150);
    client.start();
    startedAt = Date.now();
    pipeline = await gitlabCiLocal(ws, pipelineRunnerArgs(ws, variables(h, serves.candidate!, MR, 5150, state())), { timeoutMs: 200_000 });
    endedAt = Date.now();
    console.log(`good pipeline: ${((endedAt - startedAt) / 1000).toFixed(1)} s under gitlab-ci-local`);
    // Users keep sending requests after the pipeline: all of them must reach the promoted version.
    await new Promise((r) => setTimeout(r, 1500));
    afterPromote = client.versions(endedAt + 300, Date.now());
    client.stop();
  }, 240_000);
  afterAll(async () => {
    client?.stop();
    await h?.stop();
    ws?.remove();
  });

  it('runs the five steps in stage order, each passing, and leaves rollback as a manual button', () => {
    expect(pipeline.code, pipeline.output).toBe(0);
    expect([...pipeline.jobs]).toEqual(JOBS.map((j) => [j, 0]));
    expect(pipeline.log('ferry-rollback')).toBeUndefined();
    for (const step of STEPS) expect(result(ws, step).verdict, `${step}: ${result(ws, step).headline}`).toBe('pass');
  });

  it('passes the image digest from build to canary-deploy and promote through dotenv, and tags it :production', async () => {
    const built = dotenv(ws, 'build-serving-image');
    const digest = built.FERRY_BUILD_SERVING_IMAGE_DIGEST!;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // What the registry holds under the tag build pushed is that digest (read by skopeo, with the login).
    const image = `${registry.host}/${PROJECT.path}/classifier`;
    const pushed = await skopeoInspect(`${image}@${digest}`, { creds });
    expect(pushed.Digest).toBe(digest);
    expect(pushed.Labels).toMatchObject({ 'ferry.runtime': 'ferry', 'ferry.model.digest': dotenv(ws, 'validate-model').FERRY_VALIDATE_MODEL_MODEL_DIGEST });

    // canary-deploy got it as its digest input and recorded it with the version on the router.
    const canary = dotenv(ws, 'canary-deploy');
    expect(canary.FERRY_CANARY_DEPLOY_NEW_DIGEST).toBe(digest);
    expect(canary.FERRY_CANARY_DEPLOY_NEW_VERSION).toBe('1.1.0');
    expect(canary.FERRY_CANARY_DEPLOY_PREVIOUS_VERSION).toBe('1.0.0');
    expect(JSON.parse(result(ws, 'canary-deploy').outputs['final-weights']!)).toEqual({ '1.0.0': 0, '1.1.0': 100 });
    const record = JSON.parse(readFileSync(state(), 'utf8')) as { data: { stable: { name: string; digest?: string } } };
    expect(record.data.stable).toMatchObject({ name: '1.1.0', digest });

    const promoted = dotenv(ws, 'promote');
    expect(promoted.FERRY_PROMOTE_STABLE_VERSION).toBe('1.1.0');
    expect(promoted.FERRY_PROMOTE_STABLE_DIGEST).toBe(digest);
    expect(promoted.FERRY_PROMOTE_TAGGED).toBe(`${image}:production@${digest}`);
    expect((await skopeoInspect(`${image}:production`, { creds })).Digest).toBe(digest);
    // The environment URL reached the deployment record through dotenv.
    expect(promoted.FERRY_PROMOTE_ENVIRONMENT_URL).toBe(h.url);
  });

  it('moved client traffic to the new version without a failed request, and serves it 100% after promote', () => {
    const during = client.versions(startedAt, endedAt);
    expect(during['1.0.0'], JSON.stringify(during)).toBeGreaterThan(0);
    expect(during['1.1.0'], JSON.stringify(during)).toBeGreaterThan(0);
    expect(Object.keys(during).sort(), JSON.stringify(during)).toEqual(['1.0.0', '1.1.0']);
    expect(Object.keys(afterPromote), JSON.stringify(afterPromote)).toEqual(['1.1.0']);
    expect(afterPromote['1.1.0']).toBeGreaterThan(40);
  });

  it('leaves one merge-request note for the whole pipeline, updated in place by each step, and one commit status per step', () => {
    const notes = ferryNotes(MR);
    expect(notes).toHaveLength(1);
    const sections = parseSections(notes[0]!.body);
    expect([...sections.keys()]).toEqual([...STEPS]);
    for (const step of STEPS) expect(sections.get(step)).toMatch(new RegExp(`^### ${step}: .*pass`));
    const noteWrites = fake.requests.filter((r) => r.path.startsWith(`/api/v4/projects/${PROJECT.id}/merge_requests/${MR}/notes`) && r.method !== 'GET');
    expect(noteWrites.map((r) => r.method)).toEqual(['POST', 'PUT', 'PUT', 'PUT', 'PUT']);
    const statuses = fake.statuses.filter((s) => s.pipeline_id === 5150);
    expect(statuses.map((s) => [s.name, s.status])).toEqual(STEPS.map((s) => [`ferry / ${s}`, 'success']));
    expect(new Set(statuses.map((s) => s.sha)).size).toBe(1);
    fake.assertNoViolations();
  });

  it('never shows the registry password or the GitLab token in a job log', () => {
    for (const job of JOBS) {
      const log = pipeline.log(job) ?? '';
      expect(log.length).toBeGreaterThan(0);
      expect(log).not.toContain(REGISTRY_PASSWORD);
      expect(log).not.toContain(TOKEN);
    }
    expect(fake.requests.every((r) => !JSON.stringify(r.body ?? '').includes(TOKEN))).toBe(true);
  });
});

describe('a merge request whose new version fails the benchmark gate', () => {
  // The same merge request as the good pipeline above, pushed again: its one note must now show this
  // pipeline's three steps only, not the earlier pipeline's passed canary and promote.
  const MR = 7;
  let ws: Workspace;
  let h: HaproxyComponent;
  let client: TrafficClient;
  let pipeline: PipelineRun;
  const state = (): string => join(dir, 'bad.rollout.json');

  beforeAll(async () => {
    ws = workspace();
    h = await haproxyFor(serves.erroring!);
    client = new TrafficClient(h.url, 30);
    client.start();
    const started = Date.now();
    pipeline = await gitlabCiLocal(ws, pipelineRunnerArgs(ws, variables(h, serves.erroring!, MR, 5151, state(), { MODEL_VERSION: '1.2.0' })), { timeoutMs: 200_000 });
    console.log(`failing pipeline: ${((Date.now() - started) / 1000).toFixed(1)} s under gitlab-ci-local`);
    client.stop();
  }, 240_000);
  afterAll(async () => {
    client?.stop();
    await h?.stop();
    ws?.remove();
  });

  it('stops at benchmark-on-gpu-runner with exit 1; canary-deploy and promote never start', () => {
    expect(pipeline.code).not.toBe(0);
    expect([...pipeline.jobs]).toEqual([
      ['ferry-validate-model', 0],
      ['ferry-build-serving-image', 0],
      ['ferry-benchmark-on-gpu-runner', 1],
    ]);
    for (const job of ['ferry-canary-deploy', 'ferry-promote', 'ferry-rollback']) expect(pipeline.log(job), job).toBeUndefined();
    const bench = dotenv(ws, 'benchmark-on-gpu-runner');
    expect(bench.FERRY_BENCHMARK_ON_GPU_RUNNER_VERDICT).toBe('fail');
    expect(Number(bench.FERRY_BENCHMARK_ON_GPU_RUNNER_ERROR_RATE)).toBeGreaterThan(0.01);
  });

  it('leaves production alone: no rollout record, every client request still answered by the stable version', async () => {
    expect(existsSync(state())).toBe(false);
    expect((await h.runtime('get weight models/canary')).trim()).toMatch(/^0 /);
    const seen = client.versions(0, Date.now());
    expect(Object.keys(seen), JSON.stringify(seen)).toEqual(['1.0.0']);
  });

  it('reports the failed gate in the merge request: one note with the sections of the steps that ran, a failed status', () => {
    const notes = ferryNotes(MR);
    expect(notes).toHaveLength(1);
    const sections = parseSections(notes[0]!.body);
    expect([...sections.keys()]).toEqual(['validate-model', 'build-serving-image', 'benchmark-on-gpu-runner']);
    expect(sections.get('benchmark-on-gpu-runner')).toMatch(/^### benchmark-on-gpu-runner: .*fail/);
    const statuses = fake.statuses.filter((s) => s.pipeline_id === 5151);
    expect(statuses.map((s) => [s.name, s.status])).toEqual([
      ['ferry / validate-model', 'success'],
      ['ferry / build-serving-image', 'success'],
      ['ferry / benchmark-on-gpu-runner', 'failed'],
    ]);
    fake.assertNoViolations();
  });
});
