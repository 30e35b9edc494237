// The gateway-api target on a real kube-apiserver with etcd and the real Gateway API CRDs, driven
// by the built CLI as users run it. No controllers run: the test plays the Deployment controller
// and the gateway by patching status, as envtest-based controller tests do, and the "pods" the
// judge compares are real `ferry serve` processes on loopback (the endpoints of each version).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayApiTarget, AnnotationStateStore, KubeClient, REVISION_ANNOTATION, RECORD_ANNOTATION } from '../../packages/rollout/src/targets/kubernetes/index.js';
import { StateConflictError } from '../../packages/rollout/src/state/store.js';
import { startKubeApiserver, type KubeApiserverComponent } from '../support/components/index.js';
import { bindReadmeRole, userKubeconfig } from '../support/kube-rbac.js';
import { startKubeController, type KubeController } from '../support/kube-controller.js';
import { startCanaryServes, stopFerryServes, type ServeProcess } from '../support/ferry-serve.js';
import { CLI, cleanEnv, stepIn, NODE24, requireBuilt, type StepRun } from '../support/repo.js';


const NS = 'default';
const GATEWAY = 'models-gateway';
const IMAGE = 'registry.example/models/classifier';
let kube: KubeApiserverComponent;
let dir: string;
const serves: Record<string, ServeProcess> = {};
/** Deployments the simulated controller never makes available. */
const neverReady = new Set<string>();
let controller: KubeController | undefined;

const SYNTH = ['--model-name', 'classifier', '--bake', '2s', '--analysis', 'synthetic', '--synthetic-rate', '40', '--min-agreement', '0.9', '--latency-floor', '0.5', '--error-floor', '0.02', '--max-extensions', '4'];

function targetArgs(route: string): string[] {
  return ['--target', 'gateway-api', '--kubeconfig', kube.kubeconfig, '--namespace', NS, '--route', route, '--gateway', GATEWAY, '--image', IMAGE, '--environment', route, '--verify-timeout', '20s'];
}

const step = (args: readonly string[], timeoutMs = 120_000): Promise<StepRun> => stepIn(dir, args, timeoutMs);

async function route(name: string): Promise<{ weights: Record<string, number>; annotations: Record<string, string>; record: { rollout?: { phase: string }; stable?: { name: string }; decisions?: unknown[] } }> {
  const got = await kube.request('GET', `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes/${name}`);
  expect(got.status).toBe(200);
  const weights: Record<string, number> = {};
  for (const ref of got.body.spec.rules[0].backendRefs) weights[ref.name] = ref.weight;
  const annotations = got.body.metadata.annotations ?? {};
  return { weights, annotations, record: JSON.parse(annotations[RECORD_ANNOTATION] ?? '{}') };
}

async function status(path: string): Promise<number> {
  return (await kube.request('GET', path)).status;
}

/** The code blocks of a step's report (a dry run's diff). */
const reportCode = (s: StepRun): string => (s.json.report ?? []).flatMap((r) => r.blocks).filter((b) => b.kind === 'code').map((b) => b.text ?? '').join('\n');

const deploymentPath = (name: string): string => `/apis/apps/v1/namespaces/${NS}/deployments/${name}`;
const autoscalerPath = (name: string): string => `/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers/${name}`;

async function image(deployment: string): Promise<string> {
  const got = await kube.request('GET', `/apis/apps/v1/namespaces/${NS}/deployments/${deployment}`);
  return got.body.spec.template.spec.containers[0].image;
}

/** The first deployment of v1 on a new route, as an operator would have it before any rollout. */
async function bootstrap(name: string): Promise<void> {
  const target = new GatewayApiTarget({ credentials: { kubeconfig: kube.kubeconfig }, namespace: NS, name, gateway: GATEWAY, image: IMAGE, readyTimeoutMs: 20_000, pollIntervalMs: 100 });
  await target.setVersion('stable', { name: 'v1', endpoints: [serves.v1!.url] });
  await target.setRouting({ stable: 100, canary: 0 }, { kind: 'weighted' });
}

