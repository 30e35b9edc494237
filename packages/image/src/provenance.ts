// Provenance attached to a pushed image: an SLSA v1 provenance statement (in-toto Statement v1)
// and the model manifest (every file with its digest), each an OCI artifact manifest whose
// `subject` is the image. A registry with the referrers API indexes them itself (it answers the
// manifest PUT with OCI-Subject); for one without, the client keeps the list as an image index
// under the fallback tag sha256-<hex of the image digest>, as the distribution spec describes.
import { InfrastructureError } from '@ferry/core';
import { bufferSource, canonicalJsonBytes, digestHex, MediaType, rfc3339, sha256Digest, uploadBlob } from './oci/index.js';
import type { Descriptor, Digest, ImageIndex, ImageManifest, RegistryClient } from './oci/index.js';
import { pushScope } from './oci/index.js';
import type { SourceContext } from './ci-context.js';
import type { ModelInfo } from './model.js';

export const IN_TOTO_MEDIA_TYPE = 'application/vnd.in-toto+json';
export const MODEL_MANIFEST_MEDIA_TYPE = 'application/vnd.ferry.model.manifest.v1+json';
export const EMPTY_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/** Names how Ferry builds (the inputs in externalParameters mean what the README's build-serving-image section says). */
export const BUILD_TYPE = 'https://github.com/ferry-ml/ferry/build-serving-image@v1';

const EMPTY_CONFIG = Buffer.from('{}');

export interface ProvenanceInputs {
  /** registry/repository of the image. */
  name: string;
  digest: Digest;
  model: ModelInfo;
  modelName: string;
  modelVersion: string | undefined;
  runtime: string;
  base: { name: string | undefined; digest: Digest | undefined };
  source: SourceContext;
  /** The step's inputs, secrets left out. */
  parameters: Record<string, unknown>;
  startedOn: Date;
  finishedOn: Date;
  ferryVersion: string;
}

/** The model's files and digests: what a deployment can check the image against. */
export function modelManifest(model: ModelInfo, name: string, version: string | undefined): Record<string, unknown> {
  return {
    name,
    ...(version ? { version } : {}),
    digest: model.digest,
    digestAlgorithm: 'sha256 over the sorted "<sha256>  <path>" lines (validate-model model-digest)',
    format: model.format,
    totalBytes: model.totalBytes,
    files: model.files.map((file) => ({ path: file.relPath, size: file.size, digest: `sha256:${file.sha256}` })),
  };
}

/** The two artifacts attached to an image: its SLSA provenance and the model manifest. */
export function provenanceArtifacts(inputs: ProvenanceInputs): Artifact[] {
  return [
    {
      artifactType: IN_TOTO_MEDIA_TYPE,
      mediaType: IN_TOTO_MEDIA_TYPE,
      bytes: canonicalJsonBytes(slsaProvenance(inputs)),
      annotations: { 'in-toto.io/predicate-type': SLSA_PROVENANCE_V1 },
    },
    {
      artifactType: MODEL_MANIFEST_MEDIA_TYPE,
      mediaType: MODEL_MANIFEST_MEDIA_TYPE,
      bytes: canonicalJsonBytes(modelManifest(inputs.model, inputs.modelName, inputs.modelVersion)),
      annotations: { 'ferry.model.digest': inputs.model.digest },
    },
  ];
}

/** An in-toto Statement v1 with an SLSA v1 provenance predicate. */
export function slsaProvenance(inputs: ProvenanceInputs): Record<string, unknown> {
  const { source } = inputs;
  const dependencies: Record<string, unknown>[] = [];
  if (source.repositoryUrl !== undefined && source.revision !== undefined) {
    dependencies.push({ uri: `git+${source.repositoryUrl}${source.ref ? `@refs/${source.refType === 'tag' ? 'tags' : 'heads'}/${source.ref}` : ''}`, digest: { gitCommit: source.revision } });
  }
  if (inputs.base.name !== undefined && inputs.base.digest !== undefined) {
    // A registry reference, or an OCI layout on the runner ("oci:<dir>[:<name>]").
    const uri = inputs.base.name.startsWith('oci:') ? `oci-layout:${inputs.base.name.slice('oci:'.length)}` : `oci://${inputs.base.name}`;
    dependencies.push({ uri, digest: { sha256: digestHex(inputs.base.digest) } });
  }
  dependencies.push({
    name: `model ${inputs.modelName}`,
    digest: { sha256: inputs.model.digest.slice('sha256:'.length) },
    annotations: { files: String(inputs.model.files.length), bytes: String(inputs.model.totalBytes) },
  });
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: inputs.name, digest: { sha256: digestHex(inputs.digest) } }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: inputs.parameters,
        internalParameters: { runtime: inputs.runtime, ferry: inputs.ferryVersion },
        resolvedDependencies: dependencies,
      },
      runDetails: {
        builder: { id: source.builderId ?? 'https://github.com/ferry-ml/ferry/cli', version: { ferry: inputs.ferryVersion } },
        metadata: {
          ...(source.invocationId ? { invocationId: source.invocationId } : {}),
          startedOn: rfc3339(Math.floor(inputs.startedOn.getTime() / 1000)),
          finishedOn: rfc3339(Math.floor(inputs.finishedOn.getTime() / 1000)),
        },
      },
    },
  };
}

