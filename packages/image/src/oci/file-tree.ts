// A layer described as the files it puts into the image: where each goes, and where its bytes come
// from. Ownership, times and permissions are not taken from the build machine: every file is
// root-owned with a fixed mode, so the same content always makes the same layer.
import { lstat, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { createHash } from 'node:crypto';
import { InputError } from '@ferry/core';
import { bufferSource, fileSource } from './byte-source.js';
import type { ByteSource } from './byte-source.js';

export const FILE_MODE = 0o644;
export const EXECUTABLE_MODE = 0o755;
export const DIRECTORY_MODE = 0o755;
export const SYMLINK_MODE = 0o777;

export type TreeEntry =
  /**
   * `contentKey` names the bytes without reading them (the sha256 of the content, or any string
   * that determines the content): with one on every file, a layer's digest can be remembered.
   */
  | { type: 'file'; path: string; source: ByteSource; mode: number; contentKey?: string }
  | { type: 'directory'; path: string; mode: number }
  | { type: 'symlink'; path: string; target: string };

export interface AddFileOptions {
  /** 0755 instead of 0644. */
  executable?: boolean;
  /** What the content is, when already known: its sha256 (hex) or another key that fixes the bytes. */
  contentKey?: string;
}

export interface AddDirectoryOptions {
  /** Leaves out files for which this returns false (paths relative to the host directory, with '/'). */
  filter?: (relativePath: string) => boolean;
  /**
   * 'keep' (the default) stores symlinks as symlinks. 'follow' stores what they point to, for
   * layouts whose files are links into a cache (a Hugging Face snapshot); the caller decides
   * that the targets may go into the image.
   */
  symlinks?: 'keep' | 'follow';
}

const contentKeyOf = (options: AddFileOptions): { contentKey?: string } => (options.contentKey === undefined ? {} : { contentKey: options.contentKey });

/** The image path without its leading slash, normalised; refuses paths that escape the root. */
function imagePath(path: string): string {
  if (path.includes('\0')) throw new InputError(`image path ${JSON.stringify(path)} contains a NUL byte`, { subject: path });
  // ".." is refused rather than resolved: a path that climbs is a mistake worth naming.
  if (path.split('/').includes('..')) throw new InputError(`image path ${path} escapes the image root (contains "..")`, { subject: path });
  const normalised = posix.normalize(`/${path}`).replace(/\/+$/, '');
  if (normalised === '' || normalised === '/') throw new InputError('an image path must name a file or directory, not the root', { subject: path });
  return normalised.slice(1);
}

/** Entries keyed by image path (no leading slash). Parent directories are implied. */
export class FileTree {
  private readonly entries = new Map<string, TreeEntry>();

  /** A file with the given content. */
  addFile(path: string, content: string | Uint8Array, options: AddFileOptions = {}): this {
    const contentKey = createHash('sha256').update(content).digest('hex');
    return this.put({ type: 'file', path: imagePath(path), source: bufferSource(content), mode: options.executable ? EXECUTABLE_MODE : FILE_MODE, contentKey });
  }

  /** A file whose bytes are streamed from `source` when the layer is written. */
  addFileFromSource(path: string, source: ByteSource, options: AddFileOptions = {}): this {
    return this.put({ type: 'file', path: imagePath(path), source, mode: options.executable ? EXECUTABLE_MODE : FILE_MODE, ...contentKeyOf(options) });
  }

  /**
   * A file copied from the host. Its size and time are recorded now, and a file changed before the
   * layer is read fails instead of producing a layer that contradicts its digest. It is
   * executable in the image when its owner may execute it on the host.
   */
  async addFileFromHost(path: string, hostPath: string, options: AddFileOptions = {}): Promise<this> {
    const stat = await lstat(hostPath).catch((error: unknown) => {
      throw new InputError(`cannot read ${hostPath}: ${(error as Error).message}`, { subject: hostPath, cause: error });
    });
    if (!stat.isFile()) throw new InputError(`${hostPath} is not a regular file`, { subject: hostPath });
    const executable = options.executable ?? (stat.mode & 0o100) !== 0;
    return this.put({
      type: 'file',
      path: imagePath(path),
      source: fileSource(hostPath, { size: stat.size, mtimeMs: stat.mtimeMs }),
      mode: executable ? EXECUTABLE_MODE : FILE_MODE,
      ...contentKeyOf(options),
    });
  }

  /** A directory; `mode` for the few that need other bits, such as /tmp (0o1777). */
  addDirectory(path: string, options: { mode?: number } = {}): this {
    const mode = options.mode ?? DIRECTORY_MODE;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new InputError(`directory mode ${mode} of ${path} is not a permission mode`, { subject: path });
    return this.put({ type: 'directory', path: imagePath(path), mode });
  }

  addSymlink(path: string, target: string): this {
    if (target === '' || target.includes('\0')) throw new InputError(`symlink ${path} has an invalid target`, { subject: path });
    return this.put({ type: 'symlink', path: imagePath(path), target });
  }

  /**
   * Everything under `hostDir`, placed at `path` in the image ("/" for a root filesystem). Symlinks stay symlinks (never
   * followed, so nothing outside the directory is copied); sockets, devices and FIFOs are refused.
   */
  async addDirectoryFromHost(path: string, hostDir: string, options: AddDirectoryOptions = {}): Promise<this> {
    // "/" takes a whole root filesystem: its entries go at the top of the image.
    const atRoot = posix.normalize(`/${path}`) === '/';
    const root = atRoot ? '' : imagePath(path);
    const info = await lstat(hostDir).catch((error: unknown) => {
      throw new InputError(`cannot read ${hostDir}: ${(error as Error).message}`, { subject: hostDir, cause: error });
    });
    if (!info.isDirectory()) throw new InputError(`${hostDir} is not a directory`, { subject: hostDir });
    if (!atRoot) this.addDirectory(root);
    const follow = options.symlinks === 'follow';
    // Real paths of the directories being walked, so a link back up the tree is refused, not looped.
    const walking = new Set<string>();
    const walk = async (relative: string): Promise<void> => {
      const here = await realpath(join(hostDir, relative));
      if (walking.has(here)) throw new InputError(`${join(hostDir, relative)} links back to a directory that contains it`, { subject: hostDir });
      walking.add(here);
      const names = (await readdir(join(hostDir, relative))).sort();
      for (const name of names) {
        const childRelative = relative === '' ? name : `${relative}/${name}`;
        if (options.filter && !options.filter(childRelative)) continue;
        const hostPath = join(hostDir, childRelative);
        const link = await lstat(hostPath);
        const child = follow && link.isSymbolicLink() ? await stat(hostPath).catch(() => link) : link;
        const target = atRoot ? childRelative : `${root}/${childRelative}`;
        if (child.isDirectory()) {
          this.addDirectory(target);
          await walk(childRelative);
        } else if (child.isFile()) {
          await this.addFileFromHost(target, follow ? await realpath(hostPath) : hostPath);
        } else if (child.isSymbolicLink()) {
          // Kept as a link; with 'follow', only a dangling link gets here.
          this.addSymlink(target, await readlink(hostPath));
        } else {
          throw new InputError(`${hostPath} is not a regular file, directory or symlink`, { subject: hostPath });
        }
      }
      walking.delete(here);
    };
    await walk('');
    return this;
  }

  /** Every entry, parents implied, in the order a layer writes them (see compareImagePaths). */
  list(): TreeEntry[] {
    const all = new Map(this.entries);
    for (const path of this.entries.keys()) {
      for (let parent = posix.dirname(path); parent !== '.'; parent = posix.dirname(parent)) {
        const existing = all.get(parent);
        if (existing === undefined) all.set(parent, { type: 'directory', path: parent, mode: DIRECTORY_MODE });
        else if (existing.type !== 'directory') throw new InputError(`${existing.path} is a ${existing.type} but also the parent of ${path}`, { subject: path });
      }
    }
    return [...all.values()].sort((a, b) => compareImagePaths(a.path, b.path));
  }

  get size(): number {
    return this.entries.size;
  }

  private put(entry: TreeEntry): this {
    const existing = this.entries.get(entry.path);
    if (existing !== undefined && !(existing.type === 'directory' && entry.type === 'directory')) {
      throw new InputError(`/${entry.path} is added to the layer twice`, { subject: entry.path });
    }
    // A directory named again keeps a mode set explicitly before.
    if (existing?.type === 'directory' && entry.type === 'directory' && entry.mode === DIRECTORY_MODE) return this;
    this.entries.set(entry.path, entry);
    return this;
  }
}

/**
 * Component by component, each compared as UTF-8 bytes: a directory's entries follow it directly,
 * and the order never depends on the machine's locale or the order files were added.
 */
export function compareImagePaths(a: string, b: string): number {
  const left = a.split('/');
  const right = b.split('/');
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const order = Buffer.compare(Buffer.from(left[i]!, 'utf8'), Buffer.from(right[i]!, 'utf8'));
    if (order !== 0) return order;
  }
  return left.length - right.length;
}
