// promote on an OCI registry used as the model registry: the tag people deploy from (`production`)
// moves to the digest that was just promoted, by copying the manifest under the tag; nothing is
// rebuilt or re-pushed. Running it again when the tag is already there does nothing.
import { InputError, type Logger } from '@ferry/core';
import { parseReference, RegistryClient } from '@ferry/image';

export interface TagMove {
  readonly reference: string;
  readonly digest: string;
  readonly username: string;
  readonly password: string;
  readonly plainHttp: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

/** Points `reference`'s tag at `digest` in the same repository; returns "registry/repo:tag@digest" and whether it moved. */
export async function moveTag(m: TagMove): Promise<{ tagged: string; moved: boolean }> {
  const ref = parseReference(m.reference, 'registry-tag');
  if (!ref.tag || ref.digest) throw new InputError(`registry-tag "${m.reference}" must name a tag (registry/repository:production), without a digest`, { subject: 'registry-tag' });
  if (!/^sha256:[0-9a-f]{64}$/.test(m.digest)) {
    throw new InputError(`the promoted version has no image digest to tag (it has "${m.digest || 'none'}"): give canary-deploy the digest build-serving-image printed`, { subject: 'registry-tag' });
  }
  if (m.username && !m.password) throw new InputError('registry-username is set but registry-password is not', { subject: 'registry-password' });
  if (m.password) m.logger.setSecret(m.password);
  const client = new RegistryClient({
    registry: ref.registry,
    ...(m.username && m.password ? { credentials: { username: m.username, password: m.password }, credentialFiles: false } : { credentialFiles: true, env: m.env }),
    plainHttp: m.plainHttp,
    logger: m.logger,
    signal: m.signal,
    userAgent: 'ferry promote',
  });
  const tagged = `${ref.registry}/${ref.repository}:${ref.tag}@${m.digest}`;
  try {
    if ((await client.manifestDigest(ref.repository, ref.tag)) === m.digest) return { tagged, moved: false };
    const manifest = await client.getManifest(ref.repository, m.digest);
    await client.putManifest(ref.repository, ref.tag, manifest.mediaType, manifest.bytes);
    m.logger.info(`${ref.registry}/${ref.repository}:${ref.tag} now points at ${m.digest}`);
    return { tagged, moved: true };
  } finally {
    client.close();
  }
}
