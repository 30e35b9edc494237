// Where a blob's bytes come from: a file on disk, bytes in memory, a blob in another registry, or
// a concatenation of those (a tar layer is headers in memory and file contents on disk). Every
// source can be reopened at an offset, which is how an interrupted upload resumes without
// buffering anything.
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { InputError } from '@ferry/core';

export interface ByteSource {
  readonly size: number;
  /** A fresh stream of the bytes in [start, end); `end` defaults to the size. */
  open(start?: number, end?: number, signal?: AbortSignal): Promise<Readable>;
}

/** Bytes read per file system call: large enough that a multi-GB layer streams at disk speed. */
export const READ_CHUNK = 1024 * 1024;

function checkRange(source: ByteSource, start: number, end: number): void {
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end <= source.size)) {
    throw new RangeError(`byte range [${start}, ${end}) is outside a source of ${source.size} bytes`);
  }
}

export function bufferSource(bytes: Uint8Array | string): ByteSource {
  const buffer = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const source: ByteSource = {
    size: buffer.length,
    async open(start = 0, end = buffer.length) {
      checkRange(source, start, end);
      return Readable.from(start === end ? [] : [buffer.subarray(start, end)], { objectMode: false });
    },
  };
  return source;
}

export interface FileIdentity {
  size: number;
  /** When given, a file modified after this was recorded is refused instead of read. */
  mtimeMs?: number;
}

/**
 * A file whose size (and modification time) were recorded when the layer was planned: a file that
 * changed since would give bytes that no longer match the digest, so it fails with the path instead.
 */
export function fileSource(path: string, identity: FileIdentity): ByteSource {
  const source: ByteSource = {
    size: identity.size,
    async open(start = 0, end = identity.size, signal) {
      checkRange(source, start, end);
      const handle = await open(path, 'r');
      try {
        const stat = await handle.stat();
        if (stat.size !== identity.size || (identity.mtimeMs !== undefined && stat.mtimeMs !== identity.mtimeMs)) {
          throw new InputError(`${path} changed while the image was being built (it was ${identity.size} bytes, now ${stat.size})`, {
            subject: path,
          });
        }
      } catch (error) {
        await handle.close();
        throw error;
      }
      if (start === end) {
        await handle.close();
        return Readable.from([], { objectMode: false });
      }
      return handle.createReadStream({ start, end: end - 1, highWaterMark: READ_CHUNK, autoClose: true, ...(signal ? { signal } : {}) });
    },
  };
  return source;
}

/** Sources back to back, as one. */
export function concatSources(parts: readonly ByteSource[]): ByteSource {
  const offsets: number[] = [];
  let size = 0;
  for (const part of parts) {
    offsets.push(size);
    size += part.size;
  }
  const source: ByteSource = {
    size,
    async open(start = 0, end = size, signal) {
      checkRange(source, start, end);
      async function* chunks(): AsyncGenerator<Buffer> {
        for (let i = 0; i < parts.length; i++) {
          const part = parts[i]!;
          const partStart = offsets[i]!;
          const from = Math.max(start, partStart) - partStart;
          const to = Math.min(end, partStart + part.size) - partStart;
          if (to <= from) continue;
          const stream = await part.open(from, to, signal);
          let seen = 0;
          for await (const chunk of stream as AsyncIterable<Buffer>) {
            seen += chunk.length;
            yield chunk;
          }
          if (seen !== to - from) throw new Error(`a part of the stream ended after ${seen} of ${to - from} bytes`);
        }
      }
      return Readable.from(chunks(), { objectMode: false, highWaterMark: READ_CHUNK });
    },
  };
  return source;
}

/** Zero bytes, for tar padding, without allocating them all. */
export function zeroSource(size: number): ByteSource {
  return bufferSource(Buffer.alloc(size));
}
