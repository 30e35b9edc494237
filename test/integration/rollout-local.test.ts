// The local target end to end: a real `ferry router` process in front of real `ferry serve`
// processes, driven by the built CLI's canary-deploy, promote and rollback. It covers what HAProxy
// cannot route (A/B by header, shadow by mirroring), blue-green, Prometheus scraping the router's
// own per-version metrics, and a job cancelled mid-step.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferSource, MediaType, RegistryClient, sha256Digest, uploadBlob } from '@ferry/image';
import { startPrometheus, startRegistry, type PrometheusComponent } from '../support/components/index.js';
import { startCanaryServes, startFerryRouter, stopFerryRouters, stopFerryServes, type FerryRouter, type ServeProcess } from '../support/ferry-serve.js';
import { cleanEnv, CLI, stepIn, NODE24, requireBuilt, type StepRun } from '../support/repo.js';


let dir: string;
const serves: Record<string, ServeProcess> = {};

const startRouter = (stable: ServeProcess): Promise<FerryRouter> => startFerryRouter(mkdtempSync(join(dir, 'router-')), stable);

const body = JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [0.5, -1.2, 0.3, 2.0] }] });

async function infer(url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${url}/v2/models/classifier/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  const json = (await res.json()) as { model_version?: string };
  return json.model_version ?? `status-${res.status}`;
}

/** Steady traffic through the router while `during` runs; returns the versions that answered. */
async function withTraffic<T>(url: string, rate: number, during: () => Promise<T>, headers: () => Record<string, string> = () => ({})): Promise<{ result: T; answers: { version: string; key: string | undefined }[] }> {
  const answers: { version: string; key: string | undefined }[] = [];
  const inFlight: Promise<void>[] = [];
  const timer = setInterval(() => {
    const h = headers();
    // Kept in the order sent (the order the router routed them), not the order answered.
    const i = answers.push({ version: 'pending', key: h['x-user'] }) - 1;
    inFlight.push(infer(url, h).then((version) => void (answers[i] = { version, key: h['x-user'] }), () => void (answers[i] = { version: 'failed', key: h['x-user'] })));
  }, 1000 / rate);
  try {
    const result = await during();
    return { result, answers };
  } finally {
    clearInterval(timer);
    await Promise.all(inFlight);
  }
}

const step = (args: readonly string[], timeoutMs = 120_000): Promise<StepRun> => stepIn(dir, args, timeoutMs);

const deploy = (r: FerryRouter, canary: ServeProcess, version: string, extra: readonly string[]): string[] => [
  'canary-deploy',
  '--router-url', r.adminUrl,
  '--version', version,
  '--endpoints', canary.url,
  '--model-name', 'classifier',
  ...extra,
];
const SYNTH = ['--bake', '3s', '--analysis', 'synthetic', '--synthetic-rate', '40', '--min-agreement', '0.9', '--latency-floor', '0.5', '--error-floor', '0.02', '--max-extensions', '4'];

beforeAll(async () => {
  requireBuilt();
  dir = mkdtempSync(join(tmpdir(), 'ferry-rollout-local-'));
  Object.assign(serves, await startCanaryServes(dir, 'v2-disagree'));
}, 240_000);

