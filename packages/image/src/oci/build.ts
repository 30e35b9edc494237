// Assembles the new image: the base's layers, then Ferry's layers (built once, shared by every
// platform), a new config per platform and the manifests, plus an index when the base had one.
// Nothing is pushed or written here: the result says which blobs exist and where their bytes are,
// and push.ts or layout.ts carry them out. The same inputs always give the same digest.
import { throwIfCancelled } from '@ferry/core';
import type { BaseImage } from './base.js';
import type { BlobOrigin } from './base.js';
import { BlobStore } from './blob-store.js';
import { bufferSource } from './byte-source.js';
import type { ByteSource } from './byte-source.js';
import { canonicalJsonBytes } from './canonical-json.js';
import { buildImageConfig, rfc3339 } from './config.js';
import type { ConfigChanges } from './config.js';
import { sha256Digest } from './digest.js';
import type { Digest } from './digest.js';
import { buildLayer } from './layer.js';
import type { BuiltLayer, LayerDigestCache, LayerSpec } from './layer.js';
import { isNondistributable, MediaType, ociMediaType } from './media-types.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from './types.js';

export const ANNOTATION_BASE_NAME = 'org.opencontainers.image.base.name';
export const ANNOTATION_BASE_DIGEST = 'org.opencontainers.image.base.digest';
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';

export interface BuildImageOptions {
  base: BaseImage;
  /** Ferry's layers, in order, on top of the base. Model files belong in layers of their own. */
  layers: readonly LayerSpec[];
  config?: ConfigChanges;
  /** Annotations of every manifest and of the index (org.opencontainers.image.*). */
  annotations?: Record<string, string>;
  /**
   * Seconds since the epoch used for every file time and for the config's `created`
   * (SOURCE_DATE_EPOCH). Default 0, so an unchanged input gives an unchanged digest.
   */
  sourceDateEpoch?: number;
  /**
   * Modification time of the files in Ferry's layers, when it should not follow sourceDateEpoch:
   * a fixed value keeps a model layer's digest (and the registry's copy) from one commit to the next.
   */
  layerMtime?: number;
  /** Remembers digests of uncompressed layers whose files all have content keys. */
  layerDigestCache?: LayerDigestCache;
  /** Scratch space for compressed layers; uncompressed layers are read from the files directly. */
  workDir: string;
  signal?: AbortSignal;
  /** Bytes read so far while building layer `name`. */
  onLayerProgress?: (name: string, bytes: number) => void;
}

/** A blob of the image and where its bytes come from. */
export interface ImageBlob {
  descriptor: Descriptor;
  /** Undefined for non-distributable layers: registries and layouts do not hold them. */
  source: ByteSource | undefined;
  /** A registry repository that already holds it, for cross-repository mounts. */
  origin?: BlobOrigin;
  kind: 'base layer' | 'layer' | 'config';
}

export interface BuiltManifest {
  /** Descriptor with the platform, as an index lists it. */
  descriptor: Descriptor;
  bytes: Buffer;
  manifest: ImageManifest;
  config: ImageConfig;
}

export interface BuiltImage {
  /** The image's own digest: the index's when there is one, else the manifest's. */
  readonly digest: Digest;
  readonly mediaType: string;
  readonly bytes: Buffer;
  /** One per platform. */
  readonly manifests: readonly BuiltManifest[];
  /** The index, for a multi-platform image. */
  readonly index: ImageIndex | undefined;
  /** Ferry's layers, as built. */
  readonly layers: readonly BuiltLayer[];
  /** Every layer and config blob, by digest (manifests and the index are not blobs here). */
  readonly blobs: ReadonlyMap<Digest, ImageBlob>;
  /** Sum of the sizes of distinct layer blobs: what a registry or a pull holds for it. */
  readonly size: number;
}

function manifestAnnotations(base: BaseImage, manifestDigest: Digest, annotations: Record<string, string>): Record<string, string> {
  const result: Record<string, string> = {};
  if (base.name !== undefined) {
    result[ANNOTATION_BASE_NAME] = base.name;
    result[ANNOTATION_BASE_DIGEST] = manifestDigest;
  }
  return { ...result, ...annotations };
}

