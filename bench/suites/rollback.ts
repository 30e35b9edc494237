// Rollback latency on HAProxy: from the decision to a verified 100% on stable. Ferry changes server
// weights over the runtime API and reads them back (what canary-deploy does on an abort); the
// anchor is what a team without it does: rewrite the config, reload HAProxy, and probe the
// frontend until every answer comes from stable. Two tiny HTTP servers stand in for the versions,
// so the figure is the router's, not a model's.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@ferry/bench';
import { applyAndVerify, HaproxyRuntime, HaproxyTarget, weightsFor } from '@ferry/rollout';
import { formatMs } from '../lib/format.ts';
import { errorRow, timeBudgetRow, type Row } from '../lib/report.ts';
import type { Suite, SuiteContext, SuiteResult } from '../lib/suite.ts';
import { measureInterleaved, type Contender } from '../lib/timing.ts';

const SUITE = 'rollback';
const GOAL_MS = 2_000;
/** Consecutive stable answers that count as "all traffic is on stable" for the probing anchor. */
const PROBES = 20;

function versionServer(name: string): Promise<Server> {
  const server = createServer((_req, res) => res.end(name));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const portOf = (s: Server): number => (s.address() as AddressInfo).port;

function config(dir: string, frontend: number, stable: number, canary: number, weights: { stable: number; canary: number }): string {
  return [
    'global',
    `  stats socket ${join(dir, 'admin.sock')} mode 600 level admin`,
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 10s',
    '  timeout server 10s',
    'frontend ferry',
    `  bind 127.0.0.1:${frontend}`,
    '  default_backend models',
    'backend models',
    '  balance roundrobin',
    `  server stable 127.0.0.1:${stable} weight ${weights.stable}`,
    `  server canary 127.0.0.1:${canary} weight ${weights.canary}`,
    '',
  ].join('\n');
}

async function answer(url: string): Promise<string> {
  try {
    const res = await fetch(url, { headers: { connection: 'close' } });
    return await res.text();
  } catch {
    return 'failed';
  }
}

/** Polls the frontend until PROBES answers in a row come from stable. */
async function probeUntilStable(url: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let run = 0;
  while (run < PROBES) {
    if (performance.now() > deadline) throw new Error(`the frontend did not answer only "stable" within ${timeoutMs} ms`);
    run = (await answer(url)) === 'stable' ? run + 1 : 0;
  }
}

export const rollbackSuite: Suite = {
  name: SUITE,
  title: 'Rollback on HAProxy: decision to verified 100% stable',
  async run(ctx: SuiteContext): Promise<SuiteResult> {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-rollback-'));
    const [stable, canary] = await Promise.all([versionServer('stable'), versionServer('canary')]);
    const frontend = await freePort();
    const cfg = join(dir, 'haproxy.cfg');
    const url = `http://127.0.0.1:${frontend}/`;
    const socket = join(dir, 'admin.sock');
    const write = (w: { stable: number; canary: number }): void => writeFileSync(cfg, config(dir, frontend, portOf(stable), portOf(canary), w));
    write({ stable: 50, canary: 50 });
    let haproxy: ChildProcess | undefined;
    const rows: Row[] = [];
    try {
      haproxy = spawn('haproxy', ['-W', '-db', '-f', cfg], { stdio: 'ignore' });
      const spawnError = new Promise<Error>((resolve) => haproxy!.once('error', resolve));
      const runtime = new HaproxyRuntime(socket);
      const deadline = Date.now() + 10_000;
      for (;;) {
        const up = await Promise.race([runtime.command('show info').then((r) => r.includes('Pid:'), () => false), spawnError.then((e) => Promise.reject(e))]);
        if (up) break;
        if (Date.now() > deadline) throw new Error('haproxy did not open its runtime API in 10 s');
        await sleep(50);
      }
      const target = new HaproxyTarget({ runtime: socket, backend: 'models', stateFile: join(dir, 'state.json') });
      const reload = async (w: { stable: number; canary: number }): Promise<void> => {
        write(w);
        haproxy!.kill('SIGUSR2'); // master-worker: reload the configuration
      };
      const contenders: Contender[] = [
        {
          id: 'ferry',
          label: 'Ferry (runtime API, read back)',
          async run() {
            await target.setRouting(weightsFor(50), { kind: 'weighted' });
            const t0 = performance.now();
            await applyAndVerify(target, weightsFor(0), { kind: 'weighted' });
            const ms = performance.now() - t0;
            await probeUntilStable(url, 5_000); // the split it verified is the one users get
            return { ms };
          },
        },
        {
          id: 'reload',
          label: 'config rewrite + reload + probing',
          async run() {
            await reload({ stable: 50, canary: 50 });
            await sleep(300);
            const t0 = performance.now();
            await reload({ stable: 100, canary: 0 });
            await probeUntilStable(url, 10_000);
            return { ms: performance.now() - t0 };
          },
        },
      ];
      const runs = ctx.quick ? 5 : 20;
      ctx.log(`rollback: ${runs} rollbacks each way on HAProxy`);
      const [ferry, anchor] = await measureInterleaved(contenders, { runs, warmups: 1 });
      rows.push(timeBudgetRow({ suite: SUITE, measurement: 'rollback to 100% stable, verified (HAProxy)', ferry: ferry!, anchor: anchor!, maxMs: GOAL_MS }));
      const sorted = [...(ferry!.time?.samplesMs ?? [])].sort((a, b) => a - b);
      return {
        rows,
        details: [],
        notes: [
          `Ferry: from the abort decision to HAProxy reporting stable 100% / canary 0% over its runtime API (the time canary-deploy reports as rollback-ms); max of ${runs}: ${formatMs(sorted[sorted.length - 1] ?? Number.NaN)}.`,
          `Anchor: rewrite haproxy.cfg, reload the master (SIGUSR2), probe the frontend until ${PROBES} answers in a row come from stable.`,
        ],
        data: { ferrySamplesMs: ferry!.time?.samplesMs, anchorSamplesMs: anchor!.time?.samplesMs },
      };
    } catch (error) {
      return { rows: [errorRow(SUITE, 'rollback to 100% stable, verified (HAProxy)', (error as Error).message)], details: [], notes: [], data: {} };
    } finally {
      haproxy?.kill('SIGTERM');
      await Promise.all([stable, canary].map((s) => new Promise((resolve) => s.close(resolve))));
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
