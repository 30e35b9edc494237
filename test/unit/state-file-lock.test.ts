// The state file's lock: one left by a killed writer on this machine is stale at once, so a
// killed job's re-run takes over instead of reading the leftover lock as another job's write.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileStateStore, StateConflictError } from '../../packages/rollout/src/state/store.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-state-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('rollout state file lock', () => {
  it("a lock left by a dead writer on this host is taken at once; a live writer's lock is not", async () => {
    const file = join(dir, 'a.json');
    const store = new FileStateStore(file);
    writeFileSync(`${file}.lock`, `${deadPid()} ${new Date().toISOString()} ${hostname()}\n`);
    expect(await store.write({ n: 1 }, 0)).toBe(1);

    // pid 1 is alive: its lock, as a running job's would be, is waited on, then a conflict.
    writeFileSync(`${file}.lock`, `1 ${new Date().toISOString()} ${hostname()}\n`);
    await expect(store.write({ n: 2 }, 1)).rejects.toThrow(StateConflictError);
  }, 30_000);
});
