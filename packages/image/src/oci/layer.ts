// One image layer from a FileTree: a deterministic tar, optionally gzip-compressed, with its
// digest (of the blob) and diffID (of the uncompressed tar) computed while streaming. Uncompressed
// layers are never copied: the blob is the tar assembled on the fly from the files themselves,
// which suits model weights (nearly incompressible, and often larger than the runner's free disk).
import { Writable } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { constants as zlibConstants, createGzip } from 'node:zlib';
import { canonicalJsonBytes } from './canonical-json.js';
import { DigestingStream, sha256Digest } from './digest.js';
import type { Digest } from './digest.js';
import type { BlobStore } from './blob-store.js';
import type { ByteSource } from './byte-source.js';
import type { FileTree } from './file-tree.js';
import { MediaType } from './media-types.js';
import { tarArchive } from './tar.js';
import type { Descriptor } from './types.js';

export type Compression = 'none' | 'gzip';

export interface LayerSpec {
  /** Names the layer in reports and in the image history ("model", "runtime config"). */
  name: string;
  files: FileTree;
  /** 'none' (the default) is byte-identical on every machine; gzip depends on Node's zlib. */
  compression?: Compression;
  annotations?: Record<string, string>;
}

export interface BuiltLayer {
  readonly name: string;
  readonly descriptor: Descriptor;
  readonly diffId: Digest;
  /** Size of the uncompressed tar. */
  readonly uncompressedSize: number;
  /** Sum of the sizes of the files inside. */
  readonly contentBytes: number;
  readonly entryCount: number;
  readonly source: ByteSource;
  /** The digest came from the layer digest cache; the bytes were not read. */
  readonly fromCache?: boolean;
}

/**
 * Remembers uncompressed layer digests by what the layer holds (paths, modes, and each file's
 * content key), so an unchanged layer of large files is not read again to learn its digest.
 */
export interface LayerDigestCache {
  get(key: string): Promise<{ digest: Digest; size: number } | undefined>;
  set(key: string, value: { digest: Digest; size: number }): Promise<void>;
}

export interface LayerBuildOptions {
  /** Seconds since the epoch for every entry (SOURCE_DATE_EPOCH). Default 0. */
  mtime?: number;
  /** Where compressed layers are written; uncompressed layers need no copy. */
  store: BlobStore;
  signal?: AbortSignal;
  /** Bytes of the uncompressed tar read so far, for progress output. */
  onBytes?: (bytes: number) => void;
  /** Used for uncompressed layers whose every file has a content key. */
  digestCache?: LayerDigestCache;
}

/** The cache key of a layer: everything the tar's bytes depend on, or undefined when a file's content is unnamed. */
export function layerCacheKey(files: FileTree, mtime: number): string | undefined {
  const entries: unknown[] = [];
  for (const entry of files.list()) {
    if (entry.type === 'file') {
      if (entry.contentKey === undefined) return undefined;
      entries.push(['f', entry.path, entry.mode, entry.source.size, entry.contentKey]);
    } else if (entry.type === 'directory') {
      entries.push(['d', entry.path, entry.mode]);
    } else {
      entries.push(['l', entry.path, entry.target]);
    }
  }
  // The version names the tar writer: a change to its output must change every key.
  return sha256Digest(canonicalJsonBytes({ writer: 'ferry-tar/1', mtime, entries }));
}

/** Counts bytes as they pass, for progress. */
class ByteCounter extends Transform {
  constructor(private readonly onBytes: (bytes: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.onBytes(chunk.length);
    callback(null, chunk);
  }
}

/**
 * zlib writes a gzip header whose OS byte depends on the platform that compressed it. Rewriting
 * the 10 header bytes to fixed values (no name, no mtime, OS "unknown") keeps the blob identical
 * wherever it is built with the same zlib.
 */
class FixedGzipHeader extends Transform {
  private seen = 0;
  static readonly HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff]);
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.seen < 10) {
      const copy = Buffer.from(chunk);
      for (let i = 0; i < copy.length && this.seen + i < 10; i++) copy[i] = FixedGzipHeader.HEADER[this.seen + i]!;
      this.seen += chunk.length;
      callback(null, copy);
      return;
    }
    callback(null, chunk);
  }
}

const discard = () => new Writable({ write: (_chunk, _encoding, callback) => callback() });

export async function buildLayer(spec: LayerSpec, options: LayerBuildOptions): Promise<BuiltLayer> {
  const archive = tarArchive(spec.files.list(), options.mtime === undefined ? {} : { mtime: options.mtime });
  const compression = spec.compression ?? 'none';
  const counting = options.onBytes ? [new ByteCounter(options.onBytes)] : [];
  const signalOption = options.signal ? { signal: options.signal } : {};
  const annotations = spec.annotations && Object.keys(spec.annotations).length > 0 ? { annotations: { ...spec.annotations } } : {};
  const common = { name: spec.name, contentBytes: archive.contentBytes, entryCount: archive.entryCount, uncompressedSize: archive.source.size };

  if (compression === 'none') {
    const key = options.digestCache ? layerCacheKey(spec.files, options.mtime ?? 0) : undefined;
    const known = key === undefined ? undefined : await options.digestCache!.get(key);
    if (known !== undefined && known.size === archive.source.size) {
      options.onBytes?.(archive.source.size);
      return {
        ...common,
        descriptor: { mediaType: MediaType.OciLayer, digest: known.digest, size: archive.source.size, ...annotations },
        diffId: known.digest,
        source: archive.source,
        fromCache: true,
      };
    }
    const digesting = new DigestingStream();
    await pipeline([await archive.source.open(0, undefined, options.signal), ...counting, digesting, discard()], signalOption);
    const digest = digesting.digest;
    if (key !== undefined) await options.digestCache!.set(key, { digest, size: archive.source.size });
    return {
      ...common,
      descriptor: { mediaType: MediaType.OciLayer, digest, size: archive.source.size, ...annotations },
      diffId: digest,
      source: archive.source,
    };
  }

  const uncompressed = new DigestingStream();
  const gzip = createGzip({ level: zlibConstants.Z_DEFAULT_COMPRESSION });
  const stored = await options.store.write(
    await archive.source.open(0, undefined, options.signal),
    [...counting, uncompressed, gzip, new FixedGzipHeader()],
    options.signal,
  );
  return {
    ...common,
    descriptor: { mediaType: MediaType.OciLayerGzip, digest: stored.digest, size: stored.size, ...annotations },
    diffId: uncompressed.digest,
    source: options.store.source(stored.digest, stored.size),
  };
}
