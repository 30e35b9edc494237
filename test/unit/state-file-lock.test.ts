// The state file's lock: one left by a killed writer on this machine is stale at once, so a
// killed job's re-run takes over instead of reading the leftover lock as another job's write.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileStateStore } from '../../packages/rollout/src/state/store.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-state-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

/** Sets a file's modification time `ageMs` in the past. */
function age(path: string, ageMs: number): void {
  const t = new Date(Date.now() - ageMs);
  utimesSync(path, t, t);
}

describe('rollout state file lock', () => {
  it('a lock left by a dead writer on this host is taken at once', async () => {
    const file = join(dir, 'dead.json');
    const store = new FileStateStore(file);
    writeFileSync(`${file}.lock`, `${deadPid()} ${new Date().toISOString()} ${hostname()}\n`);
    const started = Date.now();
    expect(await store.write({ n: 1 }, 0)).toBe(1);
    expect(Date.now() - started).toBeLessThan(9_000); // not the 10 s age limit
    expect(existsSync(`${file}.lock`)).toBe(false);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ revision: 1, data: { n: 1 } });
  });

  it('an empty lock (its writer killed between creating and naming it) is stale after a second', async () => {
    const file = join(dir, 'empty.json');
    const store = new FileStateStore(file);
    writeFileSync(`${file}.lock`, '');
    age(`${file}.lock`, 1_500);
    expect(await store.write({ n: 1 }, 0)).toBe(1);
  });

  it("a running writer's lock is waited on, and taken once older than 10 s", async () => {
    const file = join(dir, 'live.json');
    const store = new FileStateStore(file);
    // pid 1 is alive; its lock, 8.5 s old, is not stale yet.
    writeFileSync(`${file}.lock`, `1 ${new Date().toISOString()} ${hostname()}\n`);
    age(`${file}.lock`, 8_500);
    const started = Date.now();
    expect(await store.write({ n: 1 }, 0)).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  }, 30_000);
});
