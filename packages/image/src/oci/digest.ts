// Content digests: sha256 only, the algorithm every registry and runtime accepts.
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';

export type Digest = `sha256:${string}`;

const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;

export function isDigest(value: string): value is Digest {
  return DIGEST_PATTERN.test(value);
}

/** The 64 hex characters of a sha256 digest (its file name under blobs/sha256/). */
export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

export function sha256Digest(bytes: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Passes bytes through unchanged, hashing and counting them on the way. */
export class DigestingStream extends Transform {
  private readonly hash = createHash('sha256');
  private count = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.count += chunk.length;
    callback(null, chunk);
  }

  /** Valid once the stream has finished. */
  get digest(): Digest {
    return `sha256:${this.hash.copy().digest('hex')}`;
  }

  get size(): number {
    return this.count;
  }
}
