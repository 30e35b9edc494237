// The kserve target on a real kube-apiserver with etcd and KServe's real InferenceService CRD
// (0.20, and 0.16 for a cluster without spec.canary), driven by the built CLI as users run it. No
// controller runs: test/support/kserve-controller.ts plays KServe and Knative by patching status
// with KServe's own rules, and the versions the judge compares are real `ferry serve` processes on
// loopback (each version's endpoints), as in rollout-k8s.test.ts.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeApiserver, type KubeApiserverComponent } from '../support/components/index.js';
import { startCanaryServes, stopFerryServes, type ServeProcess } from '../support/ferry-serve.js';
import { bindReadmeRole, userKubeconfig } from '../support/kube-rbac.js';
import { startKServeController, type KServeController } from '../support/kserve-controller.js';
import { CLI, cleanEnv, stepIn, NODE24, requireBuilt, type StepRun } from '../support/repo.js';


const NS = 'default';
const STORAGE = 's3://models/classifier/{version}';
let kube: KubeApiserverComponent;
let dir: string;
let controller: KServeController | undefined;
/** Services the simulated controller has not reconciled yet. */
const unreconciled = new Set<string>();
const serves: Record<string, ServeProcess> = {};

const SYNTH = ['--model-name', 'classifier', '--bake', '2s', '--analysis', 'synthetic', '--synthetic-rate', '40', '--min-agreement', '0.9', '--latency-floor', '0.5', '--error-floor', '0.02', '--max-extensions', '4'];

function targetArgs(isvc: string, o: { storage?: string; readyTimeout?: string } = {}): string[] {
  return ['--target', 'kserve', '--kubeconfig', kube.kubeconfig, '--namespace', NS, '--inference-service', isvc, '--storage-uri', o.storage ?? STORAGE, '--environment', isvc, '--verify-timeout', '20s', '--ready-timeout', o.readyTimeout ?? '20s'];
}

const step = (args: readonly string[], timeoutMs = 120_000): Promise<StepRun> => stepIn(dir, args, timeoutMs);
const isvcPath = (name: string): string => `/apis/serving.kserve.io/v1beta1/namespaces/${NS}/inferenceservices/${name}`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function isvc(name: string): Promise<any> {
  const got = await kube.request('GET', isvcPath(name));
  expect(got.status).toBe(200);
  return got.body;
}

/** The split KServe reports: percent per revision. */
async function traffic(name: string): Promise<Record<string, number>> {
  const split: Record<string, number> = {};
  for (const t of (await isvc(name)).status.components.predictor.traffic) split[t.revisionName] = (split[t.revisionName] ?? 0) + t.percent;
  return split;
}

/** The revision whose template serves storage URI `uri` (the controller numbers them in order). */
async function record(name: string): Promise<{ phase?: string; stable?: string; decisions: { action: string; canary: number }[] }> {
  const cm = await kube.request('GET', `/api/v1/namespaces/${NS}/configmaps/ferry-${name}`);
  expect(cm.status).toBe(200);
  const r = JSON.parse(cm.body.metadata.annotations['ferry.dev/rollout']);
  return { phase: r.rollout?.phase, stable: r.stable?.name, decisions: r.decisions ?? [] };
}

