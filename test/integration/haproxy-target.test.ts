// The HAProxy rollout target against a real HAProxy in front of real `ferry serve` processes:
// the split measured from the answers' model_version, read-back after changes made behind the
// target's back and after a restart, the runtime API over both sockets and its refusals, and the
// rollout record's compare-and-set.
import { InputError } from '@ferry/core';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaproxyCommandError, HaproxyRuntime, HaproxyTarget } from '../../packages/rollout/src/targets/haproxy/index.js';
import type { HaproxyTargetOptions } from '../../packages/rollout/src/targets/haproxy/index.js';
import { StateConflictError } from '../../packages/rollout/src/state/store.js';
import { TargetUnavailableError, weightsFor } from '../../packages/rollout/src/target/types.js';
import type { Strategy } from '../../packages/rollout/src/target/types.js';
import { freePort, startHaproxy } from '../support/components/index.js';
import type { HaproxyComponent } from '../support/components/index.js';
import { makeSmokeModel, startFerryServe, stopFerryServes } from '../support/ferry-serve.js';
import type { ServeProcess } from '../support/ferry-serve.js';

let dir: string;
let haproxy: HaproxyComponent;
/** `ferry serve` answering model_version 1 (stable), 2 (the canary) and 3 (another canary build). */
let v1: ServeProcess;
let v2: ServeProcess;
let v3: ServeProcess;

const hostPort = (serve: ServeProcess) => `127.0.0.1:${serve.port}`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-haproxy-target-'));
  const model = await makeSmokeModel(join(dir, 'model'));
  // --workers 0: the tiny model runs on the HTTP thread, the least load on a 2-core runner.
  const serve = (version: string) => startFerryServe(['--model-path', model, '--model-name', 'classifier', '--model-version', version, '--port', '0', '--workers', '0', '--quiet']);
  [v1, v2, v3] = await Promise.all([serve('1'), serve('2'), serve('3')]);
  haproxy = await startHaproxy({
    backends: [
      // As deployed before a rollout: everything on stable; `spare` is in neither slot.
      {
        name: 'models',
        servers: [
          { name: 'stable1', address: hostPort(v1), weight: 1 },
          { name: 'canary1', address: hostPort(v2), weight: 0 },
          { name: 'spare', address: hostPort(v3), weight: 0 },
        ],
      },
      // Several servers per slot.
      {
        name: 'fleet',
        servers: [
          { name: 'stable-a', address: hostPort(v1), weight: 1 },
          { name: 'stable-b', address: hostPort(v1), weight: 1 },
          { name: 'canary-a', address: hostPort(v2), weight: 0 },
        ],
      },
      {
        name: 'wide',
        servers: [
          { name: 'stable1', address: hostPort(v1), weight: 1 },
          { name: 'canary-a', address: hostPort(v2), weight: 0 },
          { name: 'canary-b', address: hostPort(v2), weight: 0 },
          { name: 'canary-c', address: hostPort(v2), weight: 0 },
        ],
      },
      // Server names that say nothing about slots.
      { name: 'plain', servers: [{ name: 'a', address: hostPort(v1), weight: 1 }] },
    ],
  });
});

afterAll(async () => {
  await haproxy?.stop();
  await stopFerryServes();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function target(options: Partial<HaproxyTargetOptions> = {}): HaproxyTarget {
  return new HaproxyTarget({ runtime: haproxy.adminSocket, backend: 'models', stateFile: join(dir, 'models.rollout.json'), ...options });
}

const features = { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [0.5, -1, 2, 0.25] }] };

