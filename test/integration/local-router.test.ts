// The local router and its rollout target against real `ferry serve` processes: the split as
// measured from answers, sticky keys, mirrored copies and their paired outputs, per-version
// metrics, the rollout record's compare-and-set, restarts, refusals, SSE streaming, and the
// `ferry router` command as users run it.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalRouterTarget, ROUTER_LATENCY_BUCKETS, startRouter, type RouterOptions, type RunningRouter } from '../../packages/rollout/src/targets/local/index.js';
import { StateConflictError } from '../../packages/rollout/src/state/store.js';
import { TargetUnavailableError, weightsFor, type VersionRef } from '../../packages/rollout/src/target/types.js';
import { freePort } from '../support/components/index.js';
import { parseExposition, sampleValue, type Exposition } from '../support/exposition.js';
import { makeSmokeModel, startFerryServe, stopFerryServes, type ServeProcess } from '../support/ferry-serve.js';
import { cleanEnv, CLI, NODE24, requireBuilt } from '../support/repo.js';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.js';

let dir: string;
/** `ferry serve` answering model_version 1 (stable) and 2 (the canary). */
let v1: ServeProcess;
let v2: ServeProcess;
let scripted: ScriptedServer;
let stable: VersionRef;
let canary: VersionRef;
const routers: RunningRouter[] = [];
const targets: LocalRouterTarget[] = [];

beforeAll(async () => {
  requireBuilt();
  dir = await mkdtemp(join(tmpdir(), 'ferry-local-router-'));
  const model = await makeSmokeModel(join(dir, 'model'));
  // --workers 0: the tiny model runs on the HTTP thread, the least load on a 2-core runner.
  const serve = (version: string) => startFerryServe(['--model-path', model, '--model-name', 'classifier', '--model-version', version, '--port', '0', '--workers', '0', '--quiet']);
  [v1, v2, scripted] = await Promise.all([serve('1'), serve('2'), startScriptedServer()]);
  stable = { name: '1', endpoints: [v1.url] };
  canary = { name: '2', endpoints: [v2.url] };
});

afterEach(async () => {
  await Promise.all(targets.splice(0).map((t) => t.close()));
  await Promise.all(routers.splice(0).map((r) => r.close()));
});

afterAll(async () => {
  await stopFerryServes();
  await scripted?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

let stateDirs = 0;
/** A router on a fresh state directory (unless one is given), closed after the test. */
async function router(options: Partial<RouterOptions> = {}): Promise<{ router: RunningRouter; target: LocalRouterTarget; stateDir: string }> {
  const stateDir = options.stateDir ?? join(dir, `state-${++stateDirs}`);
  const r = await startRouter({ port: 0, adminPort: 0, stateDir, stable, ...options });
  routers.push(r);
  const target = new LocalRouterTarget({ adminUrl: r.adminUrl, ...(options.token ? { token: options.token } : {}) });
  targets.push(target);
  return { router: r, target, stateDir };
}

const features = (i: number) => ({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [Math.sin(i), Math.cos(i), (i % 7) - 3, 0.25] }] });

interface Answer {
  readonly status: number;
  /** x-ferry-version */
  readonly version: string | null;
  readonly slot: string | null;
  readonly body: Record<string, unknown>;
}

/** Sends `total` inferences through the router, 10 at a time. */
async function infer(url: string, total: number, headers: (i: number) => Record<string, string> = () => ({})): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let sent = 0; sent < total; sent += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, total - sent) }, async (_, k) => {
        const i = sent + k;
        const res = await fetch(`${url}/v2/models/classifier/infer`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers(i) }, body: JSON.stringify(features(i)) });
        return { status: res.status, version: res.headers.get('x-ferry-version'), slot: res.headers.get('x-ferry-slot'), body: (await res.json()) as Record<string, unknown> };
      }),
    );
    answers.push(...batch);
  }
  return answers;
}

