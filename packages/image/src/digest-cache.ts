// Remembers what reading large files taught us: the sha256 (and CRC-32) of a model file, keyed by
// its identity on disk (path, device, inode, size, modification and change times in nanoseconds),
// and the digest of a layer, keyed by what the layer holds. A rebuild with unchanged weights then
// reads nothing but directory entries. Any write to a file changes its ctime, so a changed file is
// never mistaken for the old one; a wrong or unreadable entry is treated as absent.
import { createHash, randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Digest, LayerDigestCache } from './oci/index.js';
import { isDigest } from './oci/index.js';

export interface FileDigests {
  /** sha256 of the content, hex. */
  sha256: string;
  /** CRC-32 of the content, when something needed it (a zip member). */
  crc32?: number;
}

type Env = Readonly<Record<string, string | undefined>>;

/** $XDG_CACHE_HOME/ferry, else ~/.cache/ferry. */
export function defaultCacheDir(env: Env): string {
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'ferry');
}

function fileKey(path: string, stat: BigIntStats): string {
  return ['file/1', path, stat.dev, stat.ino, stat.size, stat.mtimeNs, stat.ctimeNs].join('\0');
}

export class DigestCache implements LayerDigestCache {
  private readonly dir: string;
  /** Entries written during this run, so one build never reads its own writes from disk. */
  private readonly memory = new Map<string, unknown>();

  constructor(root: string) {
    this.dir = join(root, 'digests-v1');
  }

  private pathOf(key: string): string {
    const hex = createHash('sha256').update(key).digest('hex');
    return join(this.dir, hex.slice(0, 2), `${hex}.json`);
  }

  private async read(key: string): Promise<unknown> {
    if (this.memory.has(key)) return this.memory.get(key);
    try {
      const entry = JSON.parse(await readFile(this.pathOf(key), 'utf8')) as { key?: string; value?: unknown };
      // The file name is a hash of the key: the stored key rules out a collision or a foreign file.
      return entry.key === key ? entry.value : undefined;
    } catch {
      return undefined;
    }
  }

  private async write(key: string, value: unknown): Promise<void> {
    this.memory.set(key, value);
    const path = this.pathOf(key);
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(temporary, JSON.stringify({ key, value }));
      await rename(temporary, path);
    } catch {
      // A cache that cannot be written only costs time on the next build.
      await rm(temporary, { force: true });
    }
  }

  async file(path: string, stat: BigIntStats): Promise<FileDigests | undefined> {
    const value = (await this.read(fileKey(path, stat))) as FileDigests | undefined;
    return value && typeof value.sha256 === 'string' && /^[0-9a-f]{64}$/.test(value.sha256) ? value : undefined;
  }

  async rememberFile(path: string, stat: BigIntStats, digests: FileDigests): Promise<void> {
    await this.write(fileKey(path, stat), digests);
  }

  async get(key: string): Promise<{ digest: Digest; size: number } | undefined> {
    const value = (await this.read(`layer/1\0${key}`)) as { digest?: string; size?: number } | undefined;
    if (value === undefined || typeof value.digest !== 'string' || !isDigest(value.digest) || typeof value.size !== 'number') return undefined;
    return { digest: value.digest, size: value.size };
  }

  async set(key: string, value: { digest: Digest; size: number }): Promise<void> {
    await this.write(`layer/1\0${key}`, value);
  }
}
