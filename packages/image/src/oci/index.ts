// OCI images without a daemon: deterministic layers, image config, manifests and index, OCI layout
// output, and a client for the OCI distribution API.
export { MediaType, ociMediaType, isNondistributable } from './media-types.js';
export { isDigest, sha256Digest, digestHex, type Digest } from './digest.js';
export { canonicalJson, canonicalJsonBytes } from './canonical-json.js';
export type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform, ContainerConfig, HealthCheck, HistoryEntry } from './types.js';
export { bufferSource, fileSource, concatSources, type ByteSource, type FileIdentity } from './byte-source.js';
export { FileTree, compareImagePaths, FILE_MODE, EXECUTABLE_MODE, DIRECTORY_MODE, type TreeEntry, type AddFileOptions, type AddDirectoryOptions } from './file-tree.js';
export { tarArchive, type TarArchive, type TarOptions } from './tar.js';
export { buildLayer, layerCacheKey, type BuiltLayer, type Compression, type LayerDigestCache, type LayerSpec, type LayerBuildOptions } from './layer.js';
export { BlobStore } from './blob-store.js';
export { parseReference, formatReference, isValidTag, isValidRepository, type ImageReference } from './reference.js';
export { parseManifest, parsePlatform, formatPlatform, platformMatches, type ParsedManifest } from './manifest.js';
export { applyConfigChanges, buildImageConfig, rfc3339, type ConfigChanges } from './config.js';
export { baseFromRegistry, baseFromLayout, scratchBase, type BaseImage, type BasePlatformImage, type BaseSelection, type BlobOrigin } from './base.js';
export {
  buildImage,
  ANNOTATION_BASE_DIGEST,
  ANNOTATION_BASE_NAME,
  ANNOTATION_REF_NAME,
  type BuildImageOptions,
  type BuiltImage,
  type BuiltManifest,
  type ImageBlob,
} from './build.js';
export { pushImage, type PushOptions, type PushProgress, type PushResult, type PushedBlob } from './push.js';
export { writeOciLayout, writeOciArchive, type LayoutOptions, type LayoutResult } from './layout.js';
export { RegistryClient, RemoteBlobSource, RegistryResponseError, pullScope, pushScope, type RegistryClientOptions, type RegistryClientStats, type FetchedManifest } from './registry/client.js';
export { findCredentials, authFilePaths, type RegistryCredentials, type FoundCredentials } from './registry/credentials.js';
export { uploadBlob, type BlobUploadOptions, type BlobUploadProgress, type BlobUploadResult, type BlobUploadStatus } from './registry/upload.js';
export { parseChallenges, type Challenge } from './registry/challenge.js';
export { DEFAULT_RETRY, type RetryPolicy } from './registry/retry.js';