/** A base descriptor rewritten for an OCI manifest: Docker types become their OCI twins, bytes unchanged. */
function carriedDescriptor(descriptor: Descriptor): Descriptor {
  const { mediaType, digest, size, urls, annotations } = descriptor;
  return { mediaType: ociMediaType(mediaType), digest, size, ...(urls ? { urls } : {}), ...(annotations ? { annotations } : {}) };
}

export async function buildImage(options: BuildImageOptions): Promise<BuiltImage> {
  const { base, signal } = options;
  const epoch = options.sourceDateEpoch ?? 0;
  const created = rfc3339(epoch);
  const store = new BlobStore(options.workDir);
  const annotations = options.annotations ?? {};

  const layers: BuiltLayer[] = [];
  for (const spec of options.layers) {
    throwIfCancelled(signal);
    layers.push(
      await buildLayer(spec, {
        mtime: options.layerMtime ?? epoch,
        store,
        ...(options.layerDigestCache ? { digestCache: options.layerDigestCache } : {}),
        ...(signal ? { signal } : {}),
        ...(options.onLayerProgress ? { onBytes: (bytes: number) => options.onLayerProgress!(spec.name, bytes) } : {}),
      }),
    );
  }

  // In manifest order (base layers, Ferry's layers, configs), which is the order a push sends them.
  const blobs = new Map<Digest, ImageBlob>();
  for (const image of base.images) {
    for (const layer of image.layers) {
      if (!blobs.has(layer.descriptor.digest)) {
        blobs.set(layer.descriptor.digest, {
          descriptor: carriedDescriptor(layer.descriptor),
          source: isNondistributable(layer.descriptor.mediaType) ? undefined : layer.source,
          ...(layer.origin ? { origin: layer.origin } : {}),
          kind: 'base layer',
        });
      }
    }
  }
  for (const layer of layers) {
    if (!blobs.has(layer.descriptor.digest)) blobs.set(layer.descriptor.digest, { descriptor: layer.descriptor, source: layer.source, kind: 'layer' });
  }

  const manifests: BuiltManifest[] = [];
  for (const image of base.images) {
    const config = buildImageConfig(
      image.config,
      layers.map((layer) => ({ name: layer.name, diffId: layer.diffId })),
      options.config ?? {},
      created,
    );
    const configBytes = canonicalJsonBytes(config);
    const configDescriptor: Descriptor = { mediaType: MediaType.OciConfig, digest: sha256Digest(configBytes), size: configBytes.length };
    blobs.set(configDescriptor.digest, { descriptor: configDescriptor, source: bufferSource(configBytes), kind: 'config' });
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: configDescriptor,
      layers: [...image.layers.map((layer) => carriedDescriptor(layer.descriptor)), ...layers.map((layer) => layer.descriptor)],
    };
    const manifestNotes = manifestAnnotations(base, image.manifestDigest, annotations);
    if (Object.keys(manifestNotes).length > 0) manifest.annotations = manifestNotes;
    const bytes = canonicalJsonBytes(manifest);
    const platform: Platform = { ...image.platform };
    manifests.push({
      descriptor: { mediaType: MediaType.OciManifest, digest: sha256Digest(bytes), size: bytes.length, platform },
      bytes,
      manifest,
      config,
    });
  }

  const size = [...blobs.values()].filter((blob) => blob.kind !== 'config').reduce((sum, blob) => sum + blob.descriptor.size, 0);
  if (!base.isIndex && manifests.length === 1) {
    const only = manifests[0]!;
    return { digest: only.descriptor.digest, mediaType: MediaType.OciManifest, bytes: only.bytes, manifests, index: undefined, layers, blobs, size };
  }
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: manifests.map((m) => m.descriptor),
    ...(Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}),
  };
  const bytes = canonicalJsonBytes(index);
  return { digest: sha256Digest(bytes), mediaType: MediaType.OciIndex, bytes, manifests, index, layers, blobs, size };
}