/** GETs `path` through the router, 20 at a time: cheap requests for tests that need many. */
async function gets(url: string, total: number, headers: (i: number) => Record<string, string>): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let sent = 0; sent < total; sent += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, total - sent) }, async (_, k) => {
        const res = await fetch(`${url}/v2/health/ready`, { headers: headers(sent + k) });
        await res.arrayBuffer();
        return { status: res.status, version: res.headers.get('x-ferry-version'), slot: res.headers.get('x-ferry-slot'), body: {} };
      }),
    );
    answers.push(...batch);
  }
  return answers;
}

function count(answers: readonly Answer[], version: string): number {
  return answers.filter((a) => a.version === version).length;
}

async function metrics(base: string, token?: string): Promise<Exposition> {
  const res = await fetch(`${base}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  expect(res.status).toBe(200);
  return parseExposition(await res.text(), 'prometheus');
}

async function admin(r: RunningRouter, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${r.adminUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function pollUntil<T>(what: string, fn: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('weighted routing', () => {
  it('splits exactly by weight (5/25/50/100), labels every answer, and counts each version in /metrics', async () => {
    const { router: r, target } = await router();
    await target.setVersion('canary', canary);
    const sent: Record<string, number> = { '1': 0, '2': 0 };
    for (const weight of [5, 25, 50, 100]) {
      await target.setRouting(weightsFor(weight), { kind: 'weighted' });
      expect((await target.readRouting()).weights).toEqual(weightsFor(weight));
      const answers = await infer(r.url, 200);
      for (const a of answers) {
        expect(a.status).toBe(200);
        // The header names the version whose server answered.
        expect(a.body.model_version).toBe(a.version);
        expect(a.slot).toBe(a.version === '2' ? 'canary' : 'stable');
        sent[a.version!] = (sent[a.version!] ?? 0) + 1;
      }
      expect(Math.abs(count(answers, '2') / answers.length - weight / 100), `canary ${weight}%`).toBeLessThanOrEqual(0.03);
    }
    const m = await metrics(r.adminUrl);
    expect(sampleValue(m, 'ferry_router_requests_total', { slot: 'stable', version: '1', code: '200' })).toBe(sent['1']);
    expect(sampleValue(m, 'ferry_router_requests_total', { slot: 'canary', version: '2', code: '200' })).toBe(sent['2']);
    expect(sampleValue(m, 'ferry_router_request_duration_seconds_count', { slot: 'canary', version: '2' })).toBe(sent['2']);
    expect(sampleValue(m, 'ferry_router_weight', { slot: 'canary', version: '2' })).toBe(100);
    expect(sampleValue(m, 'ferry_router_weight', { slot: 'stable', version: '1' })).toBe(0);
  });

  it('has series at zero for a version as soon as it is set, with fine latency buckets', async () => {
    const { router: r, target } = await router();
    await target.setVersion('canary', { name: 'fresh', endpoints: [v2.url] });
    const m = await metrics(r.adminUrl);
    expect(m.samples.some((s) => s.name === 'ferry_router_requests_total' && s.labels.version === 'fresh' && s.value === 0)).toBe(true);
    expect(sampleValue(m, 'ferry_router_request_duration_seconds_count', { slot: 'canary', version: 'fresh' })).toBe(0);
    expect(sampleValue(m, 'ferry_router_weight', { slot: 'canary', version: 'fresh' })).toBe(0);
    expect(m.types.get('ferry_router_mirrored_request_duration_seconds')).toBe('histogram');
    const bounds = m.samples.filter((s) => s.name === 'ferry_router_request_duration_seconds_bucket' && s.labels.version === 'fresh').map((s) => Number(s.labels.le));
    expect(bounds.length - 1).toBeLessThanOrEqual(40);
    expect(bounds[0]).toBeCloseTo(0.0005, 6);
    expect(bounds.at(-2)).toBe(60);
    for (let i = 1; i < ROUTER_LATENCY_BUCKETS.length; i++) expect(ROUTER_LATENCY_BUCKETS[i]! / ROUTER_LATENCY_BUCKETS[i - 1]!).toBeLessThanOrEqual(1.5);
  });

  it('answers 502 naming the slot when an upstream refuses, and counts it as an error of that version', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const { router: r } = await router({ stable: { name: 'gone', endpoints: [dead] } });
    const res = await fetch(`${r.url}/v2/health/ready`);
    expect(res.status).toBe(502);
    expect(res.headers.get('x-ferry-version')).toBe('gone');
    const body = (await res.json()) as { error: string };
    expect(body.error).toMatch(/stable upstream .* \(version gone\) refused or reset/);
    const m = await metrics(r.adminUrl);
    expect(sampleValue(m, 'ferry_router_requests_total', { slot: 'stable', version: 'gone', code: '502' })).toBe(1);
  });

  it('streams SSE through chunk by chunk', async () => {
    const { router: r } = await router({ stable: { name: 'llm', endpoints: [scripted.url] } });
    const itl = 80;
    const tokens = 6;
    // Each content event's arrival time at the client; a buffering proxy would deliver them all at once.
    const arrivals = await new Promise<number[]>((resolve, reject) => {
      const times: number[] = [];
      const req = httpRequest(`${r.url}/v1/completions?ttft=20&itl=${itl}&tokens=${tokens}&usage=0`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        expect(res.headers['content-type']).toBe('text/event-stream');
        expect(res.headers['x-ferry-version']).toBe('llm');
        let buffered = '';
        res.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          const events = buffered.split('\n\n');
          buffered = events.pop() ?? '';
          for (const e of events) if (e.startsWith('data: {')) times.push(performance.now());
        });
        res.on('end', () => resolve(times));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end('{"prompt":"hi"}');
    });
    expect(arrivals).toHaveLength(tokens);
    // The upstream sends the chunks itl apart and never sooner: seen that far apart, they were not held back.
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual((tokens - 1) * itl * 0.8);
  });
});

describe('sticky routing (A/B)', () => {
  it('keeps each key on one version, gives the canary its share of keys, and sends keyless requests to stable', async () => {
    const { router: r, target } = await router();
    await target.setVersion('canary', canary);
    await target.setRouting(weightsFor(25), { kind: 'sticky', header: 'X-User' });
    expect((await target.readRouting()).routing).toEqual({ kind: 'sticky', header: 'X-User' });
    const keys = 1000;
    const first = await gets(r.url, keys, (i) => ({ 'x-user': `user-${i}` }));
    expect(Math.abs(count(first, '2') / keys - 0.25)).toBeLessThanOrEqual(0.03);
    const again = await gets(r.url, 200, (i) => ({ 'x-user': `user-${i}` }));
    expect(again.map((a) => a.version)).toEqual(first.slice(0, 200).map((a) => a.version));
    expect(count(await gets(r.url, 40, () => ({})), '1')).toBe(40);
    // Raising the weight only moves keys to the canary: nobody on the canary goes back.
    await target.setRouting(weightsFor(50), { kind: 'sticky', header: 'X-User' });
    const wider = await gets(r.url, keys, (i) => ({ 'x-user': `user-${i}` }));
    expect(Math.abs(count(wider, '2') / keys - 0.5)).toBeLessThanOrEqual(0.03);
    first.forEach((a, i) => {
      if (a.version === '2') expect(wider[i]!.version).toBe('2');
    });
  });

  it('keys by cookie', async () => {
    const { router: r, target } = await router();
    await target.setVersion('canary', canary);
    await target.setRouting(weightsFor(50), { kind: 'sticky', cookie: 'ferry-user' });
    const first = await gets(r.url, 100, (i) => ({ cookie: `theme=dark; ferry-user=u${i}` }));
    const again = await gets(r.url, 100, (i) => ({ cookie: `ferry-user=u${i}` }));
    expect(again.map((a) => a.version)).toEqual(first.map((a) => a.version));
    expect(count(first, '2')).toBeGreaterThan(30);
    expect(count(first, '2')).toBeLessThan(70);
  });
});

describe('mirror routing (shadow)', () => {
  it('answers only from stable, copies the asked share to the canary, and records paired outputs', async () => {
    const { router: r, target } = await router();
    await target.setVersion('canary', canary);
    const canaryServed = async (): Promise<number> => sampleValue(await metrics(v2.url), 'ferry_serve_inference_requests_total', { model: 'classifier', version: '2', code: '200' });
    const before = await canaryServed();
    const since = Date.now();
    await target.setRouting({ stable: 100, canary: 0 }, { kind: 'mirror', percent: 50 });
    const answers = await infer(r.url, 40);
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.version).toBe('1');
      expect(a.body.model_version).toBe('1');
    }
    // The copies run in the background: wait for the canary to have served exactly half.
    await pollUntil('canary inferences', async () => (await canaryServed()) - before, (n) => n === 20);
    const pairs = await pollUntil('mirror pairs', () => target.mirrorPairs(since), (p) => p.length === 20);
    for (const p of pairs) {
      expect(p.t).toBeGreaterThanOrEqual(since);
      expect(p.stable).toHaveLength(3);
      // Same model in both slots: the outputs agree.
      expect(p.canary).toEqual(p.stable);
    }
    expect(await target.mirrorPairs(Date.now() + 60_000)).toEqual([]);
    const m = await metrics(r.adminUrl);
    expect(sampleValue(m, 'ferry_router_mirrored_requests_total', { version: '2', code: '200' })).toBe(20);
    expect(sampleValue(m, 'ferry_router_mirrored_request_duration_seconds_count', { version: '2' })).toBe(20);
    expect(sampleValue(m, 'ferry_router_requests_total', { slot: 'stable', version: '1', code: '200' })).toBe(40);
    expect(sampleValue(m, 'ferry_router_requests_total', { slot: 'canary', version: '2', code: '200' })).toBe(0);
  });

  it('a canary that refuses its copies never touches the answers clients get', async () => {
    const { router: r, target } = await router();
    await target.setVersion('canary', { name: 'down', endpoints: [`http://127.0.0.1:${await freePort()}`] });
    const since = Date.now();
    await target.setRouting({ stable: 100, canary: 0 }, { kind: 'mirror', percent: 100 });
    const answers = await infer(r.url, 10);
    expect(answers.map((a) => `${a.status} ${a.version}`)).toEqual(Array.from({ length: 10 }, () => '200 1'));
    await pollUntil('failed copies', async () => sampleValue(await metrics(r.adminUrl), 'ferry_router_mirrored_requests_total', { version: 'down', code: '502' }), (n) => n === 10);
    expect(await target.mirrorPairs(since)).toEqual([]);
  });
});