export interface Artifact {
  artifactType: string;
  /** The one layer: the document itself. */
  mediaType: string;
  bytes: Buffer;
  annotations: Record<string, string>;
}

export interface PushedArtifact {
  artifactType: string;
  digest: Digest;
  size: number;
  /** How the registry links it to the image: its referrers API, or the fallback tag. */
  linkedBy: 'referrers API' | `tag ${string}`;
}

/** The artifact manifest: empty config, the document as its layer, the image as its subject. */
export function artifactManifest(artifact: Artifact, subject: Descriptor, created: string): { manifest: ImageManifest; bytes: Buffer } {
  const document: Descriptor = { mediaType: artifact.mediaType, digest: sha256Digest(artifact.bytes), size: artifact.bytes.length };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    artifactType: artifact.artifactType,
    config: { mediaType: EMPTY_MEDIA_TYPE, digest: sha256Digest(EMPTY_CONFIG), size: EMPTY_CONFIG.length, data: EMPTY_CONFIG.toString('base64') },
    layers: [document],
    subject,
    annotations: { 'org.opencontainers.image.created': created, ...artifact.annotations },
  };
  return { manifest, bytes: canonicalJsonBytes(manifest) };
}

/** The referrers fallback tag of a digest: "<algorithm>-<hex>", at most 128 characters. */
export function referrersTag(digest: Digest): string {
  return digest.replace(':', '-').slice(0, 128);
}

export async function pushArtifacts(
  client: RegistryClient,
  repository: string,
  subject: Descriptor,
  artifacts: readonly Artifact[],
  created: string,
): Promise<PushedArtifact[]> {
  const scopes = [pushScope(repository)];
  const pushed: PushedArtifact[] = [];
  const fallback: Descriptor[] = [];
  await uploadBlob(client, repository, sha256Digest(EMPTY_CONFIG), bufferSource(EMPTY_CONFIG), { scopes });
  for (const artifact of artifacts) {
    await uploadBlob(client, repository, sha256Digest(artifact.bytes), bufferSource(artifact.bytes), { scopes });
    const { manifest, bytes } = artifactManifest(artifact, subject, created);
    const digest = sha256Digest(bytes);
    const stored = await client.storeManifest(repository, digest, MediaType.OciManifest, bytes, scopes);
    if (stored.ociSubject !== undefined) {
      pushed.push({ artifactType: artifact.artifactType, digest, size: bytes.length, linkedBy: 'referrers API' });
      continue;
    }
    fallback.push({ mediaType: MediaType.OciManifest, digest, size: bytes.length, artifactType: artifact.artifactType, ...(manifest.annotations ? { annotations: manifest.annotations } : {}) });
    pushed.push({ artifactType: artifact.artifactType, digest, size: bytes.length, linkedBy: `tag ${referrersTag(subject.digest)}` });
  }
  if (fallback.length > 0) await updateReferrersIndex(client, repository, subject.digest, fallback);
  return pushed;
}

/** Adds descriptors to the fallback index (read, merge by digest, write back). */
async function updateReferrersIndex(client: RegistryClient, repository: string, subject: Digest, added: readonly Descriptor[]): Promise<void> {
  const tag = referrersTag(subject);
  let index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
  if ((await client.manifestDigest(repository, tag)) !== undefined) {
    const current = await client.getManifest(repository, tag);
    try {
      const parsed = JSON.parse(current.bytes.toString('utf8')) as ImageIndex;
      if (!Array.isArray(parsed.manifests)) throw new Error('no manifests list');
      index = parsed;
    } catch (error) {
      throw new InfrastructureError(`${repository}:${tag} exists but is not an image index (${(error as Error).message}); it is not Ferry's to replace`, { service: client.registry });
    }
  }
  const digests = new Set(added.map((d) => d.digest));
  index = { ...index, schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [...index.manifests.filter((d) => !digests.has(d.digest)), ...added] };
  await client.putManifest(repository, tag, MediaType.OciIndex, canonicalJsonBytes(index), [pushScope(repository)]);
}
