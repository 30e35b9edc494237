// Reading blobs back from a registry: a size-bounded read for small documents, and a check on
// streamed downloads that skips to a range, stops at its end, and verifies a whole blob's digest.
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { Readable, TransformCallback } from 'node:stream';
import { InfrastructureError } from '@ferry/core';
import type { ByteSource } from '../byte-source.js';
import type { Digest } from '../digest.js';
import { TransientError } from './retry.js';

/** The whole stream, refusing more than `limit` bytes. */
export async function readLimited(stream: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > limit) {
      stream.destroy();
      throw new InfrastructureError(`${what}: more than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Skips, limits and (for whole blobs) verifies a blob download; a short one fails as transient. */
export class BlobCheck extends Transform {
  private skipped = 0;
  private passed = 0;
  private readonly hash;

  constructor(
    private readonly what: string,
    private readonly skip: number,
    private readonly length: number,
    private readonly digest: Digest | undefined,
  ) {
    super();
    this.hash = digest === undefined ? undefined : createHash('sha256');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let data = chunk;
    if (this.skipped < this.skip) {
      const drop = Math.min(this.skip - this.skipped, data.length);
      this.skipped += drop;
      data = data.subarray(drop);
    }
    data = data.subarray(0, Math.max(0, this.length - this.passed));
    this.passed += data.length;
    this.hash?.update(data);
    callback(null, data.length > 0 ? data : undefined);
  }

  override _flush(callback: TransformCallback): void {
    if (this.passed !== this.length) return callback(new TransientError(`${this.what}: the download ended after ${this.passed} of ${this.length} bytes`));
    if (this.hash !== undefined && `sha256:${this.hash.digest('hex')}` !== this.digest) {
      return callback(new InfrastructureError(`${this.what}: the downloaded bytes do not match the digest`));
    }
    callback();
  }
}

/** The read side of a registry client that a remote blob needs. */
export interface BlobReader {
  openBlob(repository: string, digest: Digest, size: number, start?: number, end?: number): Promise<Readable>;
}

/** A blob in a registry, readable from any offset (HTTP Range): a base layer to copy elsewhere. */
export class RemoteBlobSource implements ByteSource {
  constructor(
    readonly reader: BlobReader,
    readonly repository: string,
    readonly digest: Digest,
    readonly size: number,
  ) {}

  open(start = 0, end = this.size): Promise<Readable> {
    return this.reader.openBlob(this.repository, this.digest, this.size, start, end);
  }
}
