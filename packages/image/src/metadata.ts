// The image's metadata: OCI annotations on the manifest (and index) and the same values as config
// labels, so both registries (annotations) and runtimes (`podman inspect` labels) show them. Every
// value comes from the inputs and the source context, never from the clock: `created` is the
// source date epoch, so the digest does not change between two builds of the same commit.
import { rfc3339 } from './oci/index.js';
import type { SourceContext } from './ci-context.js';

export const ANNOTATION = {
  source: 'org.opencontainers.image.source',
  revision: 'org.opencontainers.image.revision',
  created: 'org.opencontainers.image.created',
  version: 'org.opencontainers.image.version',
  title: 'org.opencontainers.image.title',
  modelName: 'ferry.model.name',
  modelVersion: 'ferry.model.version',
  modelDigest: 'ferry.model.digest',
  runtime: 'ferry.runtime',
} as const;

export interface MetadataInputs {
  source: SourceContext;
  modelName: string;
  modelVersion: string | undefined;
  modelDigest: string;
  runtime: string;
  /** Seconds since the epoch. */
  created: number;
}

export function imageAnnotations(inputs: MetadataInputs): Record<string, string> {
  const { source } = inputs;
  const annotations: Record<string, string> = {};
  if (source.repositoryUrl !== undefined) annotations[ANNOTATION.source] = source.repositoryUrl;
  if (source.revision !== undefined) annotations[ANNOTATION.revision] = source.revision;
  annotations[ANNOTATION.created] = rfc3339(inputs.created);
  if (inputs.modelVersion) annotations[ANNOTATION.version] = inputs.modelVersion;
  annotations[ANNOTATION.title] = inputs.modelName;
  annotations[ANNOTATION.modelName] = inputs.modelName;
  if (inputs.modelVersion) annotations[ANNOTATION.modelVersion] = inputs.modelVersion;
  annotations[ANNOTATION.modelDigest] = inputs.modelDigest;
  annotations[ANNOTATION.runtime] = inputs.runtime;
  return annotations;
}
