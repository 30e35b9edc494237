// `ferry pipeline` with `pipeline.serve-with: podman` on a copy of examples/classifier: the images
// build-serving-image pushes to a real distribution registry (on the Ferry base that
// scripts/build-ferry-base.sh makes, standing in for the runtime's pinned image, since nothing can
// be pulled here) are what podman runs for stable and candidate, behind Ferry's router. What is
// asserted is what a user would notice: the containers run the images at the digests the report
// names (podman inspect), the benchmark, the judge and the clients were answered by them, v2 is
// promoted, and no container is left afterwards; a base that cannot run fails with exit 3 naming
// podman, and a cancelled run stops its containers, again leaving nothing behind. One run puts it
// all together: containers on the ports ferry.yml names, behind a real HAProxy, judged from a real
// Prometheus scraping them, with client traffic through HAProxy throughout.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePorts,
  makeBaseImage,
  podmanPush,
  requirePodman,
  runCommand,
  skopeoInspect,
  startHaproxy,
  startPrometheus,
  startRegistry,
  type RegistryComponent,
} from '../support/components/index.js';
import { copyExample, editFerryYml, EVERY_STEP_PASSED, readPipelineReport, runPipeline, startPipeline, stepVerdicts } from '../support/pipeline-project.js';
import { REPO_ROOT, requireBuilt, run } from '../support/repo.js';
import { answeredBy, answersNow, TrafficClient } from '../support/traffic-client.js';

const LABEL = 'ferry.dev/pipeline=classifier';
let dir: string;
let registry: RegistryComponent;
let podman: string;
/** OCI layout of the Ferry base image, built from this checkout. */
let base: string;

/** Containers the pipeline started (running or not): id → [version label, image digest]. */
async function pipelineContainers(): Promise<Map<string, { version: string; imageDigest: string; ports: string }>> {
  const ids = (await runCommand(podman, ['ps', '--all', '--quiet', '--no-trunc', '--filter', `label=${LABEL}`])).stdout.split('\n').filter(Boolean);
  const out = new Map<string, { version: string; imageDigest: string; ports: string }>();
  for (const id of ids) {
    const r = await runCommand(podman, ['inspect', '--format', '{{index .Config.Labels "ferry.dev/version"}} {{.ImageDigest}} {{json .NetworkSettings.Ports}}', id]);
    const [version = '', imageDigest = '', ...ports] = r.stdout.trim().split(' ');
    out.set(id, { version, imageDigest, ports: ports.join(' ') });
  }
  return out;
}

function servedByPodman(project: string, baseImage: string): void {
  editFerryYml(project, [
    ['  model-name: classifier\n', '  model-name: classifier\n  serve-with: podman\n'],
    ['build-serving-image:\n  runtime: ferry\n', `build-serving-image:\n  runtime: ferry\n  image: ${registry.host}/team/classifier\n  tags: v2\n  insecure-registry: true\n  base-image: ${baseImage}\n`],
  ]);
}

beforeAll(async () => {
  requireBuilt();
  podman = await requirePodman();
  dir = mkdtempSync(join(tmpdir(), 'ferry-pipeline-podman-'));
  base = join(dir, 'ferry-base');
  const [reg, built] = await Promise.all([startRegistry(), run('bash', [join(REPO_ROOT, 'scripts/build-ferry-base.sh'), '--output', base], { timeoutMs: 300_000 })]);
  registry = reg;
  if (built.code !== 0) throw new Error(`scripts/build-ferry-base.sh failed:\n${built.stderr}`);
}, 360_000);

