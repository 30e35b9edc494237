// canary-deploy, promote and rollback as users run them: the built CLI against a real HAProxy in
// front of real `ferry serve` processes, judged from a real Prometheus scraping them (or from
// paired synthetic load). Client traffic flows through HAProxy the whole time, and every answer's
// `model_version` is counted, so the split the test measures is the one users would get.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHaproxy, startPrometheus, type HaproxyComponent, type PrometheusComponent } from '../support/components/index.js';
import { makeSmokeModel, startFerryServe, stopFerryServes, type ServeProcess } from '../support/ferry-serve.js';
import { requirePython } from '../support/python.js';
import { cleanEnv, CLI, ferry, stepIn, NODE24, REPO_ROOT, requireBuilt, run, type StepJson, type StepRun } from '../support/repo.js';
import { TrafficClient } from '../support/traffic-client.js';


let dir: string;
let model: string;
let disagreeing: string;
const serves: Record<string, ServeProcess> = {};
let prometheus: PrometheusComponent;

// Every server takes 20 ms a request, like a real model's compute, so the sub-millisecond wake-up
// noise of a process on two shared cores stays inside one Prometheus bucket; the slow canary takes 60.
const serveArgs = (m: string, version: string, extra: string[] = ['--inject-latency-ms', '20']): string[] => ['--model-path', m, '--model-name', 'classifier', '--model-version', version, '--port', '0', ...extra];
const hostPort = (s: ServeProcess): string => `127.0.0.1:${s.port}`;

async function haproxyFor(canary: ServeProcess): Promise<HaproxyComponent> {
  return startHaproxy({
    backends: [
      {
        name: 'models',
        servers: [
          { name: 'stable', address: hostPort(serves.v1!), weight: 100 },
          { name: 'canary', address: hostPort(canary), weight: 0 },
        ],
      },
    ],
  });
}

function deployArgs(h: HaproxyComponent, stateFile: string, canary: string, version: string, extra: readonly string[] = []): string[] {
  return [
    'canary-deploy',
    '--target', 'haproxy',
    '--haproxy-runtime', h.adminSocket,
    '--haproxy-backend', 'models',
    '--state-file', stateFile,
    '--version', version,
    '--endpoints', canary,
    '--stable-version', 'v1',
    '--stable-endpoints', serves.v1!.url,
    '--model-name', 'classifier',
    ...extra,
  ];
}

const step = (args: readonly string[], timeoutMs = 180_000): Promise<StepRun> => stepIn(dir, args, timeoutMs);

interface LogEntry {
  at: string;
  step: number;
  canary: number;
  action: string;
  detail: string;
}

/** Each verified traffic change and when it took effect, from the step's decision-log output. */
function changes(out: StepJson): { at: number; canary: number }[] {
  const log = JSON.parse(out.outputs['decision-log'] ?? '[]') as LogEntry[];
  return log.filter((e) => e.action === 'verified' || e.action === 'rollback' || e.action === 'reapplied').map((e) => ({ at: Date.parse(e.at), canary: e.canary }));
}

/** The measured canary share of each traffic step after 300 ms of warm-up, against its weight. */
function expectSplitFollowsWeights(client: TrafficClient, canaryVersion: string, out: StepJson, until: number): void {
  const list = changes(out);
  expect(list.length).toBeGreaterThan(0);
  list.forEach((c, i) => {
    const end = list[i + 1]?.at ?? until;
    const { share, n } = client.share(canaryVersion, c.at + 300, end);
    if (n < 50) return; // a step too short to measure (the abort's own change at the very end)
    expect(Math.abs(share * 100 - c.canary), `canary share ${(share * 100).toFixed(1)}% over ${n} answers at weight ${c.canary}%`).toBeLessThanOrEqual(3);
  });
}

// Paired synthetic load at 40 pairs/s, planned to catch a 10-point agreement drop and 4 points of
// errors, so the tests below that are about faults, not the judge, need seconds of load, not minutes.
const SYNTH = ['--analysis', 'synthetic', '--synthetic-rate', '40', '--min-agreement', '0.9', '--latency-floor', '0.5', '--error-floor', '0.02', '--max-extensions', '4'];
const PROM = (p: PrometheusComponent): string[] => ['--analysis', 'prometheus', '--prometheus-url', p.url];
// Short bakes keep the suite quick; the client's 150 req/s gives the judge its samples. Floors a
// team with little traffic would pick: a 50% latency shift (the slow canary triples it) and one
// percentage point of errors (the erroring canary adds two).
const QUICK = ['--steps', '20,50,100', '--bake', '4s', '--max-extensions', '4', '--latency-floor', '0.5', '--error-floor', '0.01', '--verify-timeout', '5s'];

