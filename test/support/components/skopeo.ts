// skopeo reads what a registry really serves, independently of our own registry client.
import { checkedCommand } from './command.js';
import { requireBinary } from './binaries.js';

/** The fields of `skopeo inspect` the tests look at. */
export interface SkopeoImage {
  Name: string;
  Digest: string;
  Architecture: string;
  Os: string;
  Layers: string[];
  Labels: Record<string, string> | null;
}

function dockerTransport(reference: string): string {
  return reference.includes('://') ? reference : `docker://${reference}`;
}

/** `skopeo inspect` of host:port/repo:tag on a plain-HTTP loopback registry. */
export async function skopeoInspect(reference: string): Promise<SkopeoImage> {
  const skopeo = requireBinary('skopeo', 'skopeo');
  return JSON.parse(await checkedCommand(skopeo, ['inspect', '--tls-verify=false', dockerTransport(reference)])) as SkopeoImage;
}

/** The manifest bytes exactly as the registry serves them. */
export async function skopeoRawManifest(reference: string): Promise<string> {
  const skopeo = requireBinary('skopeo', 'skopeo');
  return checkedCommand(skopeo, ['inspect', '--raw', '--tls-verify=false', dockerTransport(reference)]);
}
