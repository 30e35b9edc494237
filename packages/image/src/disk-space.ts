// Free space on the runner before a build writes large files: an OCI layout or archive holds every
// byte of the model, and a Dockerfile build holds it in the builder's storage and again in the
// exported layout. A warning up front beats an ENOSPC half way through.
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface DiskCheck {
  path: string;
  freeBytes: number;
  neededBytes: number;
  enough: boolean;
}

/** Free bytes on the filesystem that holds `path` (or its nearest existing parent). */
export async function freeBytes(path: string): Promise<number | undefined> {
  for (let dir = path; ; dir = dirname(dir)) {
    try {
      const info = await statfs(dir);
      return Number(info.bavail) * Number(info.bsize);
    } catch {
      if (dirname(dir) === dir) return undefined;
    }
  }
}

/** Compares free space with what will be written, with 10% headroom for metadata and rounding. */
export async function checkDiskSpace(path: string, neededBytes: number): Promise<DiskCheck | undefined> {
  const free = await freeBytes(path);
  if (free === undefined) return undefined;
  return { path, freeBytes: free, neededBytes, enough: free >= neededBytes * 1.1 };
}