afterAll(async () => {
  await registry?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('ferry pipeline with serve-with: podman', () => {
  it('promotes v2 served by its built image under podman: digests as reported, answers from the containers, nothing left', async () => {
    const project = copyExample(dir);
    servedByPodman(project, `oci:${base}:ferry-serve`);
    const p = startPipeline(['--working-directory', project, '--candidate', 'v2', '--keep-serving', '--quiet']);
    try {
      const serving = JSON.parse((await p.waitFor(/\{"event":"serving".*\}/, 240_000))[0]) as { url: string; containers: string[] };
      expect(p.stdout()).toMatch(/v2 \(v2\): PROMOTED/);
      const report = readPipelineReport(project);
      expect(report.exitCode).toBe(0);
      const r = report.candidates[0]!;
      expect(r.outcome).toBe('promoted');
      expect(stepVerdicts(r)).toEqual(EVERY_STEP_PASSED);
      expect(r.deployment.serveWith).toBe('podman');

      // The registry holds both images, at the digests the report names.
      const repo = `${registry.host}/team/classifier`;
      expect((await skopeoInspect(`${repo}:v2`)).Digest).toBe(r.image!.digest);
      expect((await skopeoInspect(`${repo}:v1`)).Digest).toBe(r.stableImage!.digest);
      expect(r.image!.image).toBe(`${repo}@${r.image!.digest}`);

      // podman runs exactly two containers for this run, each at the digest the report names for its version.
      const running = await pipelineContainers();
      const byVersion = Object.fromEntries([...running.values()].map((c) => [c.version, c]));
      expect(Object.keys(byVersion).sort()).toEqual(['v1', 'v2']);
      expect(byVersion.v2!.imageDigest).toBe(r.image!.digest);
      expect(byVersion.v1!.imageDigest).toBe(r.stableImage!.digest);
      const [candidate] = r.deployment.candidate.containers!;
      const [stable] = r.deployment.stable.containers!;
      expect(running.has(candidate!.id) && running.has(stable!.id)).toBe(true);
      expect(serving.containers.sort()).toEqual([stable!.name, candidate!.name].sort());
      // Each published on loopback, at the endpoint the pipeline used.
      expect(byVersion.v2!.ports).toContain(`"HostIp":"127.0.0.1","HostPort":"${new URL(candidate!.url).port}"`);
      expect(r.deployment.candidate.endpoints).toEqual([candidate!.url]);
      expect(r.deployment.stable.endpoints).toEqual([stable!.url]);

      // The benchmark measured the candidate's container, and the judge compared the two containers.
      expect(r.steps.find((s) => s.step === 'benchmark-on-gpu-runner')!.inputs?.endpoint).toBe(candidate!.url);
      expect(r.canary!.analysis).toEqual({ source: 'synthetic', endpoints: { stable: [stable!.url], canary: [candidate!.url] } });

      // Clients on the router are answered by v2 now, and the containers answer as their versions.
      const after = await Promise.all(Array.from({ length: 20 }, () => answeredBy(serving.url)));
      expect(new Set(after)).toEqual(new Set(['v2']));
      expect(await answeredBy(candidate!.url)).toBe('v2');
      expect(await answeredBy(stable!.url)).toBe('v1');

      p.kill('SIGTERM');
      expect(await p.exited).toBe(0);
      expect((await pipelineContainers()).size).toBe(0);
      expect(await answeredBy(candidate!.url)).toBe('failed');
    } finally {
      p.kill('SIGKILL');
      await runCommand(podman, ['rm', '--force', '--time', '0', '--filter', `label=${LABEL}`]);
    }
  }, 300_000);

  it('registry, podman, HAProxy and Prometheus in one run: the containers on the ports ferry.yml names, judged from Prometheus, v2 promoted', async () => {
    // Ports chosen beforehand, as an operator's Prometheus and HAProxy configuration would name them.
    const [stablePort, candidatePort] = await freePorts(2);
    const at = (port: number): string => `127.0.0.1:${port}`;
    const prometheus = await startPrometheus({ scrapeTargets: [at(stablePort!), at(candidatePort!)], scrapeInterval: '1s' });
    const haproxy = await startHaproxy({
      backends: [{ name: 'models', servers: [{ name: 'stable', address: at(stablePort!), weight: 100 }, { name: 'canary', address: at(candidatePort!), weight: 0 }] }],
    });
    const client = new TrafficClient(haproxy.url, 60);
    const project = copyExample(dir);
    const state = join(project, 'rollout-state.json');
    servedByPodman(project, `oci:${base}:ferry-serve`);
    editFerryYml(project, [
      ['stable: {version: v1, model-path: models/v1}', `stable: {version: v1, model-path: models/v1, port: ${stablePort}}`],
      ['v2: {model-path: models/v2,', `v2: {model-path: models/v2, port: ${candidatePort},`],
      ['canary-deploy:\n', `canary-deploy:\n  target: haproxy\n  haproxy-runtime: ${haproxy.adminSocket}\n  haproxy-backend: models\n  state-file: ${state}\n`],
      ['  analysis: synthetic\n', `  analysis: prometheus\n  prometheus-url: ${prometheus.url}\n`],
    ]);
    const p = startPipeline(['--working-directory', project, '--candidate', 'v2', '--keep-serving', '--quiet']);
    try {
      // Clients go through HAProxy the whole time; before stable's container is up they fail.
      client.start();
      const serving = JSON.parse((await p.waitFor(/\{"event":"serving".*\}/, 240_000))[0]) as { url?: string; endpoints: string[]; containers: string[] };
      client.stop();
      expect(p.stdout()).toMatch(/v2 \(v2\): PROMOTED/);
      const r = readPipelineReport(project).candidates[0]!;
      expect(stepVerdicts(r)).toEqual(EVERY_STEP_PASSED);
      // No router of its own on a configured target; the containers it started are what it keeps.
      expect(serving.url).toBeUndefined();
      expect(serving.endpoints.sort()).toEqual([`v1 http://${at(stablePort!)}`, `v2 http://${at(candidatePort!)}`]);

      // Each container runs its image at the digest the registry holds, published on the port ferry.yml names.
      const repo = `${registry.host}/team/classifier`;
      expect((await skopeoInspect(`${repo}:v2`)).Digest).toBe(r.image!.digest);
      expect((await skopeoInspect(`${repo}:v1`)).Digest).toBe(r.stableImage!.digest);
      const byVersion = Object.fromEntries([...(await pipelineContainers()).values()].map((c) => [c.version, c]));
      expect(byVersion.v2!.imageDigest).toBe(r.image!.digest);
      expect(byVersion.v1!.imageDigest).toBe(r.stableImage!.digest);
      expect(byVersion.v2!.ports).toContain(`"HostIp":"127.0.0.1","HostPort":"${candidatePort}"`);
      expect(byVersion.v1!.ports).toContain(`"HostIp":"127.0.0.1","HostPort":"${stablePort}"`);

      // The judge read Prometheus, which scraped the containers themselves.
      expect(r.canary!.analysis).toEqual({ source: 'prometheus', url: prometheus.url, metrics: 'ferry-serve' });
      expect(r.canary!.decisions.filter((d) => d.action === 'verified').map((d) => d.canary)).toEqual([10, 50, 100]);
      expect(new Set(r.canary!.looks.flatMap((l) => l.judgement.rows.map((row) => row.kind)))).toContain('latency');
      const counted = async (version: string): Promise<number> =>
        (await prometheus.query(`sum(ferry_serve_inference_request_duration_seconds_count{version="${version}"})`)).reduce((n, s) => n + s.value, 0);
      expect(await counted('v1')).toBeGreaterThan(0);
      expect(await counted('v2')).toBeGreaterThan(0);

      // Clients through HAProxy met both containers during the rollout, and only v2 after it.
      const seen = new Set(client.answers.map((a) => a.version));
      expect(seen).toContain('v1');
      expect(seen).toContain('v2');
      expect(await answersNow(haproxy.url)).toEqual(new Set(['v2']));
      const record = JSON.parse(readFileSync(state, 'utf8')) as { data: { stable: { name: string } } };
      expect(record.data.stable.name).toBe('v2');

      p.kill('SIGTERM');
      expect(await p.exited).toBe(0);
      expect((await pipelineContainers()).size).toBe(0);
    } finally {
      client.stop();
      p.kill('SIGKILL');
      await runCommand(podman, ['rm', '--force', '--time', '0', '--filter', `label=${LABEL}`]);
      await haproxy.stop();
      await prometheus.stop();
    }
  }, 360_000);

  it('SIGTERM mid-canary: exit 3, and the containers are gone', async () => {
    const project = copyExample(dir);
    servedByPodman(project, `oci:${base}:ferry-serve`);
    const p = startPipeline(['--working-directory', project, '--candidate', 'v2']);
    try {
      await Promise.all([p.waitFor(/podman: v1 runs /, 180_000), p.waitFor(/podman: v2 runs /, 180_000)]);
      await p.waitFor(/\[step 1\] verified: stable 90% \/ canary 10%/, 120_000);
      expect([...(await pipelineContainers()).values()].map((c) => c.version).sort()).toEqual(['v1', 'v2']);
      p.kill('SIGTERM');
      expect(await p.exited).toBe(3);
      expect(p.stdout()).toMatch(/v2 \(v2\): CANCELLED at canary-deploy/);
      expect((await pipelineContainers()).size).toBe(0);
    } finally {
      p.kill('SIGKILL');
      await runCommand(podman, ['rm', '--force', '--time', '0', '--filter', `label=${LABEL}`]);
    }
  }, 240_000);

  it('an image podman cannot run (a base without the server): exit 3 naming podman, no container left', async () => {
    const busybox = await makeBaseImage('no-server');
    const ref = `${registry.host}/base/busybox:1`;
    await podmanPush(busybox.ref, ref).finally(() => busybox.remove());
    const project = copyExample(dir);
    servedByPodman(project, ref);
    const out = await runPipeline(['--working-directory', project, '--candidate', 'v2', '--quiet']);
    expect(out.code, `${out.stdout}\n${out.stderr}`).toBe(3);
    const r = readPipelineReport(project).candidates[0]!;
    expect(r.outcome).toBe('infrastructure');
    expect(r.reason).toMatch(/podman .*v2's container/);
    expect(out.stdout).toMatch(/v2 \(v2\): FAILED \(infrastructure\) at benchmark-on-gpu-runner/);
    // It never reached users: no benchmark, no canary.
    expect(r.steps.map((s) => s.step)).toEqual(['validate-model', 'build-serving-image']);
    expect((await pipelineContainers()).size).toBe(0);
  }, 180_000);
});