/** An InferenceService as its owner deploys it before any rollout: v1, already reconciled. */
async function deploy(name: string, mode: 'Serverless' | 'RawDeployment' | null, extra: Record<string, unknown> = {}): Promise<void> {
  const created = await kube.request('POST', `/apis/serving.kserve.io/v1beta1/namespaces/${NS}/inferenceservices`, {
    body: {
      apiVersion: 'serving.kserve.io/v1beta1',
      kind: 'InferenceService',
      metadata: { name, ...(mode ? { annotations: { 'serving.kserve.io/deploymentMode': mode } } : {}) },
      spec: { predictor: { model: { modelFormat: { name: 'onnx' }, storageUri: 's3://models/classifier/v1', resources: { limits: { cpu: '1' } } }, ...extra } },
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  if (mode === null) return;
  const deadline = Date.now() + 20_000;
  while ((await isvc(name)).status?.observedGeneration !== 1) {
    if (Date.now() > deadline) throw new Error(`the test controller never reconciled ${name}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  requireBuilt();
  dir = mkdtempSync(join(tmpdir(), 'ferry-rollout-kserve-'));
  kube = await startKubeApiserver();
  controller = startKServeController(kube, { namespace: NS, neverReady: (predictor) => predictor.includes('never-ready'), ignore: unreconciled });
  Object.assign(serves, await startCanaryServes(dir, 'v3-disagree'));
}, 300_000);

afterAll(async () => {
  await controller?.stop();
  await stopFerryServes();
  await kube?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('kserve target, Serverless mode (canaryTrafficPercent)', () => {
  it('canary → promote → a bad canary aborted → rollback, judged on the split KServe reports', async () => {
    await deploy('clf', 'Serverless');
    const [r1] = controller!.revisions('clf');
    const out = await step(['canary-deploy', ...targetArgs('clf'), '--stable-version', 'v1', '--stable-endpoints', serves.v1!.url, '--version', 'v2', '--endpoints', serves.v2!.url, '--steps', '50,100', ...SYNTH]);
    expect(out.code, `${out.json.headline}\n${out.stderr}`).toBe(0);
    const log = JSON.parse(out.json.outputs['decision-log']!) as { action: string; canary: number }[];
    expect(log.filter((e) => e.action === 'verified').map((e) => e.canary)).toEqual([50, 100]);
    let live = await isvc('clf');
    expect(live.spec.predictor.model.storageUri).toBe('s3://models/classifier/v2');
    expect(live.spec.predictor.canaryTrafficPercent).toBe(100);
    const r2 = controller!.revisions('clf')[1]!;
    expect(await traffic('clf')).toEqual({ [r2]: 100 });
    // The owner's own predictor fields stay theirs; the record lives on the ConfigMap, so no
    // record write ever started a revision of its own: one revision per model version.
    expect(live.spec.predictor.model.resources).toEqual({ limits: { cpu: '1' } });
    expect(Object.keys(live.metadata.annotations ?? {}).filter((k) => k.startsWith('ferry.dev'))).toEqual([]);
    expect(controller!.revisions('clf')).toEqual([r1, r2]);

    const promoted = await step(['promote', ...targetArgs('clf')]);
    expect(promoted.code, `${promoted.json.headline}\n${promoted.stderr}`).toBe(0);
    live = await isvc('clf');
    expect(live.spec.predictor.canaryTrafficPercent).toBeUndefined();
    expect(live.status.components.predictor.latestRolledoutRevision).toBe(r2);
    expect(await traffic('clf')).toEqual({ [r2]: 100 });
    expect((await record('clf')).phase).toBe('promoted');
    const managers = (live.metadata.managedFields as { manager: string; operation: string }[]).filter((f) => f.operation === 'Apply').map((f) => f.manager);
    expect(managers).toEqual(['ferry']);

    // A canary that disagrees with stable: aborted at 50%, then the stable spec comes back and
    // the field goes away once stable's restored revision is ready.
    const bad = await step(['canary-deploy', ...targetArgs('clf'), '--version', 'v3-disagree', '--endpoints', serves.disagree!.url, '--steps', '50,100', ...SYNTH]);
    expect(bad.code, `${bad.json.headline}\n${bad.stderr}`).toBe(1);
    expect(bad.json.outputs.phase).toBe('aborted');
    expect(bad.json.headline).toMatch(/agreement/);
    expect(Number(bad.json.outputs['rollback-ms'])).toBeGreaterThan(0);
    live = await isvc('clf');
    expect(live.spec.predictor.model.storageUri).toBe('s3://models/classifier/v2');
    expect(live.spec.predictor.canaryTrafficPercent).toBeUndefined();
    const revisions = controller!.revisions('clf');
    expect(revisions).toHaveLength(4); // v1, v2, v3-disagree, v2 restored
    expect(await traffic('clf')).toEqual({ [revisions[3]!]: 100 });

    const rolled = await step(['rollback', ...targetArgs('clf')]);
    expect(rolled.code, `${rolled.json.headline}\n${rolled.stderr}`).toBe(0);
    expect(rolled.json.outputs['stable-version']).toBe('v1');
    live = await isvc('clf');
    expect(live.spec.predictor.model.storageUri).toBe('s3://models/classifier/v1');
    expect(live.spec.predictor.canaryTrafficPercent).toBeUndefined();
    expect(await traffic('clf')).toEqual({ [controller!.revisions('clf').at(-1)!]: 100 });
    expect((await record('clf')).stable).toBe('v1');
  }, 300_000);

  it('a canary revision that never becomes ready: the step times out, traffic never moves, and the spec is back on stable', async () => {
    await deploy('never', 'Serverless');
    const [r1] = controller!.revisions('never');
    const out = await step(['canary-deploy', ...targetArgs('never', { storage: 's3://models/never-ready/{version}', readyTimeout: '3s' }), '--stable-version', 'v1', '--stable-endpoints', serves.v1!.url, '--version', 'v2', '--endpoints', serves.v2!.url, '--steps', '50,100', ...SYNTH]);
    expect(out.code, `${out.json.headline}\n${out.stderr}`).toBe(3);
    expect(`${out.json.error ?? ''}${out.json.headline}${out.stderr}`).toMatch(/waited 3 s for the predictor revision of v2 to become ready on InferenceService default\/never: revision never-predictor-00002 is not ready \(LatestDeploymentReady=False RevisionMissing/);
    const live = await isvc('never');
    expect(live.spec.predictor.model.storageUri).toBe('s3://models/classifier/v1');
    expect(live.spec.predictor.canaryTrafficPercent).toBeUndefined();
    // The restored stable spec is a new revision of v1 (Knative never reuses one); the canary's
    // revision never carried a request.
    const deadline = Date.now() + 10_000;
    while ((await isvc('never')).status.observedGeneration !== live.metadata.generation && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const split = await traffic('never');
    expect(controller!.revisions('never')).toEqual([r1, 'never-predictor-00002', 'never-predictor-00003']);
    expect(split).toEqual({ 'never-predictor-00003': 100 });
  }, 120_000);

  it('a second rollout is refused by the Lease; the first, killed mid-step, resumes when re-run', async () => {
    await deploy('lease', 'Serverless');
    const args = ['canary-deploy', ...targetArgs('lease'), '--stable-version', 'v1', '--stable-endpoints', serves.v1!.url, '--version', 'v2', '--endpoints', serves.v2!.url, '--steps', '50,100', ...SYNTH.map((a) => (a === '2s' ? '12s' : a)), '--json'];
    const first = spawn(NODE24, [CLI, ...args], { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    let firstStderr = '';
    first.stderr.on('data', (d: Buffer) => (firstStderr += d.toString()));
    const exited = new Promise((resolve) => first.once('exit', resolve));
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const split = await traffic('lease').catch(() => ({}) as Record<string, number>);
        if (Object.values(split).includes(50)) break;
        if (Date.now() > deadline || first.exitCode !== null) throw new Error(`the first rollout never reached 50% (exit ${first.exitCode}):\n${firstStderr}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const lease = await kube.request('GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/ferry-lease`);
      expect(lease.body.spec.holderIdentity).toContain(`:${first.pid}`);
      const second = await step(['canary-deploy', ...targetArgs('lease'), '--version', 'v3', '--endpoints', serves.v2!.url, '--steps', '100', ...SYNTH]);
      expect(second.code).toBe(2);
      expect(`${second.json.error ?? ''} ${second.json.headline}`).toMatch(/another rollout job is working on InferenceService default\/lease/);
      expect((await isvc('lease')).spec.predictor.canaryTrafficPercent).toBe(50);
    } finally {
      first.kill('SIGKILL');
      await exited;
    }
    const rerun = await step(['canary-deploy', ...targetArgs('lease'), '--version', 'v2', '--endpoints', serves.v2!.url, '--steps', '50,100', ...SYNTH]);
    expect(rerun.code, `${rerun.json.headline}\n${rerun.stderr}`).toBe(0);
    const log = JSON.parse(rerun.json.outputs['decision-log']!) as { action: string }[];
    expect(log.map((e) => e.action)).toContain('resume');
    expect((await isvc('lease')).spec.predictor.canaryTrafficPercent).toBe(100);
    // One revision per version: the resumed job re-applied the same spec, no new revision.
    expect(controller!.revisions('lease')).toHaveLength(2);
  }, 240_000);

  it('dry-run prints the InferenceService as the step would leave it, validated by the API server, and changes nothing', async () => {
    await deploy('dry', 'Serverless');
    const before = await isvc('dry');
    const out = await step(['canary-deploy', ...targetArgs('dry'), '--dry-run', '--stable-version', 'v1', '--stable-endpoints', serves.v1!.url, '--version', 'v2', '--endpoints', serves.v2!.url, '--steps', '10,100', ...SYNTH]);
    expect(out.code, `${out.json.headline}\n${out.stderr}`).toBe(0);
    expect(out.json.headline).toMatch(/^dry run/);
    const printed = `${out.stdout}${out.stderr}`;
    expect(printed).toMatch(/InferenceService default\/dry/);
    expect(printed).toMatch(/-\s+storageUri: s3:\/\/models\/classifier\/v1/);
    expect(printed).toMatch(/\+\s+storageUri: s3:\/\/models\/classifier\/v2/);
    expect(printed).toMatch(/\+\s+canaryTrafficPercent: 10/);
    const after = await isvc('dry');
    expect(after.metadata.generation).toBe(before.metadata.generation);
    expect(after.spec).toEqual(before.spec);
    expect((await kube.request('GET', `/api/v1/namespaces/${NS}/configmaps/ferry-dry`)).status).toBe(404);
  }, 60_000);

  it("a user bound to the README's kserve Role can canary-deploy and promote; without it the step exits 2 naming the Role", async () => {
    await deploy('rbac', 'Serverless');
    const user = userKubeconfig(kube);
    const userArgs = targetArgs('rbac').map((a) => (a === kube.kubeconfig ? user : a));
    const canary = ['canary-deploy', ...userArgs, '--stable-version', 'v1', '--stable-endpoints', serves.v1!.url, '--version', 'v2', '--endpoints', serves.v2!.url, '--steps', '50,100', ...SYNTH];
    const denied = await step(canary);
    expect(denied.code, `${denied.json.headline}\n${denied.stderr}`).toBe(2);
    expect(`${denied.json.error ?? ''}`).toMatch(/kubeconfig|Role/);
    expect((await isvc('rbac')).spec.predictor.model.storageUri).toBe('s3://models/classifier/v1');

    await bindReadmeRole(kube, '## Kubernetes: the `kserve` target', NS, 'ferry-rollout-kserve-test');
    const out = await step(canary);
    expect(out.code, `${out.json.headline}\n${out.stderr}`).toBe(0);
    const promoted = await step(['promote', ...userArgs]);
    expect(promoted.code, `${promoted.json.headline}\n${promoted.stderr}`).toBe(0);
    expect((await isvc('rbac')).spec.predictor.model.storageUri).toBe('s3://models/classifier/v2');
    expect((await record('rbac')).phase).toBe('promoted');
  }, 120_000);

  it('a service that names no deployment mode is refused before anything changes', async () => {
    unreconciled.add('nomode');
    await deploy('nomode', null);
    const out = await step(['canary-deploy', ...targetArgs('nomode'), '--stable-version', 'v1', '--stable-endpoints', serves.v1!.url, '--version', 'v2', '--endpoints', serves.v2!.url, '--steps', '100', ...SYNTH]);
    expect(out.code, `${out.json.error}\n${out.stderr}`).toBe(2);
    expect(`${out.json.error ?? ''}`).toMatch(/names no deployment mode .*canaryTrafficPercent is silently ignored in RawDeployment mode/);
    expect((await isvc('nomode')).spec.predictor.model.storageUri).toBe('s3://models/classifier/v1');
  }, 60_000);
});

describe('kserve target, RawDeployment mode', () => {
  it('with spec.canary (KServe 0.20): a named canary predictor carries the share, and promote retargets the stable predictor to it', async () => {
    await deploy('raw', 'RawDeployment', { minReplicas: 2 });
    const out = await step(['canary-deploy', ...targetArgs('raw'), '--stable-version', 'v1', '--stable-endpoints', serves.v1!.url, '--version', 'v2', '--endpoints', serves.v2!.url, '--steps', '50,100', ...SYNTH]);
    expect(out.code, `${out.json.headline}\n${out.stderr}`).toBe(0);
    let live = await isvc('raw');
    expect(live.spec.predictor.canaryTrafficPercent).toBeUndefined();
    expect(live.spec.canary).toEqual([{ trafficPercent: 100, predictor: { name: 'v2', model: { name: 'kserve-container', modelFormat: { name: 'onnx' }, storageUri: 's3://models/classifier/v2' } } }]);
    expect(live.status.canaryStatuses).toEqual([expect.objectContaining({ name: 'v2', ready: true, trafficPercent: 100 })]);

    const promoted = await step(['promote', ...targetArgs('raw')]);
    expect(promoted.code, `${promoted.json.headline}\n${promoted.stderr}`).toBe(0);
    live = await isvc('raw');
    expect(live.spec.canary).toBeUndefined();
    expect(live.spec.predictor.name).toBe('v2');
    expect(live.spec.predictor.model.storageUri).toBe('s3://models/classifier/v2');
    expect(live.spec.predictor.minReplicas).toBe(2);
    expect((await record('raw')).phase).toBe('promoted');

    const bad = await step(['canary-deploy', ...targetArgs('raw'), '--version', 'v3-disagree', '--endpoints', serves.disagree!.url, '--steps', '50,100', ...SYNTH]);
    expect(bad.code, `${bad.json.headline}\n${bad.stderr}`).toBe(1);
    live = await isvc('raw');
    expect(live.spec.canary).toBeUndefined();
    expect(live.spec.predictor.name).toBe('v2');
  }, 240_000);

  it('without spec.canary (KServe 0.16): refused with exit 2 before anything changes, never a silently ignored canaryTrafficPercent', async () => {
    const oldCrd = join(kube.crdDir, 'kserve-v0.16.0', 'serving.kserve.io_inferenceservices.yaml');
    if (!existsSync(oldCrd)) throw new Error(`${oldCrd} is missing: run "bash scripts/install-kube-apiserver.sh" (it keeps KServe 0.16's CRD beside the current one)`);
    // The cluster goes back to KServe 0.16's CRD, as on a cluster that never upgraded.
    const crdPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/inferenceservices.serving.kserve.io';
    const current = (await kube.request('GET', crdPath)).body;
    const old = parse(readFileSync(oldCrd, 'utf8'));
    const replaced = await kube.request('PUT', crdPath, { body: { ...old, metadata: { ...old.metadata, resourceVersion: current.metadata.resourceVersion } } });
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(200);
    // The API server serves the old schema a moment later: a dry run with spec.canary is refused then.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const probe = await kube.request('PATCH', isvcPath('probe'), {
        body: { apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata: { name: 'probe' }, spec: { predictor: { model: { modelFormat: { name: 'onnx' } } }, canary: [] } },
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager: 'test', fieldValidation: 'Strict', dryRun: 'All' },
      });
      if (probe.status >= 400) break;
      if (Date.now() > deadline) throw new Error('the API server still accepts spec.canary 30 s after the CRD went back to KServe 0.16');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await deploy('oldraw', 'RawDeployment');
    const before = await isvc('oldraw');
    const out = await step(['canary-deploy', ...targetArgs('oldraw'), '--stable-version', 'v1', '--stable-endpoints', serves.v1!.url, '--version', 'v2', '--endpoints', serves.v2!.url, '--steps', '100', ...SYNTH]);
    expect(out.code, `${out.json.headline}\n${out.stderr}`).toBe(2);
    expect(out.json.error ?? '').toMatch(/runs in RawDeployment mode, where KServe ignores canaryTrafficPercent, and this cluster's InferenceService CRD has no spec.canary/);
    const after = await isvc('oldraw');
    expect(after.spec).toEqual(before.spec);
    expect(after.metadata.generation).toBe(before.metadata.generation);
  }, 120_000);
});
