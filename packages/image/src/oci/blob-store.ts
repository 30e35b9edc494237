// A content-addressed directory of blobs (blobs/sha256/<hex>), the shape of an OCI layout: built
// layers that must exist as bytes (compressed ones) are written here once and read from here.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestingStream, digestHex } from './digest.js';
import type { Digest } from './digest.js';
import { fileSource } from './byte-source.js';
import type { ByteSource } from './byte-source.js';

export class BlobStore {
  constructor(readonly root: string) {}

  get blobsDir(): string {
    return join(this.root, 'blobs', 'sha256');
  }

  pathOf(digest: Digest): string {
    return join(this.blobsDir, digestHex(digest));
  }

  /** Size of the stored blob, or undefined when it is not here. */
  async sizeOf(digest: Digest): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(digest))).size;
    } catch {
      return undefined;
    }
  }

  source(digest: Digest, size: number): ByteSource {
    return fileSource(this.pathOf(digest), { size });
  }

  /**
   * Streams `input` through `transforms` into the store and returns the digest of what was written.
   * The bytes land under a temporary name and are renamed once complete, so a crash never leaves
   * a blob whose content disagrees with its name.
   */
  async write(input: Readable, transforms: Transform[] = [], signal?: AbortSignal): Promise<{ digest: Digest; size: number }> {
    await mkdir(this.blobsDir, { recursive: true });
    const temporary = join(this.blobsDir, `.tmp-${randomBytes(8).toString('hex')}`);
    const digesting = new DigestingStream();
    try {
      await pipeline([input, ...transforms, digesting, createWriteStream(temporary)], signal ? { signal } : {});
      const digest = digesting.digest;
      await rename(temporary, this.pathOf(digest));
      return { digest, size: digesting.size };
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }
}
