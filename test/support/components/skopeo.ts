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

/** host:port/repo:tag means the registry; oci:, oci-archive: and docker:// references keep their transport. */
function withTransport(reference: string): string {
  return /^(docker:\/\/|oci:|oci-archive:)/.test(reference) ? reference : `docker://${reference}`;
}

export interface SkopeoOptions {
  /** user:password for a registry with auth. */
  creds?: string;
}

function registryFlags(options: SkopeoOptions): string[] {
  return ['--tls-verify=false', ...(options.creds === undefined ? [] : ['--creds', options.creds])];
}

/** `skopeo inspect` of host:port/repo:tag on a plain-HTTP loopback registry, or of an oci: layout. */
export async function skopeoInspect(reference: string, options: SkopeoOptions = {}): Promise<SkopeoImage> {
  const skopeo = requireBinary('skopeo', 'skopeo');
  const target = withTransport(reference);
  const flags = target.startsWith('docker://') ? registryFlags(options) : [];
  return JSON.parse(await checkedCommand(skopeo, ['inspect', ...flags, target])) as SkopeoImage;
}

/** The manifest bytes exactly as the registry (or layout) serves them. */
export async function skopeoRawManifest(reference: string, options: SkopeoOptions = {}): Promise<string> {
  const skopeo = requireBinary('skopeo', 'skopeo');
  const target = withTransport(reference);
  const flags = target.startsWith('docker://') ? registryFlags(options) : [];
  return checkedCommand(skopeo, ['inspect', '--raw', ...flags, target]);
}

/** `skopeo copy` between any two transports; registry ends are plain HTTP. Extra flags (e.g. --format v2s2) go first. */
export async function skopeoCopy(source: string, destination: string, extra: readonly string[] = [], options: SkopeoOptions = {}): Promise<void> {
  const skopeo = requireBinary('skopeo', 'skopeo');
  const from = withTransport(source);
  const to = withTransport(destination);
  const flags = [
    ...(from.startsWith('docker://') ? ['--src-tls-verify=false', ...(options.creds ? ['--src-creds', options.creds] : [])] : []),
    ...(to.startsWith('docker://') ? ['--dest-tls-verify=false', ...(options.creds ? ['--dest-creds', options.creds] : [])] : []),
  ];
  await checkedCommand(skopeo, ['copy', '--quiet', ...flags, ...extra, from, to], { timeoutMs: 300_000 });
}