beforeAll(async () => {
  requireBuilt();
  dir = mkdtempSync(join(tmpdir(), 'ferry-rollout-'));
  model = await makeSmokeModel(dir);
  const made = await run(requirePython(), [join(REPO_ROOT, 'test/fixtures/make_canary_models.py'), dir], { timeoutMs: 120_000 });
  if (made.code !== 0) throw new Error(`make_canary_models.py failed:\n${made.stderr}`);
  disagreeing = join(dir, 'canary-rotated', 'model.onnx');
  const [v1, v2, slow, errors, disagree] = await Promise.all([
    startFerryServe(serveArgs(model, 'v1')),
    startFerryServe(serveArgs(model, 'v2')),
    startFerryServe(serveArgs(model, 'v2-slow', ['--inject-latency-ms', '60'])),
    startFerryServe(serveArgs(model, 'v2-errors', ['--inject-latency-ms', '20', '--inject-error-rate', '0.02', '--inject-seed', '7'])),
    startFerryServe(serveArgs(disagreeing, 'v2-disagree')),
  ]);
  Object.assign(serves, { v1, v2, slow, errors, disagree });
  prometheus = await startPrometheus({ scrapeTargets: Object.values(serves).map(hostPort), scrapeInterval: '1s' });
}, 240_000);

