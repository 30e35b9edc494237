// The image without a registry: an OCI image layout directory (oci-layout, index.json,
// blobs/sha256/…) or a tarball of one. The manifest bytes are the ones a push sends, so the
// digest is the same either way.
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { InfrastructureError, InputError, throwIfCancelled } from '@ferry/core';
import { ANNOTATION_REF_NAME } from './build.js';
import type { BuiltImage } from './build.js';
import { bufferSource } from './byte-source.js';
import type { ByteSource } from './byte-source.js';
import { canonicalJsonBytes } from './canonical-json.js';
import { DigestingStream, digestHex } from './digest.js';
import type { Digest } from './digest.js';
import { FileTree } from './file-tree.js';
import { MediaType } from './media-types.js';
import { tarArchive } from './tar.js';
import type { Descriptor, ImageIndex } from './types.js';

export interface LayoutOptions {
  /** Recorded as org.opencontainers.image.ref.name, the name skopeo and umoci use (oci:dir:tag). */
  tag?: string;
  signal?: AbortSignal;
}

export interface LayoutResult {
  path: string;
  digest: Digest;
  /** Bytes written for blobs (blobs already present are not rewritten). */
  bytesWritten: number;
}

const LAYOUT_FILE = canonicalJsonBytes({ imageLayoutVersion: '1.0.0' });

/** Every blob of the image, manifests and index included, with its source. */
function layoutBlobs(image: BuiltImage): Map<Digest, { size: number; source: ByteSource }> {
  const all = new Map<Digest, { size: number; source: ByteSource }>();
  for (const blob of image.blobs.values()) {
    if (blob.source !== undefined) all.set(blob.descriptor.digest, { size: blob.descriptor.size, source: blob.source });
  }
  for (const manifest of image.manifests) all.set(manifest.descriptor.digest, { size: manifest.bytes.length, source: bufferSource(manifest.bytes) });
  all.set(image.digest, { size: image.bytes.length, source: bufferSource(image.bytes) });
  return all;
}

function rootDescriptor(image: BuiltImage, tag: string | undefined): Descriptor {
  return {
    mediaType: image.mediaType,
    digest: image.digest,
    size: image.bytes.length,
    ...(tag === undefined ? {} : { annotations: { [ANNOTATION_REF_NAME]: tag } }),
  };
}

/**
 * Writes (or adds to) an OCI layout directory. Blobs already there are kept; index.json gains the
 * image, replacing an entry with the same tag.
 */
export async function writeOciLayout(image: BuiltImage, dir: string, options: LayoutOptions = {}): Promise<LayoutResult> {
  const blobsDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobsDir, { recursive: true });
  let index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
  const existing = await readFile(join(dir, 'index.json'), 'utf8').catch(() => undefined);
  if (existing !== undefined) {
    try {
      index = JSON.parse(existing) as ImageIndex;
    } catch {
      throw new InputError(`${dir}/index.json exists but is not JSON: choose an empty directory for the OCI layout`, { subject: 'oci-layout' });
    }
  }
  let bytesWritten = 0;
  for (const [digest, blob] of layoutBlobs(image)) {
    throwIfCancelled(options.signal);
    const path = join(blobsDir, digestHex(digest));
    if ((await stat(path).catch(() => undefined))?.size === blob.size) continue;
    const temporary = `${path}.tmp-${randomBytes(6).toString('hex')}`;
    const digesting = new DigestingStream();
    try {
      await pipeline([await blob.source.open(0, blob.size, options.signal), digesting, createWriteStream(temporary)], options.signal ? { signal: options.signal } : {});
      if (digesting.digest !== digest) throw new InfrastructureError(`blob ${digest} read back as ${digesting.digest} while writing the OCI layout`);
      await rename(temporary, path);
      bytesWritten += blob.size;
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }
  const keep = index.manifests.filter((d) => (options.tag === undefined ? d.digest !== image.digest : d.annotations?.[ANNOTATION_REF_NAME] !== options.tag));
  index = { ...index, schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [...keep, rootDescriptor(image, options.tag)] };
  await writeFile(join(dir, 'oci-layout'), LAYOUT_FILE);
  // index.json last: a layout interrupted before this point does not list the image.
  const indexPath = join(dir, 'index.json');
  await writeFile(`${indexPath}.tmp`, canonicalJsonBytes(index));
  await rename(`${indexPath}.tmp`, indexPath);
  return { path: dir, digest: image.digest, bytesWritten };
}

/** The OCI layout of the image as one deterministic tar file (what `skopeo copy oci-archive:` reads). */
export async function writeOciArchive(image: BuiltImage, file: string, options: LayoutOptions & { mtime?: number } = {}): Promise<LayoutResult> {
  const tree = new FileTree();
  tree.addFile('oci-layout', LAYOUT_FILE);
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [rootDescriptor(image, options.tag)] };
  tree.addFile('index.json', canonicalJsonBytes(index));
  tree.addDirectory('blobs/sha256');
  for (const [digest, blob] of layoutBlobs(image)) tree.addFileFromSource(`blobs/sha256/${digestHex(digest)}`, blob.source);
  const archive = tarArchive(tree.list(), options.mtime === undefined ? {} : { mtime: options.mtime });
  const temporary = `${file}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    await pipeline([await archive.source.open(0, undefined, options.signal), createWriteStream(temporary)], options.signal ? { signal: options.signal } : {});
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return { path: file, digest: image.digest, bytesWritten: archive.source.size };
}
