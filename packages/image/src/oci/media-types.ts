// Media types of the OCI image spec and of Docker's v2 schema 2, which base images may still use.

export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  OciLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  DockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  DockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export const MANIFEST_MEDIA_TYPES: readonly string[] = [MediaType.OciManifest, MediaType.DockerManifest];
export const INDEX_MEDIA_TYPES: readonly string[] = [MediaType.OciIndex, MediaType.DockerManifestList];

/** What a pull asks for: images and indexes in both formats (schema 1 is refused later, with a reason). */
export const MANIFEST_ACCEPT = [MediaType.OciIndex, MediaType.OciManifest, MediaType.DockerManifestList, MediaType.DockerManifest].join(', ');

/**
 * The OCI equivalent of a Docker layer or config media type. The bytes are the same format, so the
 * blob and its digest are kept; only the descriptor changes. Foreign layers become non-distributable
 * ones, which keep their URLs and are never uploaded.
 */
export function ociMediaType(mediaType: string): string {
  switch (mediaType) {
    case MediaType.DockerLayerGzip:
      return MediaType.OciLayerGzip;
    case MediaType.DockerForeignLayerGzip:
      return MediaType.OciLayerNondistributableGzip;
    case MediaType.DockerConfig:
      return MediaType.OciConfig;
    case MediaType.DockerManifest:
      return MediaType.OciManifest;
    case MediaType.DockerManifestList:
      return MediaType.OciIndex;
    default:
      return mediaType;
  }
}

/** Non-distributable (foreign) layers live elsewhere: registries do not store them, so they are never pushed. */
export function isNondistributable(mediaType: string): boolean {
  return mediaType.startsWith('application/vnd.oci.image.layer.nondistributable.') || mediaType === MediaType.DockerForeignLayerGzip;
}
