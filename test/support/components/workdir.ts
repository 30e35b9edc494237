// Temp dirs that hold a component's config, data and log, removed whatever way the run ends.
import { rmSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface WorkDir {
  readonly path: string;
  remove(): Promise<void>;
}

const liveWorkDirs = new Set<WorkDir>();

const WORK_DIR_PREFIX = 'ferry-component-';
let staleSwept: Promise<void> | undefined;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Work dirs of test processes that died hard (SIGKILL, OOM): their exit hook never ran. */
async function sweepStaleWorkDirs(): Promise<void> {
  const entries = await readdir(tmpdir()).catch(() => []);
  await Promise.all(
    entries.map(async (entry) => {
      const owner = entry.startsWith(WORK_DIR_PREFIX) ? Number.parseInt(entry.slice(WORK_DIR_PREFIX.length), 10) : NaN;
      if (Number.isInteger(owner) && owner !== process.pid && !isAlive(owner)) await rm(join(tmpdir(), entry), { recursive: true, force: true });
    }),
  );
}

/** A fresh temp dir that stopAll() (or process exit) removes if nobody else does. */
export async function makeWorkDir(name: string): Promise<WorkDir> {
  staleSwept ??= sweepStaleWorkDirs();
  await staleSwept;
  // The owner's pid in the name lets a later run sweep what a killed run left behind.
  const path = await mkdtemp(join(tmpdir(), `${WORK_DIR_PREFIX}${process.pid}-${name}-`));
  const dir: WorkDir = {
    path,
    async remove() {
      liveWorkDirs.delete(dir);
      await rm(path, { recursive: true, force: true });
    },
  };
  liveWorkDirs.add(dir);
  return dir;
}

/** Removes every work dir nobody removed yet: part of stopAll(). */
export async function removeAllWorkDirs(): Promise<void> {
  await Promise.all([...liveWorkDirs].map((dir) => dir.remove()));
}

/** For the exit hook, which cannot wait. */
export function removeAllWorkDirsSync(): void {
  for (const dir of liveWorkDirs) rmSync(dir.path, { recursive: true, force: true });
}