describe('the rollout record', () => {
  it('is compare-and-set: of two writers from the same revision one wins, the other gets StateConflictError', async () => {
    const { router: r, target, stateDir } = await router();
    expect(await target.state.read()).toBeNull();
    expect(await target.state.write({ step: 0 }, 0)).toBe(1);
    const other = new LocalRouterTarget({ adminUrl: r.adminUrl });
    targets.push(other);
    const [a, b] = await Promise.allSettled([target.state.write({ writer: 'a' }, 1), other.state.write({ writer: 'b' }, 1)]);
    const won = [a, b].filter((s) => s.status === 'fulfilled');
    const lost = [a, b].filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toBeInstanceOf(StateConflictError);
    expect((lost[0]!.reason as StateConflictError).found).toBe(2);
    const record = await other.state.read();
    expect(record?.revision).toBe(2);
    // The record is the router's file, where the next job (or a restarted router) finds it.
    expect(JSON.parse(await readFile(join(stateDir, 'rollout.json'), 'utf8'))).toMatchObject({ revision: 2, data: record!.data });
  });
});

describe('restarts', () => {
  it('a router restarted on the same state directory keeps its split and versions', async () => {
    const { router: first, target, stateDir } = await router();
    await target.setVersion('canary', canary);
    await target.setRouting(weightsFor(30), { kind: 'weighted' });
    await target.close();
    await first.close();
    // A stable version given at start does not override the stored split.
    const { router: second, target: again } = await router({ stateDir, stable: { name: 'other', endpoints: [v2.url] } });
    const live = await again.readRouting();
    expect(live.weights).toEqual(weightsFor(30));
    expect(live.versions).toEqual({ stable, canary });
    expect(live.endpoints).toEqual({ stable: [v1.url], canary: [v2.url] });
    const answers = await gets(second.url, 100, () => ({}));
    expect(count(answers, '2')).toBe(30);
  });
});

