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
import { makeSmokeModel, startFerryServe, stopFerryServes, type ServeProcess } from '../support/ferry-serve.js';
import { requirePython } from '../support/python.js';
import { CLI, cleanEnv, ferryJson, NODE24, REPO_ROOT, requireBuilt, run, type RunResult } from '../support/repo.js';

interface StepJson {
  verdict: string;
  headline: string;
  outputs: Record<string, string>;
  error?: string;
}
type Step = RunResult & { json: StepJson };

const NS = 'default';
const GATEWAY = 'models-gateway';
const IMAGE = 'registry.example/models/classifier';
let kube: KubeApiserverComponent;
let dir: string;
const serves: Record<string, ServeProcess> = {};
/** Deployments the simulated controller never makes available. */
const neverReady = new Set<string>();
let controller: { stop: () => Promise<void> } | undefined;

const SYNTH = ['--model-name', 'classifier', '--bake', '2s', '--analysis', 'synthetic', '--synthetic-rate', '40', '--min-agreement', '0.9', '--latency-floor', '0.5', '--error-floor', '0.02', '--max-extensions', '4'];

function targetArgs(route: string): string[] {
  return ['--target', 'gateway-api', '--kubeconfig', kube.kubeconfig, '--namespace', NS, '--route', route, '--gateway', GATEWAY, '--image', IMAGE, '--environment', route, '--verify-timeout', '20s'];
}

const step = (args: readonly string[], timeoutMs = 120_000): Promise<Step> => ferryJson<StepJson>(args, { cwd: dir, timeoutMs });

/** Plays the Deployment controller and the gateway: status follows spec a moment after each change. */
function startController(): { stop: () => Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        await reconcile();
      } catch (error) {
        // The API server going away at the end of the run; anything else shows in the steps' results.
        if (running) console.warn(`test controller: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  async function reconcile(): Promise<void> {
    const deployments = await kube.request('GET', `/apis/apps/v1/namespaces/${NS}/deployments`, { query: { labelSelector: 'app.kubernetes.io/managed-by=ferry' } });
    for (const d of deployments.body?.items ?? []) {
      if ((d.status?.observedGeneration ?? 0) >= d.metadata.generation) continue;
      const replicas = d.spec.replicas ?? 1;
      const ready = !neverReady.has(d.metadata.name);
      await kube.request('PATCH', `/apis/apps/v1/namespaces/${NS}/deployments/${d.metadata.name}/status`, {
        body: {
          status: {
            observedGeneration: d.metadata.generation,
            replicas,
            updatedReplicas: replicas,
            readyReplicas: ready ? replicas : 0,
            availableReplicas: ready ? replicas : 0,
            unavailableReplicas: ready ? 0 : replicas,
            conditions: [{ type: 'Available', status: ready ? 'True' : 'False', reason: ready ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', message: ready ? 'ok' : 'readiness probe failed' }],
          },
        },
      });
    }
    const routes = await kube.request('GET', `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes`);
    for (const r of routes.body?.items ?? []) {
      const accepted = r.status?.parents?.[0]?.conditions?.find((c: { type: string }) => c.type === 'Accepted');
      if ((accepted?.observedGeneration ?? 0) >= r.metadata.generation) continue;
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      await kube.request('PATCH', `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes/${r.metadata.name}/status`, {
        body: {
          status: {
            parents: [
              {
                parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: GATEWAY },
                controllerName: 'example.com/test-gateway',
                conditions: [
                  { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'accepted by the test gateway', observedGeneration: r.metadata.generation, lastTransitionTime: now },
                  { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'ok', observedGeneration: r.metadata.generation, lastTransitionTime: now },
                ],
              },
            ],
          },
        },
      });
    }
  }
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

async function route(name: string): Promise<{ weights: Record<string, number>; annotations: Record<string, string>; record: { rollout?: { phase: string }; stable?: { name: string }; decisions?: unknown[] } }> {
  const got = await kube.request('GET', `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes/${name}`);
  expect(got.status).toBe(200);
  const weights: Record<string, number> = {};
  for (const ref of got.body.spec.rules[0].backendRefs) weights[ref.name] = ref.weight;
  const annotations = got.body.metadata.annotations ?? {};
  return { weights, annotations, record: JSON.parse(annotations[RECORD_ANNOTATION] ?? '{}') };
}

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
  controller = startController();
  const model = await makeSmokeModel(dir);
  const made = await run(requirePython(), [join(REPO_ROOT, 'test/fixtures/make_canary_models.py'), dir], { timeoutMs: 120_000 });
  if (made.code !== 0) throw new Error(`make_canary_models.py failed:\n${made.stderr}`);
  const args = (m: string, version: string): string[] => ['--model-path', m, '--model-name', 'classifier', '--model-version', version, '--port', '0', '--inject-latency-ms', '20'];
  const [v1, v2, disagree] = await Promise.all([startFerryServe(args(model, 'v1')), startFerryServe(args(model, 'v2')), startFerryServe(args(join(dir, 'canary-rotated', 'model.onnx'), 'v2-disagree'))]);
  Object.assign(serves, { v1, v2, disagree });
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

    const out = await step(['canary-deploy', ...targetArgs('abort'), '--version', 'v3-disagree', '--endpoints', serves.disagree!.url, '--steps', '50,100', ...SYNTH]);
    expect(out.code, `${out.json.headline}\n${out.stderr}`).toBe(1);
    expect(out.json.outputs.phase).toBe('aborted');
    expect(out.json.headline).toMatch(/agreement/);
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
