// Pushes a built image: every blob first (existing ones skipped, others mounted or uploaded), then
// each platform manifest by digest, then the index by digest, and the tags last. A push that stops
// anywhere before the end leaves no tag pointing at an incomplete image, and a re-run sends only
// what the registry does not hold yet.
import { InputError, throwIfCancelled } from '@ferry/core';
import type { BuiltImage, ImageBlob } from './build.js';
import type { Digest } from './digest.js';
import { isValidRepository, isValidTag } from './reference.js';
import type { RegistryClient } from './registry/client.js';
import { pushScope } from './registry/client.js';
import { uploadBlob } from './registry/upload.js';
import type { BlobUploadProgress, BlobUploadResult } from './registry/upload.js';

export interface PushOptions {
  /** Client of the target registry. */
  client: RegistryClient;
  repository: string;
  /** Tags written once everything else is in place. */
  tags?: readonly string[];
  /** Blobs uploaded at once. Default 3. */
  concurrency?: number;
  /** More repositories of the target registry to try mounting blobs from. */
  mountFrom?: readonly string[];
  /** Per-blob progress, with the running total of bytes sent for the whole push. */
  onProgress?: (progress: PushProgress) => void;
}

export interface PushProgress extends BlobUploadProgress {
  /** Bytes sent for all blobs so far. */
  bytesUploaded: number;
}

export interface PushedBlob extends BlobUploadResult {
  kind: ImageBlob['kind'];
}

export interface PushResult {
  /** registry/repository@digest */
  reference: string;
  digest: Digest;
  tags: string[];
  /** Blob bytes sent over the network (reused blobs count 0). */
  bytesUploaded: number;
  blobs: PushedBlob[];
  /** Blobs the registry already held or mounted from another repository. */
  blobsReused: number;
  blobsUploaded: number;
}

async function inParallel<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const at = next++;
      try {
        results[at] = await work(items[at]!);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const rejected = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (rejected) throw rejected.reason;
  return results;
}

export async function pushImage(image: BuiltImage, options: PushOptions): Promise<PushResult> {
  const { client, repository } = options;
  if (!isValidRepository(repository)) {
    throw new InputError(`repository "${repository}" is not valid: lowercase letters, digits and separators (. _ __ -), split by /`, { subject: 'image' });
  }
  const tags = [...new Set(options.tags ?? [])];
  const badTag = tags.find((tag) => !isValidTag(tag));
  if (badTag !== undefined) throw new InputError(`tag "${badTag}" is not valid: letters, digits, _ . - and at most 128 characters`, { subject: 'tags' });

  const extraMounts = options.mountFrom ?? [];
  const candidates = (blob: ImageBlob) =>
    [...(blob.origin && blob.origin.registry === client.registry ? [blob.origin.repository] : []), ...extraMounts].filter((from) => from !== repository);
  const pushable = [...image.blobs.values()].filter((blob) => blob.source !== undefined);
  // One token covers the whole push, including pull access to every repository mounted from.
  const mountRepos = [...new Set(pushable.flatMap(candidates))];
  const scopes = [pushScope(repository), ...mountRepos.map((from) => `repository:${from}:pull`)];

  let bytesUploaded = 0;
  const sentPerBlob = new Map<Digest, number>();
  const blobs = await inParallel(pushable, options.concurrency ?? 3, async (blob): Promise<PushedBlob> => {
    throwIfCancelled(client.signal);
    const result = await uploadBlob(client, repository, blob.descriptor.digest, blob.source!, {
      mountFrom: candidates(blob),
      scopes,
      onProgress: (progress) => {
        const previous = sentPerBlob.get(progress.digest) ?? 0;
        sentPerBlob.set(progress.digest, progress.bytesDone);
        bytesUploaded += Math.max(0, progress.bytesDone - previous);
        options.onProgress?.({ ...progress, bytesUploaded });
      },
    });
    return { ...result, kind: blob.kind };
  });

  for (const manifest of image.manifests) {
    throwIfCancelled(client.signal);
    if (manifest.descriptor.digest === image.digest) continue;
    await client.putManifest(repository, manifest.descriptor.digest, manifest.descriptor.mediaType, manifest.bytes, scopes);
  }
  await client.putManifest(repository, image.digest, image.mediaType, image.bytes, scopes);
  // Tags last: until here, nothing points at the new image except its digest.
  for (const tag of tags) {
    throwIfCancelled(client.signal);
    await client.putManifest(repository, tag, image.mediaType, image.bytes, scopes);
  }

  return {
    reference: `${client.registry}/${repository}@${image.digest}`,
    digest: image.digest,
    tags,
    bytesUploaded: blobs.reduce((sum, blob) => sum + blob.bytesSent, 0),
    blobs,
    blobsReused: blobs.filter((blob) => blob.status !== 'uploaded').length,
    blobsUploaded: blobs.filter((blob) => blob.status === 'uploaded').length,
  };
}