describe('refusals', () => {
  it.each([
    ['weights not summing to 100', { weights: { stable: 60, canary: 30 }, routing: { kind: 'weighted' } }, /weights must sum to 100, got stable 60 \+ canary 30 = 90/],
    ['a fractional weight', { weights: { stable: 87.5, canary: 12.5 }, routing: { kind: 'weighted' } }, /weights\.stable must be a whole percent/],
    ['an unknown routing kind', { weights: { stable: 100, canary: 0 }, routing: { kind: 'random' } }, /routing\.kind must be one of weighted, sticky, mirror; got "random"/],
    ['sticky without header or cookie', { weights: { stable: 90, canary: 10 }, routing: { kind: 'sticky' } }, /sticky routing needs a "header" or a "cookie"/],
    ['mirror without a canary', { weights: { stable: 100, canary: 0 }, routing: { kind: 'mirror', percent: 10 } }, /mirror routing .* canary slot has no version/],
    ['mirror with canary weight', { weights: { stable: 90, canary: 10 }, routing: { kind: 'mirror', percent: 10 } }, /weights must be stable 100 \/ canary 0/],
    ['a mirror percent over 100', { weights: { stable: 100, canary: 0 }, routing: { kind: 'mirror', percent: 150 } }, /routing\.percent must be a number in \[0, 100\], got 150/],
    ['canary weight with no canary endpoints', { weights: { stable: 90, canary: 10 }, routing: { kind: 'weighted' } }, /weights\.canary is 10 but the canary slot has no version/],
    ['a body that is not JSON', '{"weights":', /request body is not valid JSON/],
  ])('PUT /routing with %s: 400 with the reason', async (_name, body, message) => {
    const { router: r } = await router();
    const answer = await admin(r, 'PUT', '/routing', body);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatch(message);
    // Nothing changed.
    expect((await admin(r, 'GET', '/routing')).body.weights).toEqual({ stable: 100, canary: 0 });
  });

  it.each([
    ['an endpoint that is not a URL', { version: { name: '3', endpoints: ['localhost:80'] } }, 400, /version\.endpoints\[0\] must be an http:\/\/ or https:\/\/ URL/],
    ['no endpoints', { version: { name: '3', endpoints: [] } }, 400, /version\.endpoints must be a non-empty list/],
    ['no name', { version: { endpoints: ['http://127.0.0.1:1'] } }, 400, /version\.name must be a non-empty string/],
  ])('PUT /slots/canary with %s: %i with the reason', async (_name, body, status, message) => {
    const { router: r } = await router();
    const answer = await admin(r, 'PUT', '/slots/canary', body);
    expect(answer.status).toBe(status);
    expect(answer.body.error).toMatch(message);
  });

  it('refuses (409) to repoint a slot that carries traffic, and the target reports it as TargetUnavailableError', async () => {
    const { router: r, target } = await router();
    await target.setVersion('canary', canary);
    await target.setRouting(weightsFor(10), { kind: 'weighted' });
    const answer = await admin(r, 'PUT', '/slots/canary', { version: { name: '3', endpoints: [v1.url] } });
    expect(answer.status).toBe(409);
    expect(answer.body.error).toMatch(/canary slot carries 10% of traffic \(version 2\); set its weight to 0/);
    // Relabelling the same endpoints moves no traffic, so it is allowed.
    expect((await admin(r, 'PUT', '/slots/canary', { version: { name: '2b', endpoints: [v2.url] } })).status).toBe(200);
    await expect(target.setVersion('stable', canary)).rejects.toThrow(TargetUnavailableError);
    await expect(target.setVersion('stable', canary)).rejects.toThrow(/stable slot carries 90% of traffic/);
    await expect(target.setRouting({ stable: 50, canary: 40 }, { kind: 'weighted' })).rejects.toThrow(/weights must sum to 100/);
  });

  it('wants the bearer token when started with one, and never names it', async () => {
    const token = 's3cret-token-value';
    const { router: r, target } = await router({ token });
    const denied = await admin(r, 'GET', '/routing');
    expect(denied.status).toBe(401);
    expect(JSON.stringify(denied.body)).not.toContain(token);
    expect((await fetch(`${r.adminUrl}/healthz`)).status).toBe(200);
    expect((await target.readRouting()).weights).toEqual({ stable: 100, canary: 0 });
    await metrics(r.adminUrl, token);
    const anonymous = new LocalRouterTarget({ adminUrl: r.adminUrl });
    targets.push(anonymous);
    await expect(anonymous.readRouting()).rejects.toThrow(/refused \(401\).*bearer token/);
  });

  it('an admin API that cannot be reached is TargetUnavailableError naming its URL', async () => {
    const adminUrl = `http://127.0.0.1:${await freePort()}`;
    const target = new LocalRouterTarget({ adminUrl });
    targets.push(target);
    for (const call of [() => target.readRouting(), () => target.state.read(), () => target.setRouting(weightsFor(5), { kind: 'weighted' }), () => target.mirrorPairs(0)]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TargetUnavailableError);
      expect((error as Error).message).toContain(adminUrl);
      expect((error as Error).message).toMatch(/ECONNREFUSED/);
    }
    expect(target.supports('shadow')).toBe(true);
  });
});