beforeAll(async () => {
  requireBuilt();
  dir = mkdtempSync(join(tmpdir(), 'ferry-rollout-k8s-'));
  kube = await startKubeApiserver();
  controller = startKubeController(kube, { namespace: NS, gateway: GATEWAY, neverReady });
  Object.assign(serves, await startCanaryServes(dir, 'v2-disagree'));
}, 300_000);

afterAll(async () => {
  await controller?.stop();
  await stopFerryServes();
  await kube?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('gateway-api target on a real kube-apiserver', () => {
  it('canary → promote: weights move on the HTTPRoute, then the stable Deployment runs the new version', async () => {
    await bootstrap('promote');
    const out = await step(['canary-deploy', ...targetArgs('promote'), '--stable-version', 'v1', '--stable-endpoints', serves.v1!.url, '--version', 'v2', '--endpoints', serves.v2!.url, '--digest', 'sha256:' + 'a'.repeat(64), '--steps', '50,100', ...SYNTH]);
    expect(out.code, `${out.json.headline}\n${out.stderr}`).toBe(0);
    expect(out.json.outputs.phase).toBe('completed');
    const log = JSON.parse(out.json.outputs['decision-log']!) as { action: string; canary: number }[];
    expect(log.filter((e) => e.action === 'verified').map((e) => e.canary)).toEqual([50, 100]);
    expect((await route('promote')).weights).toEqual({ 'promote-stable': 0, 'promote-canary': 100 });
    expect(await image('promote-canary')).toBe(`${IMAGE}@sha256:${'a'.repeat(64)}`);

    const promoted = await step(['promote', ...targetArgs('promote')]);
    expect(promoted.code, `${promoted.json.headline}\n${promoted.stderr}`).toBe(0);
    expect(promoted.json.outputs['stable-version']).toBe('v2');
    const after = await route('promote');
    expect(after.weights).toEqual({ 'promote-stable': 100, 'promote-canary': 0 });
    expect(await image('promote-stable')).toBe(`${IMAGE}@sha256:${'a'.repeat(64)}`);
    expect(after.record.stable?.name).toBe('v2');
    expect(after.record.rollout?.phase).toBe('promoted');
    // The canary slot is retired: its Deployment holds no capacity once stable runs the new version.
    expect(await status(deploymentPath('promote-canary'))).toBe(404);
    // Every change went through server-side apply under the ferry field manager.
    const managed = (await kube.request('GET', `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes/promote`)).body.metadata.managedFields;
    expect(managed.filter((f: { operation: string }) => f.operation === 'Apply').map((f: { manager: string }) => f.manager)).toEqual(['ferry']);
  }, 180_000);

  it('canary → abort → rollback: a bad canary goes back to 0%, then rollback restores the version before', async () => {
    await bootstrap('abort');
    const good = await step(['canary-deploy', ...targetArgs('abort'), '--stable-version', 'v1', '--stable-endpoints', serves.v1!.url, '--version', 'v2', '--endpoints', serves.v2!.url, '--steps', '50,100', ...SYNTH]);
    expect(good.code, `${good.json.headline}\n${good.stderr}`).toBe(0);
    expect((await step(['promote', ...targetArgs('abort')])).code).toBe(0);
    expect(await image('abort-stable')).toBe(`${IMAGE}:v2`);
    expect(await status(deploymentPath('abort-canary'))).toBe(404);

    const out = await step(['canary-deploy', ...targetArgs('abort'), '--version', 'v3-disagree', '--endpoints', serves.disagree!.url, '--steps', '50,100', ...SYNTH]);
    expect(out.code, `${out.json.headline}\n${out.stderr}`).toBe(1);
    expect(out.json.outputs.phase).toBe('aborted');
    expect(out.json.headline).toMatch(/agreement/);
    // The aborted canary's Deployment is freed too, once traffic is verified back on stable.
    expect(await status(deploymentPath('abort-canary'))).toBe(404);
    expect(Number(out.json.outputs['rollback-ms'])).toBeGreaterThan(0);
    expect((await route('abort')).weights).toEqual({ 'abort-stable': 100, 'abort-canary': 0 });
    expect((await route('abort')).record.rollout?.phase).toBe('aborted');

    const rolled = await step(['rollback', ...targetArgs('abort')]);
    expect(rolled.code, `${rolled.json.headline}\n${rolled.stderr}`).toBe(0);
    expect(rolled.json.outputs['stable-version']).toBe('v1');
    const after = await route('abort');
    expect(after.weights).toEqual({ 'abort-stable': 100, 'abort-canary': 0 });
    expect(after.record.stable?.name).toBe('v1');
    expect(await image('abort-stable')).toBe(`${IMAGE}:v1`);
  }, 240_000);

  it('a canary Deployment that never becomes available times out before any traffic moves', async () => {
    await bootstrap('never-ready');
    neverReady.add('never-ready-canary');
    const started = Date.now();
    const out = await step(['canary-deploy', ...targetArgs('never-ready'), '--stable-version', 'v1', '--stable-endpoints', serves.v1!.url, '--version', 'v2', '--endpoints', serves.v2!.url, '--ready-timeout', '3s', '--steps', '50,100', ...SYNTH]);
    expect(out.code, `${out.json.headline}\n${out.stderr}`).toBe(3);
    expect(`${out.json.error ?? ''}${out.json.headline}${out.stderr}`).toMatch(/never-ready-canary did not become available with v2 within 3 s: 0 of 1 replicas are available/);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect((await route('never-ready')).weights).toEqual({ 'never-ready-stable': 100, 'never-ready-canary': 0 });
  }, 120_000);

  it('a second rollout is refused by the lease; the first, killed mid-step, resumes when re-run', async () => {
    await bootstrap('lease');
    const args = ['canary-deploy', ...targetArgs('lease'), '--stable-version', 'v1', '--stable-endpoints', serves.v1!.url, '--version', 'v2', '--endpoints', serves.v2!.url, '--steps', '50,100', ...SYNTH.map((a) => (a === '2s' ? '12s' : a)), '--json'];
    const first = spawn(NODE24, [CLI, ...args], { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    let firstStderr = '';
    first.stderr.on('data', (d: Buffer) => (firstStderr += d.toString()));
    const exited = new Promise((resolve) => first.once('exit', resolve));
    try {
      // Wait until the first job has moved traffic to 50% and holds the Lease.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const r = await route('lease').catch(() => undefined);
        if (r?.weights['lease-canary'] === 50) break;
        if (Date.now() > deadline || first.exitCode !== null) throw new Error(`the first rollout never reached 50% (exit ${first.exitCode}):\n${firstStderr}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const lease = await kube.request('GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/ferry-lease`);
      expect(lease.status).toBe(200);
      expect(lease.body.spec.holderIdentity).toContain(`:${first.pid}`);

      const second = await step(['canary-deploy', ...targetArgs('lease'), '--version', 'v3', '--endpoints', serves.v2!.url, '--steps', '100', ...SYNTH]);
      expect(second.code).toBe(2);
      expect(`${second.json.error ?? ''} ${second.json.headline}`).toMatch(/another rollout job is working on HTTPRoute default\/lease/);
      expect((await route('lease')).weights).toEqual({ 'lease-stable': 50, 'lease-canary': 50 });
    } finally {
      first.kill('SIGKILL');
      await exited;
    }
    // The killed job's lease names a dead process on this machine: the re-run takes over and resumes.
    const rerun = await step(['canary-deploy', ...targetArgs('lease'), '--version', 'v2', '--endpoints', serves.v2!.url, '--steps', '50,100', ...SYNTH]);
    expect(rerun.code, `${rerun.json.headline}\n${rerun.stderr}`).toBe(0);
    const log = JSON.parse(rerun.json.outputs['decision-log']!) as { action: string }[];
    expect(log.map((e) => e.action)).toContain('resume');
    expect((await route('lease')).weights).toEqual({ 'lease-stable': 0, 'lease-canary': 100 });
    const lease = await kube.request('GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/ferry-lease`);
    expect(lease.body.spec.holderIdentity ?? '').toBe('');
  }, 240_000);
});

describe('rollout record in annotations', () => {
  const path = `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes/conflict`;

  /** A client whose next write is preceded by another writer's change to the same object. */
  class RacedClient extends KubeClient {
    race: (() => Promise<void>) | undefined;
    override async mergePatch<T>(p: string, patch: unknown, subresource = ''): Promise<T> {
      const race = this.race;
      this.race = undefined;
      if (race && p === path) await race();
      return super.mergePatch(p, patch, subresource) as Promise<T>;
    }
  }

  it('a 409 from a concurrent writer is re-read and retried; a concurrent change of the record itself is a conflict', async () => {
    await bootstrap('conflict');
    const client = new RacedClient({ kubeconfig: kube.kubeconfig });
    const store = new AnnotationStateStore(client, path, 'HTTPRoute default/conflict', NS, 'ferry-conflict');
    expect(await store.read()).toBeNull();

    // Another writer labels the route between our read and our write: the API server answers 409.
    client.race = async () => {
      const labelled = await kube.request('PATCH', path, { body: { metadata: { labels: { team: 'models' } } } });
      expect(labelled.status).toBe(200);
    };
    expect(await store.write({ environment: 'conflict', note: 'first' }, 0)).toBe(1);
    const got = (await kube.request('GET', path)).body.metadata;
    expect(got.labels.team).toBe('models');
    expect(got.annotations[REVISION_ANNOTATION]).toBe('1');
    expect(await store.read()).toEqual({ data: { environment: 'conflict', note: 'first' }, revision: 1 });

    // Another writer moves the record itself on: our write must not land over it.
    client.race = async () => {
      await kube.request('PATCH', path, { body: { metadata: { annotations: { [RECORD_ANNOTATION]: JSON.stringify({ environment: 'conflict', note: 'theirs' }), [REVISION_ANNOTATION]: '2' } } } });
    };
    await expect(store.write({ environment: 'conflict', note: 'ours' }, 1)).rejects.toThrow(StateConflictError);
    expect(await store.read()).toEqual({ data: { environment: 'conflict', note: 'theirs' }, revision: 2 });
  }, 60_000);
});

describe('gateway-api scaling, dry run and RBAC', () => {
  const canaryArgs = (name: string, version: string, url: string): string[] => ['canary-deploy', ...targetArgs(name), '--stable-version', 'v1', '--stable-endpoints', serves.v1!.url, '--version', version, '--endpoints', url, '--steps', '50,100', ...SYNTH];

  it('max-replicas: an autoscaler per Deployment owns replicas; promote retires the canary; dropping max-replicas deletes ours', async () => {
    await bootstrap('scaled');
    const scaling = ['--replicas', '2', '--max-replicas', '4', '--scale-metric', 'memory', '--scale-target', '70', '--canary-replicas', 'proportional'];
    const out = await step([...canaryArgs('scaled', 'v2', serves.v2!.url), ...scaling]);
    expect(out.code, `${out.json.headline}\n${out.stderr}`).toBe(0);
    const hpa = (await kube.request('GET', autoscalerPath('scaled-canary'))).body;
    expect(hpa.spec).toMatchObject({ scaleTargetRef: { kind: 'Deployment', name: 'scaled-canary' }, minReplicas: 2, maxReplicas: 4 });
    expect(hpa.spec.metrics[0].resource).toEqual({ name: 'memory', target: { type: 'Utilization', averageUtilization: 70 } });
    // Ferry's apply leaves spec.replicas to the autoscaler (here played by the test controller).
    const canary = (await kube.request('GET', deploymentPath('scaled-canary'))).body;
    expect(canary.spec.replicas).toBe(2);
    const ferryFields = JSON.stringify(canary.metadata.managedFields.filter((f: { manager: string; operation: string }) => f.manager === 'ferry' && f.operation === 'Apply'));
    expect(ferryFields).not.toContain('f:replicas');

    const promoted = await step(['promote', ...targetArgs('scaled'), ...scaling]);
    expect(promoted.code, `${promoted.json.headline}\n${promoted.stderr}`).toBe(0);
    expect((await kube.request('GET', autoscalerPath('scaled-stable'))).body.spec).toMatchObject({ minReplicas: 2, maxReplicas: 4 });
    expect(await status(deploymentPath('scaled-canary'))).toBe(404);
    expect(await status(autoscalerPath('scaled-canary'))).toBe(404);
    expect((await route('scaled')).weights).toEqual({ 'scaled-stable': 100, 'scaled-canary': 0 });

    // Rollback right after a promote goes through the retired canary slot, which it recreates.
    const rolled = await step(['rollback', ...targetArgs('scaled')]);
    expect(rolled.code, `${rolled.json.headline}\n${rolled.stderr}`).toBe(0);
    expect(await image('scaled-stable')).toBe(`${IMAGE}:v1`);
    expect(await status(autoscalerPath('scaled-stable'))).toBe(404);
    expect(await status(deploymentPath('scaled-canary'))).toBe(404);
    expect((await route('scaled')).weights).toEqual({ 'scaled-stable': 100, 'scaled-canary': 0 });
  }, 240_000);

  it('proportional canary replicas grow and become available before the weight rises', async () => {
    await bootstrap('proportional');
    const routePath = `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes/proportional`;
    const seen: { canary: number; replicas: number; available: number }[] = [];
    // Records the canary Deployment as the API server has it whenever the route is applied.
    class Watching extends KubeClient {
      override async apply<T>(path: string, object: import('../../packages/rollout/src/targets/kubernetes/index.js').KubeObject, options?: { force?: boolean; dryRun?: boolean }): Promise<T> {
        if (path === routePath) {
          const d = (await kube.request('GET', deploymentPath('proportional-canary'))).body;
          seen.push({ canary: object.spec.rules[0].backendRefs[1].weight, replicas: d.spec?.replicas ?? 0, available: d.status?.availableReplicas ?? 0 });
        }
        return super.apply(path, object, options) as Promise<T>;
      }
    }
    const target = new GatewayApiTarget({ credentials: { kubeconfig: kube.kubeconfig }, namespace: NS, name: 'proportional', gateway: GATEWAY, image: IMAGE, replicas: 4, canaryReplicas: 'proportional', readyTimeoutMs: 20_000, pollIntervalMs: 100 });
    Object.defineProperty(target, 'client', { value: new Watching({ kubeconfig: kube.kubeconfig }) });
    await target.setVersion('canary', { name: 'v2', endpoints: [serves.v2!.url] });
    for (const canary of [10, 50, 100, 0]) await target.setRouting({ stable: 100 - canary, canary }, { kind: 'weighted' });
    expect(seen).toEqual([
      { canary: 10, replicas: 1, available: 1 },
      { canary: 50, replicas: 2, available: 2 },
      { canary: 100, replicas: 4, available: 4 },
      { canary: 0, replicas: 4, available: 4 },
    ]);
    // Shrunk after the weight went down.
    expect((await kube.request('GET', deploymentPath('proportional-canary'))).body.spec.replicas).toBe(1);
  }, 60_000);

  it('scale-metric rps is refused for gateway-api (exit 2) before anything changes', async () => {
    await bootstrap('rps');
    const out = await step([...canaryArgs('rps', 'v2', serves.v2!.url), '--max-replicas', '3', '--scale-metric', 'rps']);
    expect(out.code).toBe(2);
    expect(`${out.json.error ?? ''}${out.json.headline}${out.stderr}`).toMatch(/scale-metric.*KServe or a custom-metrics adapter|custom-metrics adapter[\s\S]*scale-metric/);
    expect(await status(deploymentPath('rps-canary'))).toBe(404);
  }, 60_000);

  it('dry-run shows the diff the API server validated and changes nothing', async () => {
    await bootstrap('dry');
    const before = await route('dry');
    const planned = await step([...canaryArgs('dry', 'v2', serves.v2!.url), '--dry-run']);
    expect(planned.code, `${planned.json.headline}\n${planned.stderr}`).toBe(0);
    expect(planned.json.headline).toMatch(/^dry run/);
    expect(reportCode(planned)).toMatch(/Deployment default\/dry-canary: create/);
    expect(reportCode(planned)).toMatch(/HTTPRoute default\/dry: update[\s\S]*- +weight: 0\n\+ +weight: 50/);
    expect(await status(deploymentPath('dry-canary'))).toBe(404);
    const after = await route('dry');
    expect(after.weights).toEqual(before.weights);
    expect(after.annotations[RECORD_ANNOTATION]).toBeUndefined();
    expect(await status(`/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/ferry-dry`)).toBe(404);

    // Nothing to promote yet: the same refusal as the real step.
    const early = await step(['promote', ...targetArgs('dry'), '--dry-run']);
    expect(early.code).toBe(2);
    expect(`${early.json.error ?? ''}${early.json.headline}`).toMatch(/no canary to promote/);

    expect((await step(canaryArgs('dry', 'v2', serves.v2!.url))).code).toBe(0);
    const promotion = await step(['promote', ...targetArgs('dry'), '--dry-run']);
    expect(promotion.code, `${promotion.json.headline}\n${promotion.stderr}`).toBe(0);
    expect(reportCode(promotion)).toMatch(/Deployment default\/dry-stable: update[\s\S]*-\s+- image: registry.example\/models\/classifier:v1\n\+\s+- image: registry.example\/models\/classifier:v2/);
    expect(reportCode(promotion)).toMatch(/Deployment default\/dry-canary: delete/);
    expect(await image('dry-stable')).toBe(`${IMAGE}:v1`);
    expect((await route('dry')).weights).toEqual({ 'dry-stable': 0, 'dry-canary': 100 });
    expect((await route('dry')).record.rollout?.phase).toBe('completed');

    // The rollback a dry run plans is the one the step would make: an unknown version is refused.
    const refused = await step(['rollback', ...targetArgs('dry'), '--dry-run', '--to-version', 'v9']);
    expect(refused.code).toBe(2);

    const local = await step(['canary-deploy', '--target', 'local', '--router-url', 'http://127.0.0.1:9', '--environment', 'dry', '--version', 'v2', '--endpoints', serves.v2!.url, '--dry-run']);
    expect(local.code).toBe(2);
    expect(`${local.json.error ?? ''}${local.json.headline}`).toMatch(/dry-run is for the Kubernetes targets/);
  }, 180_000);

  it("a user bound to the README's Role can canary-deploy and promote; without it the step exits 2 naming the Role", async () => {
    const user = userKubeconfig(kube);
    const userArgs = (name: string): string[] => targetArgs(name).map((a) => (a === kube.kubeconfig ? user : a));
    await bootstrap('rbac');

    const denied = await step(['canary-deploy', ...userArgs('rbac'), '--stable-version', 'v1', '--stable-endpoints', serves.v1!.url, '--version', 'v2', '--endpoints', serves.v2!.url, '--steps', '50,100', ...SYNTH]);
    expect(denied.code).toBe(2);
    expect(`${denied.json.error ?? ''}${denied.json.headline}${denied.stderr}`).toMatch(/kubeconfig[\s\S]*Role|Role[\s\S]*kubeconfig/);

    await bindReadmeRole(kube, '## Kubernetes: the `gateway-api` target', NS, 'ferry-rollout-test');

    const out = await step(['canary-deploy', ...userArgs('rbac'), '--stable-version', 'v1', '--stable-endpoints', serves.v1!.url, '--version', 'v2', '--endpoints', serves.v2!.url, '--steps', '50,100', '--max-replicas', '3', ...SYNTH]);
    expect(out.code, `${out.json.headline}\n${out.stderr}`).toBe(0);
    const dry = await step(['promote', ...userArgs('rbac'), '--max-replicas', '3', '--dry-run']);
    expect(dry.code, `${dry.json.headline}\n${dry.stderr}`).toBe(0);
    const promoted = await step(['promote', ...userArgs('rbac'), '--max-replicas', '3']);
    expect(promoted.code, `${promoted.json.headline}\n${promoted.stderr}`).toBe(0);
    expect(promoted.stderr).not.toMatch(/was not freed/);
    expect(await image('rbac-stable')).toBe(`${IMAGE}:v2`);
    expect(await status(deploymentPath('rbac-canary'))).toBe(404);
    expect(await status(autoscalerPath('rbac-stable'))).toBe(200);
  }, 240_000);
});
