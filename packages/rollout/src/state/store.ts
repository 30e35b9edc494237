// Where a target keeps the rollout record: compare-and-set on a revision number, so two jobs can
// never both move traffic from the same starting point. The engine owns the record's shape; a
// store only keeps JSON and its revision. FileStateStore is the one for routers on this machine
// (the local router's state directory, a file beside HAProxy): the write goes to a temporary file
// that is renamed over the old one, under a lock file, so a reader sees the old record or the new
// one and a killed writer leaves no half-written state.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface StoredRecord {
  readonly data: unknown;
  /** 1 for the first record written; each write adds one. */
  readonly revision: number;
}

export interface StateStore {
  /** Where the record lives, for messages ("/var/lib/ferry/models.rollout.json"). */
  readonly location: string;
  /** The record, or null when none was ever written. */
  read(): Promise<StoredRecord | null>;
  /**
   * Writes `data` if the stored revision is still `expected` (0: nothing stored yet) and returns
   * the new revision; throws StateConflictError when another writer got there first.
   */
  write(data: unknown, expected: number): Promise<number>;
}

/** Someone else wrote the record since it was read. */
export class StateConflictError extends Error {
  override readonly name = 'StateConflictError';
  constructor(
    readonly location: string,
    readonly expected: number,
    readonly found: number,
  ) {
    super(`the rollout record at ${location} changed under us (expected revision ${expected}, found ${found}): another job is writing it`);
  }
}

/** The stored record is not one we can read: bad input, named. */
export class StateCorruptError extends Error {
  override readonly name = 'StateCorruptError';
}

/** A lock older than this is stale whoever holds it: a write holds it for milliseconds. */
const LOCK_STALE_MS = 10_000;
/** A lock file still empty after this was created by a writer that died before naming itself. */
const LOCK_EMPTY_STALE_MS = 1_000;
/** Longer than the stale age, so a wait always outlasts a lock nobody will release. */
const LOCK_WAIT_MS = LOCK_STALE_MS + 2_000;

interface FileEnvelope {
  readonly schema: 'ferry-state/1';
  readonly revision: number;
  readonly data: unknown;
}

function parseEnvelope(path: string, text: string): StoredRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new StateCorruptError(`rollout state file ${path} is not valid JSON (${(error as Error).message}); move it aside to start over`);
  }
  const e = parsed as Partial<FileEnvelope> | null;
  if (typeof e !== 'object' || e === null || e.schema !== 'ferry-state/1' || !Number.isInteger(e.revision) || (e.revision ?? 0) < 1 || !('data' in e)) {
    throw new StateCorruptError(`rollout state file ${path} is not a Ferry state record (want {"schema": "ferry-state/1", "revision": n, "data": …})`);
  }
  return { data: e.data, revision: e.revision! };
}

export class FileStateStore implements StateStore {
  constructor(readonly location: string) {}

  async read(): Promise<StoredRecord | null> {
    let text: string;
    try {
      text = await readFile(this.location, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    return parseEnvelope(this.location, text);
  }

  async write(data: unknown, expected: number): Promise<number> {
    const release = await this.lock();
    try {
      const current = (await this.read())?.revision ?? 0;
      if (current !== expected) throw new StateConflictError(this.location, expected, current);
      const envelope: FileEnvelope = { schema: 'ferry-state/1', revision: current + 1, data };
      const temp = join(dirname(this.location), `.${basename(this.location)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      const handle = await open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(envelope, null, 2)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await rename(temp, this.location);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
      await syncDirectory(dirname(this.location));
      return envelope.revision;
    } finally {
      await release();
    }
  }

  /**
   * An exclusive lock file beside the record, naming its writer ("pid time host"). One whose
   * writer is no longer running on this host is stale at once; one left empty (its writer died
   * between creating and naming it) after a second; any other after 10 s.
   */
  private async lock(): Promise<() => Promise<void>> {
    const path = `${this.location}.lock`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    let holder = '';
    for (;;) {
      try {
        const handle = await open(path, 'wx', 0o600);
        await handle.writeFile(`${process.pid} ${new Date().toISOString()} ${hostname()}\n`);
        await handle.close();
        return () => rm(path, { force: true });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new Error(`the directory of the rollout state file ${this.location} does not exist`);
        if (code !== 'EEXIST') throw error;
      }
      const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => 0);
      holder = (await readFile(path, 'utf8').catch(() => '')).trim();
      const [pid, , host] = holder.split(' ');
      const owner = Number(pid);
      // A killed job's re-run must not wait out the age limit, nor read the wait as another job's write.
      const deadHere = host === hostname() && Number.isInteger(owner) && owner > 0 && owner !== process.pid && !pidRunning(owner);
      if (age > LOCK_STALE_MS || deadHere || (holder === '' && age > LOCK_EMPTY_STALE_MS)) {
        await rm(path, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`its lock file ${path} stayed taken for ${LOCK_WAIT_MS / 1000} s (held by ${holder ? `pid ${pid} on ${host ?? 'an unnamed host'}` : 'a writer that never named itself'}): other jobs keep writing this record`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  } finally {
    await handle.close();
  }
}

/** Whether a process with this pid runs on this machine (EPERM: it does, under another user). */
export function pidRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