describe('ferry router (the built CLI)', () => {
  it('starts, routes, keeps its token out of logs, and exits 0 on SIGTERM', async () => {
    const token = 'cli-token-abc123';
    const stateDir = join(dir, 'cli-state');
    const child = spawn(NODE24, [CLI, 'router', '--port', '0', '--admin-port', '0', '--state-dir', stateDir, '--stable-version', '1', '--stable-endpoint', v1.url, '--token-env', 'FERRY_TEST_ROUTER_TOKEN'], {
      env: { ...cleanEnv(), FERRY_TEST_ROUTER_TOKEN: token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const lines = createInterface({ input: child.stdout });
    const stdout: string[] = [];
    const ready = await new Promise<{ event: string; url: string; adminUrl: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ferry router not ready in 20 s\n${stderr}`)), 20_000);
      lines.on('line', (line) => {
        stdout.push(line);
        const event = JSON.parse(line) as { event: string; url: string; adminUrl: string };
        if (event.event === 'ready') {
          clearTimeout(timer);
          resolve(event);
        }
      });
      void exited.then((code) => reject(new Error(`ferry router exited ${code} before it was ready\n${stderr}`)));
    });
    try {
      expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const answers = await infer(ready.url, 5);
      expect(answers.map((a) => a.version)).toEqual(['1', '1', '1', '1', '1']);
      const target = new LocalRouterTarget({ adminUrl: ready.adminUrl, token });
      targets.push(target);
      expect((await target.readRouting()).versions.stable).toEqual({ name: '1', endpoints: [v1.url] });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stdout.map((l) => (JSON.parse(l) as { event: string }).event)).toEqual(['ready', 'stopped']);
    expect(stderr).not.toContain(token);
  });
});