afterAll(async () => {
  await stopFerryRouters();
  await stopFerryServes();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('rollouts on the local router', () => {
  it('blue-green: verified at 0%, then all traffic at once; promote makes it stable', async () => {
    const r = await startRouter(serves.v1!);
    const { result: out, answers } = await withTraffic(r.url, 40, () => step(deploy(r, serves.v2!, 'v2', ['--strategy', 'blue-green', ...SYNTH])));
    expect(out.code, `${out.json.headline}\n${out.stderr}`).toBe(0);
    expect(out.json.outputs.phase).toBe('completed');
    expect(JSON.parse(out.json.outputs['final-weights']!)).toEqual({ v1: 0, v2: 100 });
    const log = JSON.parse(out.json.outputs['decision-log']!) as { action: string; canary: number }[];
    expect(log.filter((e) => e.action === 'verified').map((e) => e.canary)).toEqual([0, 100]);
    // Users saw v1 and then v2, never a mix going back and forth.
    const versions = answers.map((a) => a.version);
    expect(new Set(versions)).toEqual(new Set(['v1', 'v2']));
    expect(versions.slice(versions.indexOf('v2'))).not.toContain('v1');
    const promoted = await step(['promote', '--router-url', r.adminUrl]);
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.json.outputs['stable-version']).toBe('v2');
    expect(await infer(r.url)).toBe('v2');
  }, 120_000);

  it('A/B by header: each user stays on one version, and the split follows ab-weight', async () => {
    const r = await startRouter(serves.v1!);
    let n = 0;
    const { result: out, answers } = await withTraffic(r.url, 60, () => step(deploy(r, serves.v2!, 'v2', ['--strategy', 'ab', '--ab-header', 'x-user', '--ab-weight', '50', ...SYNTH])), () => ({ 'x-user': `user-${n++ % 200}` }));
    expect(out.code, `${out.json.headline}\n${out.stderr}`).toBe(0);
    expect(answers.some((a) => a.version === 'v2')).toBe(true);
    expect(out.json.outputs.phase).toBe('completed');
    // The split stays until promote or rollback: three requests per user, each user on one version.
    const byKey = new Map<string, Set<string>>();
    for (let round = 0; round < 3; round++) {
      for (let k = 0; k < 200; k++) {
        const version = await infer(r.url, { 'x-user': `user-${k}` });
        byKey.set(`user-${k}`, (byKey.get(`user-${k}`) ?? new Set()).add(version));
      }
    }
    expect([...byKey.values()].filter((s) => s.size > 1)).toEqual([]);
    const share = [...byKey.values()].filter((s) => s.has('v2')).length / byKey.size;
    expect(share).toBeGreaterThan(0.35);
    expect(share).toBeLessThan(0.65);
  }, 120_000);

  it('shadow: users only ever get stable answers; a canary that disagrees on the mirrored requests is aborted', async () => {
    const r = await startRouter(serves.v1!);
    const { result: out, answers } = await withTraffic(r.url, 40, () => step(deploy(r, serves.disagree!, 'v2-disagree', ['--strategy', 'shadow', ...SYNTH])));
    expect(out.code, `${out.json.headline}\n${out.stderr}`).toBe(1);
    expect(out.json.outputs.phase).toBe('aborted');
    expect(out.json.headline).toMatch(/agreement/);
    expect(new Set(answers.map((a) => a.version))).toEqual(new Set(['v1']));
    const metrics = await (await fetch(`${r.adminUrl}/metrics`)).text();
    const mirrored = metrics.split('\n').filter((l) => l.startsWith('ferry_router_mirrored_requests_total{') && l.includes('v2-disagree'));
    expect(mirrored.reduce((sum, l) => sum + Number(l.split(' ').pop()), 0)).toBeGreaterThan(20);
  }, 120_000);

  it('canary judged from Prometheus scraping the router: promoted', async () => {
    const r = await startRouter(serves.v1!);
    const prometheus: PrometheusComponent = await startPrometheus({ scrapeTargets: [new URL(r.adminUrl).host], scrapeInterval: '1s' });
    try {
      const { result: out } = await withTraffic(r.url, 150, () =>
        step(deploy(r, serves.v2!, 'v2', ['--steps', '25,50,100', '--bake', '4s', '--max-extensions', '4', '--latency-floor', '0.5', '--error-floor', '0.01', '--analysis', 'prometheus', '--prometheus-url', prometheus.url, '--prometheus-metrics', 'ferry-router'])),
      );
      expect(out.code, `${out.json.headline}\n${out.stderr}`).toBe(0);
      expect(out.json.outputs.phase).toBe('completed');
    } finally {
      await prometheus.stop();
    }
  }, 180_000);

  it('promote moves the model registry tag to the promoted digest, once', async () => {
    const registry = await startRegistry();
    try {
      // The candidate as build-serving-image would have pushed it: a manifest addressed by digest.
      const client = new RegistryClient({ registry: registry.host, plainHttp: true, credentialFiles: false });
      const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
      const configDigest = sha256Digest(config);
      await uploadBlob(client, 'models/classifier', configDigest, bufferSource(config));
      const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: configDigest, size: config.length }, layers: [] }));
      const digest = await client.putManifest('models/classifier', 'v2', MediaType.OciManifest, manifest);
      client.close();

      const r = await startRouter(serves.v1!);
      const out = await step(deploy(r, serves.v2!, 'v2', ['--steps', '100', '--digest', digest, ...SYNTH]));
      expect(out.code, `${out.json.headline}\n${out.stderr}`).toBe(0);
      expect(out.json.outputs['new-digest']).toBe(digest);
      const tag = `${registry.host}/models/classifier:production`;
      const promote = ['promote', '--router-url', r.adminUrl, '--registry-tag', tag, '--insecure-registry'];
      const promoted = await step(promote);
      expect(promoted.code, promoted.stderr).toBe(0);
      expect(promoted.json.outputs.tagged).toBe(`${tag}@${digest}`);
      expect(promoted.json.outputs['stable-digest']).toBe(digest);
      const head = await fetch(`${registry.url}/v2/models/classifier/manifests/production`, { method: 'HEAD', headers: { accept: MediaType.OciManifest } });
      expect(head.headers.get('docker-content-digest')).toBe(digest);
      const again = await step(promote);
      expect(again.code).toBe(0);
      expect(again.json.headline).toMatch(/already promoted/);
      expect(again.json.outputs.tagged).toBe(`${tag}@${digest}`);

      // A tag that cannot be moved says the promotion itself stands.
      const down = await step(['promote', '--router-url', r.adminUrl, '--registry-tag', '127.0.0.1:1/models/classifier:production', '--insecure-registry']);
      expect(down.code).toBe(3);
      expect(down.json.error).toMatch(/v2 is promoted and serves all traffic, but 127\.0\.0\.1:1\/models\/classifier:production was not moved/);
    } finally {
      await registry.stop();
    }
  }, 180_000);

  it('a manual gate pauses the rollout at its weight until the job is re-run; on-inconclusive=hold keeps the weights for a human', async () => {
    const r = await startRouter(serves.v1!);
    const args = deploy(r, serves.v2!, 'v2', ['--steps', '30,manual,100', ...SYNTH]);
    const paused = await step(args);
    expect(paused.code).toBe(1);
    expect(paused.json.verdict).toBe('inconclusive');
    expect(paused.json.outputs.phase).toBe('paused');
    expect(paused.json.headline).toMatch(/paused at the manual gate before step 2 \(100%\)/);
    const routing = (await (await fetch(`${r.adminUrl}/routing`)).json()) as { weights: { canary: number } };
    expect(routing.weights.canary).toBe(30);
    const approved = await step(args);
    expect(approved.code, `${approved.json.headline}\n${approved.stderr}`).toBe(0);
    expect(approved.json.outputs.phase).toBe('completed');

    // A canary the judge cannot settle (a one-request bake, no extensions) is held, not aborted.
    const r2 = await startRouter(serves.v1!);
    const held = await step(deploy(r2, serves.v2!, 'v2', ['--steps', '40,100', '--bake', '100ms', '--analysis', 'synthetic', '--synthetic-rate', '5', '--max-extensions', '0', '--on-inconclusive', 'hold']));
    expect(held.code).toBe(1);
    expect(held.json.verdict).toBe('inconclusive');
    expect(held.json.outputs.phase).toBe('holding');
    const heldRouting = (await (await fetch(`${r2.adminUrl}/routing`)).json()) as { weights: { canary: number } };
    expect(heldRouting.weights.canary).toBe(40);
    const back = await step(['rollback', '--router-url', r2.adminUrl]);
    expect(back.code).toBe(0);
    expect(back.json.outputs['stable-version']).toBe('v1');
  }, 120_000);

  it('a cancelled job puts traffic back on stable and a re-run resumes at the recorded step', async () => {
    const r = await startRouter(serves.v1!);
    const args = deploy(r, serves.v2!, 'v2', ['--steps', '30,100', ...SYNTH]);
    const child = spawn(NODE24, [CLI, ...args, '--json'], { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const routing = (await (await fetch(`${r.adminUrl}/routing`)).json()) as { weights: { canary: number } };
      if (routing.weights.canary === 30) break;
      if (Date.now() > deadline) throw new Error(`the canary never reached 30%\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(3);
    expect(stderr).toMatch(/cancelled at step 1 of 2: traffic is back on v1/);
    const routing = (await (await fetch(`${r.adminUrl}/routing`)).json()) as { weights: { stable: number; canary: number } };
    expect(routing.weights).toEqual({ stable: 100, canary: 0 });
    const state = (await (await fetch(`${r.adminUrl}/state`)).json()) as { data: { rollout: { phase: string }; lease: unknown } };
    expect(state.data.rollout.phase).toBe('interrupted');
    expect(state.data.lease).toBeNull();
    const resumed = await step(args);
    expect(resumed.code, `${resumed.json.headline}\n${resumed.stderr}`).toBe(0);
    const log = JSON.parse(resumed.json.outputs['decision-log']!) as { action: string; detail: string }[];
    expect(log[0]).toMatchObject({ action: 'resume' });
    expect(log[0]!.detail).toMatch(/interrupted rollout of v2 at step 1 of 2/);
  }, 120_000);
});
