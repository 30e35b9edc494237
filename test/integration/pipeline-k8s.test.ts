// `ferry pipeline` on a copy of examples/classifier whose ferry.yml changes only its targets to
// point at Kubernetes: build-serving-image pushes to a real distribution registry, and canary-deploy,
// promote and rollback use the gateway-api target on a real kube-apiserver (etcd, the Gateway API
// CRDs), reached through $KUBECONFIG as a user's job would. No controllers run: the test plays the
// Deployment controller and the gateway (test/support/kube-controller.ts). The judge stays on
// synthetic analysis against the versions' endpoints, the `ferry serve` processes the pipeline
// starts. What is asserted is what a user would see in the cluster: v2 promoted with the stable
// Deployment running <image>@<the digest the report names> and the HTTPRoute all on stable; the slow
// candidate rejected at canary-deploy with the route back on stable and the stable Deployment as it
// was. As in a real cluster, v1 is deployed behind the route before the first canary.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayApiTarget } from '../../packages/rollout/src/targets/kubernetes/index.js';
import { skopeoInspect, startKubeApiserver, startRegistry, type KubeApiserverComponent, type RegistryComponent } from '../support/components/index.js';
import { startKubeController, type KubeController } from '../support/kube-controller.js';
import { copyExample, editFerryYml, EVERY_STEP_PASSED, readPipelineReport, runPipeline, stepVerdicts } from '../support/pipeline-project.js';
import { cleanEnv, requireBuilt } from '../support/repo.js';

const NS = 'default';
const GATEWAY = 'models-gateway';
const RECORD_ANNOTATION = 'ferry.dev/rollout';

let dir: string;
let kube: KubeApiserverComponent;
let controller: KubeController | undefined;
let registry: RegistryComponent;

/** The example's ferry.yml with only the targets changed: the registry, and the HTTPRoute `route`. */
function pointAtKubernetes(project: string, candidate: string, route: string): string {
  const image = `${registry.host}/team/classifier`;
  const text = editFerryYml(project, [
    ['build-serving-image:\n  runtime: ferry\n', `build-serving-image:\n  runtime: ferry\n  image: ${image}\n  tags: ${candidate}\n  insecure-registry: true\n  base-image: scratch\n`],
    [
      'canary-deploy:\n',
      `canary-deploy:\n  target: gateway-api\n  namespace: ${NS}\n  route: ${route}\n  gateway: ${GATEWAY}\n  image: ${image}\n  environment: ${route}\n  ready-timeout: 20s\n  verify-timeout: 20s\n`,
    ],
  ]);
  // The promote and rollback sections are not touched: they take the target from canary-deploy.
  expect(text).not.toMatch(/^(promote|rollback):/m);
  return image;
}

/** The pipeline as a job runs it: credentials from $KUBECONFIG, nothing about the cluster in ferry.yml. */
const pipeline = (project: string, candidate: string) => runPipeline(['--working-directory', project, '--candidate', candidate, '--quiet'], { ...cleanEnv(), KUBECONFIG: kube.kubeconfigFile });

async function route(name: string): Promise<{ weights: Record<string, number>; record: { rollout?: { phase: string; canary?: { name: string; digest?: string } }; stable?: { name: string; digest?: string }; previous?: { name: string } } }> {
  const got = await kube.request('GET', `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes/${name}`);
  expect(got.status).toBe(200);
  const weights: Record<string, number> = {};
  for (const ref of got.body.spec.rules[0].backendRefs) weights[ref.name] = ref.weight;
  return { weights, record: JSON.parse(got.body.metadata.annotations?.[RECORD_ANNOTATION] ?? '{}') };
}

async function deployment(name: string): Promise<{ image: string; generation: number; version: string }> {
  const got = await kube.request('GET', `/apis/apps/v1/namespaces/${NS}/deployments/${name}`);
  expect(got.status, `deployment ${name}`).toBe(200);
  return { image: got.body.spec.template.spec.containers[0].image, generation: got.body.metadata.generation, version: got.body.metadata.annotations?.['ferry.dev/version'] };
}

/**
 * What an operator has before the first canary: v1 deployed behind the route, all traffic on it.
 * (The endpoints recorded here are not used: the pipeline names stable's servers for the first rollout.)
 */
async function deployStable(name: string, image: string): Promise<void> {
  const target = new GatewayApiTarget({ credentials: { kubeconfig: kube.kubeconfig }, namespace: NS, name, gateway: GATEWAY, image, readyTimeoutMs: 20_000, pollIntervalMs: 100 });
  await target.setVersion('stable', { name: 'v1', endpoints: ['http://127.0.0.1:9'] });
  await target.setRouting({ stable: 100, canary: 0 }, { kind: 'weighted' });
}