/** Sends `total` inferences through HAProxy, 10 at a time, and counts the model_version of each answer. */
async function answersByVersion(total: number, backend = 'models'): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let sent = 0; sent < total; sent += 10) {
    const versions = await Promise.all(
      Array.from({ length: Math.min(10, total - sent) }, async () => {
        const response = await fetch(`${haproxy.url}/v2/models/classifier/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-ferry-backend': backend },
          body: JSON.stringify(features),
        });
        const body = (await response.json()) as { model_version?: string };
        expect(response.status, JSON.stringify(body)).toBe(200);
        return String(body.model_version);
      }),
    );
    for (const version of versions) counts[version] = (counts[version] ?? 0) + 1;
  }
  return counts;
}

/** The canary's share of `total` answers after a short warm-up: the round-robin's position from the previous weights is discarded. */
async function measuredCanaryShare(total: number, backend = 'models', canaryVersion = '2'): Promise<number> {
  await answersByVersion(20, backend);
  const counts = await answersByVersion(total, backend);
  return (counts[canaryVersion] ?? 0) / total;
}

describe('HaproxyTarget moves traffic through the runtime API', () => {
  it.each([5, 25, 50, 100])('canary %i%: readRouting reports it and 400 answers split that way within 3%', async (canary) => {
    const haproxyTarget = target();
    await haproxyTarget.setRouting(weightsFor(canary), { kind: 'weighted' });
    expect((await haproxyTarget.readRouting()).weights).toEqual(weightsFor(canary));
    expect(Math.abs((await measuredCanaryShare(400)) - canary / 100)).toBeLessThanOrEqual(0.03);
  });

  it('splits by slot when a slot has several servers (2 stable, 1 canary at 25%)', async () => {
    const fleet = target({ backend: 'fleet' });
    await fleet.setRouting(weightsFor(25), { kind: 'weighted' });
    expect(await fleet.readRouting()).toEqual({
      weights: { stable: 75, canary: 25 },
      routing: { kind: 'weighted' },
      endpoints: { stable: [v1.url, v1.url], canary: [v2.url] },
    });
    expect(Math.abs((await measuredCanaryShare(400, 'fleet')) - 0.25)).toBeLessThanOrEqual(0.03);
  });

  it('refuses a split that 0–256 server weights cannot hold, and changes nothing', async () => {
    const wide = target({ backend: 'wide' });
    await wide.setRouting(weightsFor(0), { kind: 'weighted' });
    // 99:1 over 1 stable and 3 canary servers: each canary server needs 1, so stable would need 297.
    await expect(wide.setRouting(weightsFor(1), { kind: 'weighted' })).rejects.toThrow(/cannot split stable 99% \/ canary 1% over 1 stable and 3 canary server\(s\)/);
    expect((await wide.readRouting()).weights).toEqual({ stable: 100, canary: 0 });
    // 3 canary servers at 4%: 96:4 is 24:1, so 72 for stable and 1 for each canary server.
    await wide.setRouting(weightsFor(4), { kind: 'weighted' });
    expect((await wide.readRouting()).weights).toEqual({ stable: 96, canary: 4 });
  });

  it('reads back what HAProxy applies after commands sent behind its back', async () => {
    const haproxyTarget = target();
    await haproxyTarget.setRouting(weightsFor(50), { kind: 'weighted' });

    await haproxy.runtime('set weight models/canary1 0');
    expect((await haproxyTarget.readRouting()).weights).toEqual({ stable: 100, canary: 0 });
    expect(await measuredCanaryShare(100)).toBe(0);

    await haproxy.runtime('set weight models/canary1 150');
    expect((await haproxyTarget.readRouting()).weights).toEqual({ stable: 25, canary: 75 });

    // Maintenance keeps the weight but takes no requests: it must read as 0.
    await haproxy.runtime('set server models/canary1 state maint');
    expect((await haproxyTarget.readRouting()).weights).toEqual({ stable: 100, canary: 0 });
    await haproxy.runtime('set server models/canary1 state ready');

    await haproxy.runtime(`set server models/canary1 addr 127.0.0.1 port ${v3.port}`);
    expect((await haproxyTarget.readRouting()).endpoints.canary).toEqual([v3.url]);
    await haproxy.runtime(`set server models/canary1 addr 127.0.0.1 port ${v2.port}`);

    // A server in neither slot taking traffic makes the stable/canary split unreadable: say so.
    await haproxy.runtime('set weight models/spare 5');
    await expect(haproxyTarget.readRouting()).rejects.toThrow(/also sends traffic to spare \(weight 5\), in neither the stable nor the canary slot/);
    await haproxy.runtime('set weight models/spare 0');
  });

  it('setVersion moves the canary server to another ferry serve process, and answers come from it', async () => {
    const haproxyTarget = target();
    await haproxyTarget.setRouting(weightsFor(0), { kind: 'weighted' });
    // A host name is resolved: HAProxy's `set server addr` takes IP addresses only.
    await haproxyTarget.setVersion('canary', { name: '3', endpoints: [`http://localhost:${v3.port}`] });
    await haproxyTarget.setRouting(weightsFor(50), { kind: 'weighted' });
    expect((await haproxyTarget.readRouting()).endpoints).toEqual({ stable: [v1.url], canary: [v3.url] });
    const counts = await answersByVersion(100);
    expect(counts).toEqual({ '1': 50, '3': 50 });

    await haproxyTarget.setRouting(weightsFor(0), { kind: 'weighted' });
    await haproxyTarget.setVersion('canary', { name: '2', endpoints: [v2.url] });
    expect((await haproxyTarget.readRouting()).endpoints.canary).toEqual([v2.url]);
  });

  it.each([
    { name: 'more endpoints than servers', endpoints: () => [v2.url, v3.url], error: /version 2 has 2 endpoint\(s\) but the canary slot of HAProxy backend `models` via .* has 1 server\(s\) \(canary1\)/ },
    { name: 'https', endpoints: () => [`https://127.0.0.1:${v2.port}`], error: /endpoint "https:\/\/127\.0\.0\.1:\d+" of version 2: .* must be http:\/\/, not https:/ },
    { name: 'a path', endpoints: () => [`${v2.url}/models`], error: /cannot carry a path, query or credentials/ },
    { name: 'an unresolvable host', endpoints: () => ['http://no-such-host.invalid:8000'], error: /cannot resolve no-such-host\.invalid/ },
  ])('setVersion refuses $name, naming the version and endpoint', async ({ endpoints, error }) => {
    const haproxyTarget = target();
    await expect(haproxyTarget.setVersion('canary', { name: '2', endpoints: endpoints() })).rejects.toThrow(error);
    expect((await haproxyTarget.readRouting()).endpoints.canary).toEqual([v2.url]);
  });

  it('after an HAProxy restart reads the config weights and addresses, and setRouting restores the split', async () => {
    const haproxyTarget = target();
    await haproxyTarget.setRouting(weightsFor(25), { kind: 'weighted' });
    await haproxyTarget.setVersion('canary', { name: '3', endpoints: [v3.url] });
    await haproxy.restart();
    // Runtime changes are gone: haproxy.cfg has stable1 at weight 1 and canary1 (at v2) at 0.
    expect(await haproxyTarget.readRouting()).toEqual({ weights: { stable: 100, canary: 0 }, routing: { kind: 'weighted' }, endpoints: { stable: [v1.url], canary: [v2.url] } });
    await haproxyTarget.setRouting(weightsFor(25), { kind: 'weighted' });
    expect((await haproxyTarget.readRouting()).weights).toEqual({ stable: 75, canary: 25 });
    expect(Math.abs((await measuredCanaryShare(400)) - 0.25)).toBeLessThanOrEqual(0.03);
  });

  it.each([
    { via: 'the unix socket path', runtime: () => haproxy.adminSocket, label: () => haproxy.adminSocket },
    { via: 'a unix: address', runtime: () => `unix:${haproxy.adminSocket}`, label: () => haproxy.adminSocket },
    { via: 'TCP host:port', runtime: () => haproxy.adminAddress, label: () => haproxy.adminAddress },
    { via: 'a tcp:// address', runtime: () => `tcp://${haproxy.adminAddress}`, label: () => haproxy.adminAddress },
  ])('drives the runtime API over $via', async ({ runtime, label }) => {
    const haproxyTarget = target({ runtime: runtime() });
    expect(haproxyTarget.description).toBe(`HAProxy backend \`models\` via ${label()}`);
    await haproxyTarget.setRouting(weightsFor(10), { kind: 'weighted' });
    expect((await haproxyTarget.readRouting()).weights).toEqual({ stable: 90, canary: 10 });
    // Another client on the other socket sees the same weights: it is HAProxy's state, not ours.
    expect(await haproxy.runtime('get weight models/canary1')).toMatch(/^10 \(initial 0\)/);
    await haproxyTarget.setRouting(weightsFor(0), { kind: 'weighted' });
    expect((await haproxyTarget.readRouting()).weights).toEqual({ stable: 100, canary: 0 });
  });

  it('rollback: canary to 0 and a read-back that confirms it (the rollback latency)', async () => {
    const haproxyTarget = target();
    const timings: number[] = [];
    for (let i = 0; i < 20; i++) {
      await haproxyTarget.setRouting(weightsFor(50), { kind: 'weighted' });
      const start = performance.now();
      await haproxyTarget.setRouting({ stable: 100, canary: 0 }, { kind: 'weighted' });
      const live = await haproxyTarget.readRouting();
      timings.push(performance.now() - start);
      expect(live.weights).toEqual({ stable: 100, canary: 0 });
    }
    timings.sort((a, b) => a - b);
    const at = (q: number) => timings[Math.min(timings.length - 1, Math.floor(q * timings.length))]!.toFixed(2);
    console.log(`HAProxy rollback (setRouting stable 100 / canary 0 + confirming readRouting, unix socket), ${timings.length} runs: median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms`);
    expect(await answersByVersion(100)).toEqual({ '1': 100 });
  });
});

describe('HaproxyTarget errors name what is at fault', () => {
  let silent: Server;
  const held: Socket[] = [];
  beforeAll(async () => {
    // Accepts and never answers, keeping its side open: a hung runtime API.
    silent = createServer({ allowHalfOpen: true }, (socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => silent?.close(resolve));
  });

  it.each([
    { name: 'a missing unix socket', runtime: async () => join(dir, 'no-such.sock'), error: /HAProxy runtime API at .*no-such\.sock cannot be reached: no socket at that path/ },
    { name: 'a closed TCP port', runtime: async () => `127.0.0.1:${await freePort()}`, error: /HAProxy runtime API at 127\.0\.0\.1:\d+ cannot be reached: connection refused/ },
    {
      name: 'a runtime API that never answers',
      runtime: async () => `127.0.0.1:${(silent.address() as { port: number }).port}`,
      error: /HAProxy runtime API at 127\.0\.0\.1:\d+ did not answer within 300 ms \(command `show servers state models`\)/,
    },
  ])('$name is TargetUnavailableError naming the address', async ({ runtime, error }) => {
    const haproxyTarget = target({ runtime: await runtime(), timeoutMs: 300 });
    for (const attempt of [haproxyTarget.readRouting(), haproxyTarget.setRouting(weightsFor(0), { kind: 'weighted' })]) {
      const failure = await attempt.then(() => undefined, (e: unknown) => e);
      expect(failure).toBeInstanceOf(TargetUnavailableError);
      expect((failure as Error).message).toMatch(error);
    }
  });

  it.each([
    { name: 'an unknown backend', options: () => ({ backend: 'nope' }), error: /HAProxy runtime API at .*admin\.sock refused `show servers state nope`: Can't find backend\./ },
    { name: 'an unknown server named for a slot', options: () => ({ canaryServers: ['ghost'] }), error: /HAProxy backend `models` via .* has no server ghost, named in canaryServers \(its servers: stable1, canary1, spare\)/ },
    { name: 'no server named for the slot', options: () => ({ backend: 'plain' }), error: /has no server whose name starts with "stable" \(its servers: a\); name the stable slot's servers with stableServers/ },
    { name: 'a runtime socket below level admin', options: () => ({ runtime: haproxy.operatorSocket }), error: /refused `set weight models\/canary1 \d+`: Permission denied/ },
  ])('$name is refused with a clear message', async ({ options, error }) => {
    const haproxyTarget = target(options());
    const failure = await haproxyTarget.setRouting(weightsFor(30), { kind: 'weighted' }).then(() => undefined, (e: unknown) => e);
    expect(failure).toBeInstanceOf(InputError);
    expect((failure as Error).message).toMatch(error);
    await target().setRouting(weightsFor(0), { kind: 'weighted' });
  });

  it('explains what HAProxy refuses, with a hint', async () => {
    const runtime = new HaproxyRuntime(haproxy.adminAddress);
    const unknown = await runtime.command('frobnicate').then(() => undefined, (e: unknown) => e);
    expect(unknown).toBeInstanceOf(HaproxyCommandError);
    expect(unknown).toMatchObject({ command: 'frobnicate', address: haproxy.adminAddress, hint: /HAProxy 1\.8 or newer/ });
    await expect(runtime.setWeight('models', 'ghost', 1)).rejects.toThrow(/refused `set weight models\/ghost 1`: No such server\./);
    expect(await runtime.getWeight('models', 'stable1')).toEqual({ current: expect.any(Number), initial: 1 });
  });

  it.each([
    { runtime: 'haproxy', error: /HAProxy runtime address "haproxy" is neither a unix socket path/ },
    { runtime: '127.0.0.1:99999', error: /is neither a unix socket path/ },
  ])('a malformed runtime address $runtime is refused when the target is made', ({ runtime, error }) => {
    expect(() => target({ runtime })).toThrow(error);
  });

  it('a state file whose directory is missing is refused when the target is made', () => {
    expect(() => target({ stateFile: join(dir, 'missing', 'models.rollout.json') })).toThrow(/the directory of the HAProxy target's state file .*missing\/models\.rollout\.json .* does not exist/);
  });

  it.each<{ strategy: Strategy; supported: true | RegExp }>([
    { strategy: 'canary', supported: true },
    { strategy: 'blue-green', supported: true },
    { strategy: 'ab', supported: /runtime API cannot add header- or cookie-based stickiness .* needs the local target/ },
    { strategy: 'shadow', supported: /runtime API cannot mirror requests .* need the local target/ },
  ])('supports($strategy)', ({ strategy, supported }) => {
    const answer = target().supports(strategy);
    if (supported === true) expect(answer).toBe(true);
    else expect(answer).toMatch(supported);
  });

  it.each([{ kind: 'sticky', header: 'x-user' } as const, { kind: 'mirror', percent: 10 } as const])('refuses $kind routing without touching the weights', async (routing) => {
    const haproxyTarget = target();
    await haproxyTarget.setRouting(weightsFor(0), { kind: 'weighted' });
    await expect(haproxyTarget.setRouting(weightsFor(routing.kind === 'mirror' ? 0 : 20), routing)).rejects.toThrow(new RegExp(`cannot apply ${routing.kind} routing: HAProxy's runtime API cannot`));
    expect((await haproxyTarget.readRouting()).weights).toEqual({ stable: 100, canary: 0 });
  });
});

describe('the rollout record beside the router', () => {
  it('of two jobs writing from the same revision one wins, the other gets StateConflictError', async () => {
    const stateFile = join(dir, 'race.rollout.json');
    const jobs = Array.from({ length: 6 }, () => target({ stateFile }));
    const outcomes = await Promise.allSettled(jobs.map((job, i) => job.state.write({ step: 1, job: i }, 0)));
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    expect(won).toEqual([{ status: 'fulfilled', value: 1 }]);
    for (const lost of outcomes.filter((o) => o.status === 'rejected')) expect(lost.reason).toBeInstanceOf(StateConflictError);
    const record = await jobs[0]!.state.read();
    expect(record).toMatchObject({ revision: 1, data: { step: 1 } });
    // The loser starts over from what it reads, and then goes through.
    await expect(jobs[1]!.state.write({ step: 2 }, record!.revision)).resolves.toBe(2);
    await expect(jobs[2]!.state.write({ step: 2 }, record!.revision)).rejects.toThrow(StateConflictError);
  });

  it('is never seen half-written: a reader in a tight loop during 100 writes of 200 kB always parses a whole record', async () => {
    const stateFile = join(dir, 'torn.rollout.json');
    const writer = target({ stateFile });
    const reader = target({ stateFile });
    const size = 200_000;
    let writing = true;
    let reads = 0;
    const readLoop = (async () => {
      while (writing) {
        const record = await reader.state.read();
        if (record === null) continue;
        const data = record.data as { seq: number; payload: string };
        // Each record's payload is one repeated digit picked by its seq: a mix of two writes shows.
        expect(data.payload).toBe(String(data.seq % 10).repeat(size));
        expect(record.revision).toBe(data.seq + 1);
        reads++;
      }
    })();
    let revision = 0;
    for (let seq = 0; seq < 100; seq++) revision = await writer.state.write({ seq, payload: String(seq % 10).repeat(size) }, revision);
    writing = false;
    await readLoop;
    expect(revision).toBe(100);
    expect(reads).toBeGreaterThan(20);
  });
});
