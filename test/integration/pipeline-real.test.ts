// `ferry pipeline` on a copy of examples/classifier whose ferry.yml points every step at real
// components on loopback: build-serving-image pushes to a real distribution registry (plain HTTP),
// canary-deploy moves traffic on a real HAProxy in front of real `ferry serve` processes and is
// judged from a real Prometheus scraping them. Client traffic flows through HAProxy the whole time.
// What is asserted is what a user would notice: v2 promoted with every client on v2, the registry
// holding the image at the digest the report names, the judge reading Prometheus; the slow
// candidate rejected at canary-deploy with clients back on v1.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skopeoInspect, skopeoRawManifest, startHaproxy, startPrometheus, startRegistry, type HaproxyComponent, type PrometheusComponent, type RegistryComponent } from '../support/components/index.js';
import { startFerryServe, stopFerryServes, type ServeProcess } from '../support/ferry-serve.js';
import { copyExample as copyFromExample, EVERY_STEP_PASSED, EXAMPLE, editFerryYml, readPipelineReport, runPipeline as runCli, stepVerdicts, type PipelineReport } from '../support/pipeline-project.js';
import { requireBuilt } from '../support/repo.js';
import { answersNow, TrafficClient } from '../support/traffic-client.js';

let dir: string;
let registry: RegistryComponent;
let prometheus: PrometheusComponent;
const serves: Record<string, ServeProcess> = {};

// Every server takes 20 ms a request on top of its model, like real compute, so the sub-millisecond
// wake-up noise of processes on two shared cores stays inside one Prometheus bucket (as in
// rollout-haproxy.test.ts); the slow model's own extra time is what the judge must catch.
const serve = (version: string): Promise<ServeProcess> =>
  startFerryServe(['--model-path', join(EXAMPLE, 'models', version), '--model-name', 'classifier', '--model-version', version, '--port', '0', '--inject-latency-ms', '20']);
const hostPort = (s: ServeProcess): string => `127.0.0.1:${s.port}`;

const copyExample = (): string => copyFromExample(dir);

/** The example's ferry.yml with only the targets changed: registry, HAProxy, Prometheus, running servers. */
function pointAtRealComponents(project: string, candidate: 'v2' | 'slow', haproxy: HaproxyComponent): { state: string; image: string } {
  const state = join(project, 'rollout-state.json');
  const image = `${registry.host}/team/classifier`;
  const text = editFerryYml(project, [
    ['stable: {version: v1, model-path: models/v1}', `stable: {version: v1, endpoints: [${serves.v1!.url}]}`],
    [`${candidate}: {model-path: models/${candidate},`, `${candidate}: {model-path: models/${candidate}, endpoints: [${serves[candidate]!.url}],`],
    ['build-serving-image:\n  runtime: ferry\n', `build-serving-image:\n  runtime: ferry\n  image: ${image}\n  tags: ${candidate}\n  insecure-registry: true\n  base-image: scratch\n`],
    ['canary-deploy:\n', `canary-deploy:\n  target: haproxy\n  haproxy-runtime: ${haproxy.adminSocket}\n  haproxy-backend: models\n  state-file: ${state}\n`],
    ['  analysis: synthetic\n', `  analysis: prometheus\n  prometheus-url: ${prometheus.url}\n`],
  ]);
  // Every edit took: the file the pipeline reads really names the real components.
  for (const part of [serves.v1!.url, serves[candidate]!.url, image, haproxy.adminSocket, prometheus.url]) expect(text).toContain(part);
  expect(text).not.toContain('analysis: synthetic');
  return { state, image };
}

async function haproxyFor(canary: ServeProcess): Promise<HaproxyComponent> {
  return startHaproxy({
    backends: [{ name: 'models', servers: [{ name: 'stable', address: hostPort(serves.v1!), weight: 100 }, { name: 'canary', address: hostPort(canary), weight: 0 }] }],
  });
}

const runPipeline = (project: string, candidate: string) => runCli(['--working-directory', project, '--candidate', candidate, '--quiet']);

const readReport = (project: string): PipelineReport => readPipelineReport(project);

/** Inference requests Prometheus counted for one version of ferry serve. */
async function promCount(version: string): Promise<number> {
  const samples = await prometheus.query(`sum(ferry_serve_inference_request_duration_seconds_count{version="${version}"})`);
  return samples.reduce((sum, r) => sum + r.value, 0);
}

beforeAll(async () => {
  requireBuilt();
  dir = mkdtempSync(join(tmpdir(), 'ferry-pipeline-real-'));
  const [v1, v2, slow] = await Promise.all([serve('v1'), serve('v2'), serve('slow')]);
  Object.assign(serves, { v1, v2, slow });
  [registry, prometheus] = await Promise.all([startRegistry(), startPrometheus({ scrapeTargets: Object.values(serves).map(hostPort), scrapeInterval: '1s' })]);
}, 120_000);