const answers = (url: string): Promise<boolean> => fetch(`${url}/v2/health/ready`).then((r) => r.ok, () => false);

beforeAll(async () => {
  requireBuilt();
  dir = mkdtempSync(join(tmpdir(), 'ferry-pipeline-k8s-'));
  [kube, registry] = await Promise.all([startKubeApiserver(), startRegistry()]);
  controller = startKubeController(kube, { namespace: NS, gateway: GATEWAY });
}, 300_000);

afterAll(async () => {
  await controller?.stop();
  await kube?.stop();
  await registry?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('ferry pipeline on Kubernetes (gateway-api target on a real kube-apiserver)', () => {
  it('promotes v2: the stable Deployment runs the image at the digest the report names, the route is all on stable', async () => {
    const project = copyExample(dir);
    const image = pointAtKubernetes(project, 'v2', 'classifier');
    await deployStable('classifier', image);
    expect((await deployment('classifier-stable')).image).toBe(`${image}:v1`);
    const out = await pipeline(project, 'v2');
    expect(out.code, `${out.stdout}\n${out.stderr}`).toBe(0);
    expect(out.stdout).toMatch(/v2 \(v2\): PROMOTED/);

    const run = readPipelineReport(project).candidates[0]!;
    expect(run.outcome).toBe('promoted');
    expect(run.deployment.kind).toBe('configured');
    expect(stepVerdicts(run)).toEqual(EVERY_STEP_PASSED);
    // promote ran on the same target without a section of its own.
    expect(run.steps.find((s) => s.step === 'promote')!.inputs).toMatchObject({ target: 'gateway-api', route: 'classifier', image });
    const digest = run.image!.digest;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await skopeoInspect(`${image}:v2`)).Digest).toBe(digest);

    // The cluster: the stable Deployment runs the built image by digest, all traffic on stable,
    // and the record in the route's annotations says v2 was promoted over v1.
    expect(await deployment('classifier-stable')).toMatchObject({ image: `${image}@${digest}`, version: 'v2' });
    const after = await route('classifier');
    expect(after.weights).toEqual({ 'classifier-stable': 100, 'classifier-canary': 0 });
    expect(after.record.rollout?.phase).toBe('promoted');
    expect(after.record.stable?.name).toBe('v2');
    expect(after.record.stable?.digest).toBe(digest);
    expect(after.record.previous?.name).toBe('v1');
    expect(run.canary!.decisions.filter((d) => d.action === 'verified').map((d) => d.canary)).toEqual([10, 50, 100]);

    // The judge compared the servers the pipeline ran, which are gone after the run.
    expect(run.canary!.analysis).toEqual({ source: 'synthetic', endpoints: { stable: run.deployment.stable.endpoints, canary: run.deployment.candidate.endpoints } });
    expect(run.deployment.candidate.endpoints).toHaveLength(1);
    expect(await answers(run.deployment.candidate.endpoints[0]!)).toBe(false);
  }, 240_000);

  it('rejects the slow candidate at canary-deploy: the route goes back on stable, the stable Deployment unchanged', async () => {
    const project = copyExample(dir);
    const image = pointAtKubernetes(project, 'slow', 'reject');
    await deployStable('reject', image);
    const before = await deployment('reject-stable');
    const out = await pipeline(project, 'slow');
    expect(out.code, `${out.stdout}\n${out.stderr}`).toBe(1);
    expect(out.stdout).toMatch(/slow \(slow\): REJECTED at canary-deploy/);

    const run = readPipelineReport(project).candidates[0]!;
    expect(run.stoppedAt).toBe('canary-deploy');
    expect(run.canary!.phase).toBe('aborted');
    expect(run.canary!.finalWeights).toEqual({ v1: 100, slow: 0 });
    expect(run.canary!.decisions.map((d) => d.action)).toContain('rollback');

    const after = await route('reject');
    expect(after.weights).toEqual({ 'reject-stable': 100, 'reject-canary': 0 });
    expect(after.record.rollout?.phase).toBe('aborted');
    expect(after.record.stable?.name).toBe('v1');
    // The stable Deployment is as it was before the run: same image, spec never changed.
    expect(before).toMatchObject({ image: `${image}:v1`, version: 'v1' });
    expect(await deployment('reject-stable')).toEqual(before);
    // The canary that was judged was the slow image the build pushed; once traffic was verified
    // back on stable, its Deployment was retired.
    expect(after.record.rollout?.canary?.digest).toBe(run.image!.digest);
    expect((await kube.request('GET', `/apis/apps/v1/namespaces/${NS}/deployments/reject-canary`)).status).toBe(404);
  }, 240_000);
});
