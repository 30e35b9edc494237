// The base image a serving image starts from: read from a registry, from an OCI layout directory,
// or nothing (scratch). A multi-platform base gives one entry per platform; its layers are not
// downloaded here, only described, with a source to stream them from when they must be copied.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '@ferry/core';
import { fileSource } from './byte-source.js';
import type { ByteSource } from './byte-source.js';
import { digestHex, isDigest, sha256Digest } from './digest.js';
import type { Digest } from './digest.js';
import { formatPlatform, isRunnableImage, parseManifest, parsePlatform, platformMatches } from './manifest.js';
import { MediaType } from './media-types.js';
import { formatReference, parseReference } from './reference.js';
import type { ImageReference } from './reference.js';
import type { RegistryClient } from './registry/client.js';
import type { Descriptor, ImageConfig, ImageManifest, Platform } from './types.js';

/** Where a blob can be mounted from: the registry and repository that hold it. */
export interface BlobOrigin {
  registry: string;
  repository: string;
}

export interface BaseBlob {
  descriptor: Descriptor;
  /** Undefined for non-distributable layers, which are never copied. */
  source: ByteSource | undefined;
  origin?: BlobOrigin;
}

export interface BasePlatformImage {
  platform: Platform;
  /** Digest of this platform's manifest in the base. */
  manifestDigest: Digest;
  manifest: ImageManifest;
  config: ImageConfig;
  /** The base's layers in order, with where to read them. */
  layers: BaseBlob[];
}

export interface BaseImage {
  /** How the user named it (for the base.name annotation); undefined for scratch. */
  name: string | undefined;
  /** Digest of the base's manifest or index; undefined for scratch. */
  digest: Digest | undefined;
  /** The base was a multi-platform index: the new image is one too. */
  isIndex: boolean;
  images: BasePlatformImage[];
}

export interface BaseSelection {
  /** Platforms to keep from a multi-platform base, e.g. ["linux/amd64"]; all when empty. */
  platforms?: readonly string[];
}

function selectPlatforms<T extends { platform: Platform }>(candidates: T[], selection: BaseSelection, where: string): T[] {
  const wanted = (selection.platforms ?? []).map(parsePlatform);
  if (wanted.length === 0) return candidates;
  const chosen = candidates.filter((candidate) => wanted.some((w) => platformMatches(w, candidate.platform)));
  const missing = wanted.filter((w) => !candidates.some((candidate) => platformMatches(w, candidate.platform)));
  if (missing.length > 0) {
    throw new InputError(
      `${where} has no image for ${missing.map(formatPlatform).join(', ')} (it has ${candidates.map((c) => formatPlatform(c.platform)).join(', ') || 'none'})`,
      { subject: 'platforms' },
    );
  }
  return chosen;
}

function platformOfConfig(config: ImageConfig): Platform {
  return { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
}

function parseConfig(bytes: Buffer, where: string): ImageConfig {
  try {
    const config = JSON.parse(bytes.toString('utf8')) as ImageConfig;
    if (typeof config.os !== 'string' || typeof config.architecture !== 'string') throw new Error('no os/architecture');
    return config;
  } catch (error) {
    throw new InputError(`${where} is not a valid image config: ${(error as Error).message}`, { subject: 'base-image' });
  }
}

/** An empty base for the given platforms (default linux/amd64): the image holds only Ferry's layers. */
export function scratchBase(platforms: readonly string[] = ['linux/amd64']): BaseImage {
  const images = platforms.map((text): BasePlatformImage => {
    const platform = parsePlatform(text);
    const config: ImageConfig = { architecture: platform.architecture, os: platform.os, ...(platform.variant ? { variant: platform.variant } : {}), config: {}, rootfs: { type: 'layers', diff_ids: [] } };
    const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: sha256Digest('{}'), size: 2 }, layers: [] };
    return { platform, manifestDigest: sha256Digest(''), manifest, config, layers: [] };
  });
  return { name: undefined, digest: undefined, isIndex: platforms.length > 1, images };
}