afterAll(async () => {
  await prometheus?.stop();
  await stopFerryServes();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('rollouts on a real HAProxy, judged from a real Prometheus', () => {
  it('promotes a good canary step by step, with the measured split following the weights; promote and rollback verify and are idempotent', async () => {
    const h = await haproxyFor(serves.v2!);
    const client = new TrafficClient(h.url, 150);
    const state = join(dir, 'good.rollout.json');
    try {
      client.start();
      const out = await step(deployArgs(h, state, serves.v2!.url, 'v2', [...QUICK, ...PROM(prometheus)]));
      expect(out.code, `${out.json.headline}\n${out.stderr}`).toBe(0);
      expect(out.json.verdict).toBe('pass');
      expect(out.json.outputs.phase).toBe('completed');
      expect(out.json.outputs['previous-version']).toBe('v1');
      expect(JSON.parse(out.json.outputs['final-weights']!)).toEqual({ v1: 0, v2: 100 });
      expectSplitFollowsWeights(client, 'v2', out.json, Date.now());
      expect((out.json.report ?? []).map((s) => s.heading)).toEqual(expect.arrayContaining(['Rollout', 'Judge', 'Decision log']));
      // Charts of the weights and of both versions' p95 at each look, for the PR comment.
      expect(JSON.stringify(out.json.report)).toMatch(/Latency p95 \(ms\) at each look.*Canary weight \(%\) at each traffic change/s);

      const again = await step(deployArgs(h, state, serves.v2!.url, 'v2', [...QUICK, ...PROM(prometheus)]));
      expect(again.code).toBe(0);
      expect(again.json.headline).toMatch(/nothing to do/);

      const promoted = await step(['promote', '--target', 'haproxy', '--haproxy-runtime', h.adminSocket, '--state-file', state, '--version', 'v2']);
      expect(promoted.code, promoted.stderr).toBe(0);
      expect(promoted.json.outputs['stable-version']).toBe('v2');
      expect(promoted.json.outputs['previous-version']).toBe('v1');
      const afterPromote = Date.now();
      await new Promise((r) => setTimeout(r, 1500));
      expect(client.share('v2', afterPromote + 300, Date.now()).share).toBe(1);
      const twice = await step(['promote', '--target', 'haproxy', '--haproxy-runtime', h.adminSocket, '--state-file', state]);
      expect(twice.code).toBe(0);
      expect(twice.json.headline).toMatch(/already promoted/);

      const back = await step(['rollback', '--target', 'haproxy', '--haproxy-runtime', h.adminSocket, '--state-file', state]);
      expect(back.code, back.stderr).toBe(0);
      expect(back.json.outputs['stable-version']).toBe('v1');
      expect(back.json.outputs['rolled-back-from']).toBe('v2');
      console.log(`rollback after promotion, HAProxy: ${back.json.outputs['rollback-ms']} ms to verified 100% v1`);
      const afterRollback = Date.now();
      await new Promise((r) => setTimeout(r, 1500));
      const post = client.answers.filter((a) => a.t >= afterRollback + 300);
      expect(client.share('v1', afterRollback + 300, Date.now()).share, JSON.stringify(post.filter((a) => a.version !== 'v1').slice(0, 5)) + ' of ' + post.length).toBe(1);
      const noop = await step(['rollback', '--target', 'haproxy', '--haproxy-runtime', h.adminSocket, '--state-file', state]);
      expect(noop.code).toBe(0);
      expect(noop.json.headline).toMatch(/nothing to do/);
    } finally {
      client.stop();
      await h.stop();
    }
  }, 240_000);

  it.each([
    ['slow', 'v2-slow', 'latency'],
    ['errors', 'v2-errors', 'error'],
  ] as const)('aborts a bad canary (%s) and puts 100%% of traffic back on stable', async (key, version, reason) => {
    const canary = serves[key]!;
    const h = await haproxyFor(canary);
    const client = new TrafficClient(h.url, 150);
    try {
      client.start();
      const out = await step(deployArgs(h, join(dir, `${key}.rollout.json`), canary.url, version, [...QUICK, ...PROM(prometheus)]));
      expect(out.code, `${out.json.headline}\n${out.stderr}`).toBe(1);
      expect(out.json.verdict).toBe('fail');
      expect(out.json.outputs.phase).toBe('aborted');
      expect(out.json.headline).toMatch(new RegExp(reason, 'i'));
      expect(JSON.parse(out.json.outputs['final-weights']!)).toEqual({ v1: 100, [version]: 0 });
      console.log(`abort of ${version} on HAProxy: ${out.json.outputs['rollback-ms']} ms from decision to verified 100% stable`);
      expect(Number(out.json.outputs['rollback-ms'])).toBeGreaterThan(0);
      const aborted = Date.now();
      expectSplitFollowsWeights(client, version, out.json, aborted);
      await new Promise((r) => setTimeout(r, 1500));
      expect(client.share('v1', aborted + 300, Date.now()).share).toBe(1);
    } finally {
      client.stop();
      await h.stop();
    }
  }, 240_000);

  it('aborts a canary whose predictions disagree, judged on paired synthetic requests', async () => {
    const h = await haproxyFor(serves.disagree!);
    try {
      const out = await step(deployArgs(h, join(dir, 'disagree.rollout.json'), serves.disagree!.url, 'v2-disagree', [...QUICK, '--analysis', 'synthetic', '--synthetic-rate', '40']));
      expect(out.code, `${out.json.headline}\n${out.stderr}`).toBe(1);
      expect(out.json.outputs.phase).toBe('aborted');
      expect(out.json.headline).toMatch(/agreement/i);
    } finally {
      await h.stop();
    }
  }, 240_000);
});

describe('rollout faults', () => {
  it('Prometheus stopped mid-rollout: no promotion, traffic back on stable, exit 3', async () => {
    const own = await startPrometheus({ scrapeTargets: [hostPort(serves.v1!), hostPort(serves.v2!)], scrapeInterval: '1s' });
    const h = await haproxyFor(serves.v2!);
    const client = new TrafficClient(h.url, 60);
    const state = join(dir, 'prom-down.rollout.json');
    try {
      client.start();
      const child = ferry(deployArgs(h, state, serves.v2!.url, 'v2', ['--steps', '20,50,100', '--bake', '3s', '--max-extensions', '1', ...PROM(own), '--json']), { cwd: dir, timeoutMs: 120_000 });
      await waitForRecord(state, (r) => r.rollout?.weights.canary === 20);
      await own.stop();
      const out = await child;
      const json = JSON.parse(out.stdout) as StepJson;
      expect(out.code, out.stderr).toBe(3);
      expect(json.error ?? out.stderr).toMatch(/could not be reached|unreachable|cannot be reached/i);
      const record = readRecord(state);
      expect(record.rollout?.phase).toBe('aborted');
      expect(record.rollout?.weights).toEqual({ stable: 100, canary: 0 });
      expect(record.stable?.name).toBe('v1');
      const after = Date.now();
      await new Promise((r) => setTimeout(r, 1000));
      expect(client.share('v1', after, Date.now()).share).toBe(1);
    } finally {
      client.stop();
      await h.stop();
      await own.stop().catch(() => undefined);
    }
  }, 180_000);

  it('a job killed at each state resumes when re-run, a finished one is a no-op, and on-resume=abort goes back to stable', async () => {
    const h = await haproxyFor(serves.v2!);
    const state = join(dir, 'killed.rollout.json');
    const args = deployArgs(h, state, serves.v2!.url, 'v2', ['--steps', '20,50,100', '--bake', '3s', ...SYNTH]);
    try {
      // Killed right after the rollout was recorded, before any traffic moved.
      await killWhen(args, state, (r) => r.decisions.some((d) => d.action === 'start'));
      // Killed mid-bake at the second step.
      await killWhen(args, state, (r) => r.rollout?.step === 1 && r.decisions.some((d) => d.action === 'verified' && d.step === 2));
      expect(readRecord(state).rollout?.phase).toBe('progressing');
      const resumed = await step(args);
      expect(resumed.code, `${resumed.json.headline}\n${resumed.stderr}`).toBe(0);
      const log = JSON.parse(resumed.json.outputs['decision-log']!) as LogEntry[];
      expect(log[0]!.action).toBe('resume');
      expect(log[0]!.detail).toMatch(/at step 2 of 3/);
      expect(log.filter((e) => e.action === 'verified').map((e) => e.canary)).toEqual([50, 100]);
      const noop = await step(args);
      expect(noop.code).toBe(0);
      expect(noop.json.headline).toMatch(/nothing to do/);

      // A fresh rollout killed mid-way, re-run with on-resume=abort: back to stable, recorded.
      await step(['rollback', '--target', 'haproxy', '--haproxy-runtime', h.adminSocket, '--state-file', state, '--to-version', 'v1']);
      const args3 = deployArgs(h, state, serves.slow!.url, 'v3', ['--steps', '20,50,100', '--bake', '3s', ...SYNTH]);
      await killWhen(args3, state, (r) => r.rollout?.canary.name === 'v3' && r.rollout.weights.canary === 20);
      expect((await h.runtime('get weight models/canary')).trim()).toMatch(/^20 /);
      const aborted = await step([...args3, '--on-resume', 'abort']);
      expect(aborted.code).toBe(1);
      expect(aborted.json.outputs.phase).toBe('aborted');
      expect((await h.runtime('get weight models/canary')).trim()).toMatch(/^0 /);
    } finally {
      await h.stop();
    }
  }, 240_000);

  it('a second canary-deploy on the same target while one runs refuses, naming the holder', async () => {
    const h = await haproxyFor(serves.v2!);
    const state = join(dir, 'concurrent.rollout.json');
    const args = deployArgs(h, state, serves.v2!.url, 'v2', ['--steps', '20,100', '--bake', '3s', ...SYNTH]);
    try {
      const first = ferry([...args, '--json'], { cwd: dir, timeoutMs: 120_000 });
      await waitForRecord(state, (r) => r.lease !== null && r.rollout !== null);
      const second = await step(args);
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(/another rollout job is working on HAProxy.*holds it since/s);
      const other = await step(deployArgs(h, join(dir, 'concurrent.rollout.json'), serves.slow!.url, 'v9', ['--analysis', 'synthetic']));
      expect(other.code).toBe(2);
      const done = await first;
      expect(done.code, done.stderr).toBe(0);
    } finally {
      await h.stop();
    }
  }, 180_000);

  it('HAProxy restarted mid-step: the lost weights are re-applied and the rollout goes on', async () => {
    const h = await haproxyFor(serves.v2!);
    const state = join(dir, 'restart.rollout.json');
    const client = new TrafficClient(h.url, 60);
    try {
      client.start();
      const child = ferry([...deployArgs(h, state, serves.v2!.url, 'v2', ['--steps', '30,100', '--bake', '5s', ...SYNTH]), '--json'], { cwd: dir, timeoutMs: 120_000 });
      await waitForRecord(state, (r) => r.rollout?.weights.canary === 30);
      await h.restart();
      const out = await child;
      const json = JSON.parse(out.stdout) as StepJson;
      expect(out.code, `${json.headline}\n${out.stderr}`).toBe(0);
      const log = JSON.parse(json.outputs['decision-log']!) as LogEntry[];
      const reapplied = log.find((e) => e.action === 'reapplied');
      expect(reapplied?.detail).toMatch(/stable 100% \/ canary 0%.*re-applied/);
      expect(reapplied?.canary).toBe(30);
    } finally {
      client.stop();
      await h.stop();
    }
  }, 180_000);
});

interface RecordShape {
  stable: { name: string } | null;
  lease: unknown;
  rollout: { step: number; phase: string; weights: { stable: number; canary: number }; canary: { name: string } } | null;
  decisions: { action: string; step: number }[];
}

function readRecord(path: string): RecordShape {
  return (JSON.parse(readFileSync(path, 'utf8')) as { data: RecordShape }).data;
}

async function waitForRecord(path: string, ok: (r: RecordShape) => boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(path)) {
      let record: RecordShape | undefined;
      try {
        record = readRecord(path);
      } catch {
        // the file is renamed into place whole; a read racing the first write may find nothing
      }
      if (record && ok(record)) return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the rollout record at ${path} never reached the state waited for`);
}

/** Runs canary-deploy and SIGKILLs it once the record shows `when` (no chance to clean up). */
async function killWhen(args: readonly string[], state: string, when: (r: RecordShape) => boolean): Promise<void> {
  const child = spawn(NODE24, [CLI, ...args, '--json'], { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  try {
    await waitForRecord(state, (r) => {
      if (when(r)) return true;
      if (gone) throw new Error(`canary-deploy ended before the state the test kills it at:\n${output}`);
      return false;
    });
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}