afterAll(async () => {
  await prometheus?.stop();
  await registry?.stop();
  await stopFerryServes();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('ferry pipeline on real components: registry, HAProxy, Prometheus', () => {
  it('promotes v2: the image is in the registry at the reported digest, the judge read Prometheus, every client ends on v2', async () => {
    const h = await haproxyFor(serves.v2!);
    const client = new TrafficClient(h.url, 100);
    try {
      const project = copyExample();
      const { state, image } = pointAtRealComponents(project, 'v2', h);
      client.start();
      const out = await runPipeline(project, 'v2');
      client.stop();
      expect(out.code, `${out.stdout}\n${out.stderr}`).toBe(0);
      expect(out.stdout).toMatch(/v2 \(v2\): PROMOTED/);
      // Nothing local was started: no ferry serve of its own, no router.
      expect(out.stderr).not.toMatch(/ferry serve: v\d on|router http/);

      const report = readReport(project);
      expect(report.exitCode).toBe(0);
      const run = report.candidates[0]!;
      expect(run.outcome).toBe('promoted');
      expect(run.deployment.kind).toBe('configured');
      expect(stepVerdicts(run)).toEqual(EVERY_STEP_PASSED);

      // The registry holds the image at the digest the report names (read back by skopeo).
      expect(run.image!.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(run.image!.image).toContain(image);
      // The tag ferry.yml asks for resolves to that digest, and the manifest bytes hash to it.
      expect((await skopeoInspect(`${image}:v2`)).Digest).toBe(run.image!.digest);
      const manifest = await skopeoRawManifest(`${image}@${run.image!.digest}`);
      expect(`sha256:${createHash('sha256').update(manifest).digest('hex')}`).toBe(run.image!.digest);

      // The judge's looks came from Prometheus: the step ran with analysis prometheus at our URL,
      // its looks have latency and error rows (no paired agreement rows, which only synthetic
      // analysis has), and Prometheus itself counted the canary's requests.
      const canaryStep = run.steps.find((s) => s.step === 'canary-deploy')!;
      expect(canaryStep.inputs?.analysis).toBe('prometheus');
      expect(canaryStep.inputs?.['prometheus-url']).toBe(prometheus.url);
      // The report says where the judge's data came from.
      expect(run.canary!.analysis).toEqual({ source: 'prometheus', url: prometheus.url, metrics: 'ferry-serve' });
      expect(run.canary!.decisions.filter((d) => d.action === 'verified').map((d) => d.canary)).toEqual([10, 50, 100]);
      expect(run.canary!.looks.length).toBeGreaterThanOrEqual(3);
      const kinds = new Set(run.canary!.looks.flatMap((l) => l.judgement.rows.map((r) => r.kind)));
      expect(kinds).toContain('latency');
      expect(kinds).not.toContain('quality');
      expect(await promCount('v2')).toBeGreaterThan(0);

      // Clients met both versions during the rollout, and after the promotion only v2.
      const seen = new Set(client.answers.map((a) => a.version));
      expect(seen).toContain('v1');
      expect(seen).toContain('v2');
      expect(await answersNow(h.url)).toEqual(new Set(['v2']));
      const record = JSON.parse(readFileSync(state, 'utf8')) as { data: { stable: { name: string }; previous: { name: string } } };
      expect([record.data.stable.name, record.data.previous.name]).toEqual(['v2', 'v1']);
    } finally {
      client.stop();
      await h.stop();
    }
  }, 150_000);

  it('rejects the slow candidate at canary-deploy on latency from Prometheus: clients go back to v1', async () => {
    const h = await haproxyFor(serves.slow!);
    const client = new TrafficClient(h.url, 100);
    try {
      const project = copyExample();
      pointAtRealComponents(project, 'slow', h);
      client.start();
      const out = await runPipeline(project, 'slow');
      client.stop();
      expect(out.code, `${out.stdout}\n${out.stderr}`).toBe(1);
      expect(out.stdout).toMatch(/slow \(slow\): REJECTED at canary-deploy/);

      const run = readReport(project).candidates[0]!;
      expect(run.outcome).toBe('rejected');
      expect(run.stoppedAt).toBe('canary-deploy');
      // The benchmark let it through; only the comparison with stable catches it.
      expect(run.steps.find((s) => s.step === 'benchmark-on-gpu-runner')!.verdict).toBe('pass');
      expect(run.steps.find((s) => s.step === 'canary-deploy')!.inputs?.analysis).toBe('prometheus');
      expect(run.canary!.phase).toBe('aborted');
      expect(run.canary!.finalWeights).toEqual({ v1: 100, slow: 0 });
      expect(run.canary!.decisions.map((d) => d.action)).toContain('rollback');
      const failed = run.canary!.looks.at(-1)!.judgement.rows.filter((r) => r.outcome === 'fail').map((r) => r.metric);
      expect(failed).toContain('latency');
      // The slow image was pushed too (the registry is not the gate), at the digest the report names.
      expect((await skopeoInspect(`${registry.host}/team/classifier:slow`)).Digest).toBe(run.image!.digest);

      // Some clients met the canary; after the abort nobody does.
      expect(new Set(client.answers.map((a) => a.version))).toContain('slow');
      expect(await answersNow(h.url)).toEqual(new Set(['v1']));
    } finally {
      client.stop();
      await h.stop();
    }
  }, 150_000);
});