/** Reads a base image from a registry: its index or manifest, and the config of each selected platform. */
export async function baseFromRegistry(client: RegistryClient, reference: string | ImageReference, selection: BaseSelection = {}): Promise<BaseImage> {
  const ref = typeof reference === 'string' ? parseReference(reference, 'base-image') : reference;
  const name = formatReference(ref);
  const origin: BlobOrigin = { registry: ref.registry, repository: ref.repository };
  const root = await client.getManifest(ref.repository, ref.digest ?? ref.tag ?? 'latest').catch((error: unknown) => {
    if (error instanceof InputError) throw new InputError(`base image ${name} was not found`, { subject: 'base-image', cause: error });
    throw error;
  });
  const parsed = parseManifest(root.bytes, root.mediaType, `base image ${name}`);
  const load = async (manifest: ImageManifest, manifestDigest: Digest, platform: Platform | undefined): Promise<BasePlatformImage> => {
    const config = parseConfig(await client.readBlob(ref.repository, manifest.config.digest, manifest.config.size), `config of ${name}`);
    return {
      platform: platform ?? platformOfConfig(config),
      manifestDigest,
      manifest,
      config,
      layers: manifest.layers.map((descriptor) => ({
        descriptor,
        source: descriptor.urls?.length ? undefined : client.blobSource(ref.repository, descriptor.digest, descriptor.size),
        origin,
      })),
    };
  };
  if (parsed.kind === 'manifest') {
    const image = await load(parsed.manifest, root.digest, undefined);
    return { name, digest: root.digest, isIndex: false, images: selectPlatforms([image], selection, `base image ${name}`) };
  }
  const candidates = parsed.index.manifests.filter(isRunnableImage).map((descriptor) => ({ descriptor, platform: descriptor.platform ?? { os: 'linux', architecture: 'amd64' } }));
  const chosen = selectPlatforms(candidates, selection, `base image ${name}`);
  const images: BasePlatformImage[] = [];
  for (const { descriptor, platform } of chosen) {
    const fetched = await client.getManifest(ref.repository, descriptor.digest);
    const entry = parseManifest(fetched.bytes, descriptor.mediaType, `${name} (${formatPlatform(platform)})`);
    if (entry.kind !== 'manifest') throw new InputError(`${name} nests an index inside its index, which is not supported`, { subject: 'base-image' });
    images.push(await load(entry.manifest, fetched.digest, platform));
  }
  return { name, digest: root.digest, isIndex: true, images };
}

async function readLayoutBlob(dir: string, descriptor: Descriptor, where: string): Promise<Buffer> {
  const path = join(dir, 'blobs', 'sha256', digestHex(descriptor.digest));
  const bytes = await readFile(path).catch(() => {
    throw new InputError(`${where}: blob ${descriptor.digest} is missing from the OCI layout ${dir}`, { subject: 'base-image' });
  });
  if (sha256Digest(bytes) !== descriptor.digest) throw new InputError(`${where}: blob ${descriptor.digest} in ${dir} does not match its digest`, { subject: 'base-image' });
  return bytes;
}

/**
 * Reads a base image from an OCI layout directory. `reference` picks the entry of index.json by
 * its org.opencontainers.image.ref.name or by digest; it may be left out when there is one entry.
 */
export async function baseFromLayout(dir: string, reference?: string, selection: BaseSelection = {}): Promise<BaseImage> {
  const where = `OCI layout ${dir}`;
  const indexBytes = await readFile(join(dir, 'index.json')).catch(() => {
    throw new InputError(`${dir} is not an OCI layout directory (no index.json)`, { subject: 'base-image' });
  });
  const top = parseManifest(indexBytes, MediaType.OciIndex, `${where} index.json`);
  if (top.kind !== 'index') throw new InputError(`${where}: index.json is not an image index`, { subject: 'base-image' });
  const entries = top.index.manifests;
  const refName = (d: Descriptor) => d.annotations?.['org.opencontainers.image.ref.name'];
  let chosen: Descriptor | undefined;
  if (reference !== undefined) {
    chosen = entries.find((d) => refName(d) === reference || (isDigest(reference) && d.digest === reference));
  } else if (entries.length === 1) {
    chosen = entries[0];
  }
  if (chosen === undefined) {
    const names = entries.map((d) => refName(d) ?? d.digest).join(', ');
    throw new InputError(
      reference === undefined ? `${where} holds ${entries.length} images (${names}): name one` : `${where} has no image named ${reference} (it has ${names})`,
      { subject: 'base-image' },
    );
  }
  const name = `oci:${dir}${reference === undefined ? '' : `:${reference}`}`;
  const layerSource = (descriptor: Descriptor): ByteSource | undefined =>
    descriptor.urls?.length ? undefined : fileSource(join(dir, 'blobs', 'sha256', digestHex(descriptor.digest)), { size: descriptor.size });
  const load = async (descriptor: Descriptor, platform: Platform | undefined): Promise<BasePlatformImage> => {
    const parsed = parseManifest(await readLayoutBlob(dir, descriptor, where), descriptor.mediaType, `${where} ${descriptor.digest}`);
    if (parsed.kind !== 'manifest') throw new InputError(`${where}: nested indexes are not supported`, { subject: 'base-image' });
    const config = parseConfig(await readLayoutBlob(dir, parsed.manifest.config, where), `${where} config`);
    return {
      platform: platform ?? platformOfConfig(config),
      manifestDigest: descriptor.digest,
      manifest: parsed.manifest,
      config,
      layers: parsed.manifest.layers.map((layer) => ({ descriptor: layer, source: layerSource(layer) })),
    };
  };
  const root = parseManifest(await readLayoutBlob(dir, chosen, where), chosen.mediaType, `${where} ${chosen.digest}`);
  if (root.kind === 'manifest') {
    const image = await load(chosen, undefined);
    return { name, digest: chosen.digest, isIndex: false, images: selectPlatforms([image], selection, where) };
  }
  const candidates = root.index.manifests.filter(isRunnableImage).map((descriptor) => ({ descriptor, platform: descriptor.platform ?? { os: 'linux', architecture: 'amd64' } }));
  const images: BasePlatformImage[] = [];
  for (const { descriptor, platform } of selectPlatforms(candidates, selection, where)) images.push(await load(descriptor, platform));
  return { name, digest: chosen.digest, isIndex: true, images };
}
