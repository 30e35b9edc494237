// Reading manifests and indexes (OCI, and Docker v2 schema 2 from older base images) and naming
// platforms. Schema 1 manifests are refused with a reason: they carry no digests of their layers.
import { InputError } from '@ferry/core';
import { isDigest } from './digest.js';
import { INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, MediaType } from './media-types.js';
import type { Descriptor, ImageIndex, ImageManifest, Platform } from './types.js';

export type ParsedManifest =
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest }
  | { kind: 'index'; mediaType: string; index: ImageIndex };

function checkDescriptor(value: unknown, where: string): Descriptor {
  const d = value as Partial<Descriptor> | null;
  if (d === null || typeof d !== 'object' || typeof d.mediaType !== 'string' || typeof d.digest !== 'string' || !isDigest(d.digest)) {
    throw new InputError(`${where} is not a valid descriptor (mediaType, sha256 digest and size)`, { subject: 'base-image' });
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw new InputError(`${where} has no valid size`, { subject: 'base-image' });
  }
  return d as Descriptor;
}

/** Parses manifest or index bytes; `mediaType` is the Content-Type or descriptor type, if known. */
export function parseManifest(bytes: Uint8Array, mediaType?: string, where = 'manifest'): ParsedManifest {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new InputError(`${where} is not JSON`, { subject: 'base-image' });
  }
  const type = (typeof json.mediaType === 'string' ? json.mediaType : undefined) ?? mediaType ?? (Array.isArray(json.manifests) ? MediaType.OciIndex : MediaType.OciManifest);
  if (type === MediaType.DockerSchema1 || type === MediaType.DockerSchema1Signed || json.schemaVersion === 1) {
    throw new InputError(`${where} is a Docker schema 1 manifest, which is not supported: rebuild or re-push the base image with a current tool`, {
      subject: 'base-image',
    });
  }
  if (json.schemaVersion !== 2) throw new InputError(`${where} has schemaVersion ${String(json.schemaVersion)}, expected 2`, { subject: 'base-image' });
  if (INDEX_MEDIA_TYPES.includes(type) || (!MANIFEST_MEDIA_TYPES.includes(type) && Array.isArray(json.manifests))) {
    if (!Array.isArray(json.manifests)) throw new InputError(`${where} is an index without manifests`, { subject: 'base-image' });
    json.manifests.forEach((d, i) => checkDescriptor(d, `${where} manifests[${i}]`));
    return { kind: 'index', mediaType: type, index: json as unknown as ImageIndex };
  }
  if (MANIFEST_MEDIA_TYPES.includes(type)) {
    checkDescriptor(json.config, `${where} config`);
    if (!Array.isArray(json.layers)) throw new InputError(`${where} has no layers list`, { subject: 'base-image' });
    json.layers.forEach((d, i) => checkDescriptor(d, `${where} layers[${i}]`));
    return { kind: 'manifest', mediaType: type, manifest: json as unknown as ImageManifest };
  }
  throw new InputError(`${where} has media type ${type}, which is not an image manifest or index`, { subject: 'base-image' });
}

/** "linux/arm64/v8" → { os, architecture, variant }. */
export function parsePlatform(text: string): Platform {
  const [os, architecture, variant, ...rest] = text.trim().split('/');
  if (!os || !architecture || rest.length > 0) {
    throw new InputError(`platform "${text}" is not os/architecture[/variant], e.g. linux/amd64`, { subject: 'platforms' });
  }
  return { os, architecture, ...(variant ? { variant } : {}) };
}

export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

/** A wanted platform without a variant matches any variant of its architecture. */
export function platformMatches(wanted: Platform, actual: Platform): boolean {
  return wanted.os === actual.os && wanted.architecture === actual.architecture && (wanted.variant === undefined || wanted.variant === actual.variant);
}

/**
 * Whether an index entry is a runnable image: attestation manifests (BuildKit marks them with
 * vnd.docker.reference.type and platform unknown/unknown) describe the base, not the new image.
 */
export function isRunnableImage(descriptor: Descriptor): boolean {
  if (!MANIFEST_MEDIA_TYPES.includes(descriptor.mediaType)) return false;
  if (descriptor.annotations?.['vnd.docker.reference.type'] !== undefined) return false;
  return descriptor.platform?.os !== 'unknown';
}
