// Where the base image comes from, as the base-image input names it: `scratch`, an OCI layout on
// the runner (`oci:<dir>[:<name>]`), or a registry reference. Plain HTTP is used for the base only
// where it was allowed for the push target (the same registry), or when nothing is pushed.
import { resolve } from 'node:path';
import { baseFromLayout, baseFromRegistry, parseReference, scratchBase } from './oci/index.js';
import type { BaseImage, ImageReference } from './oci/index.js';
import type { RegistryAccess } from './registry-access.js';

export interface BaseChoice {
  base: BaseImage;
  /** For the report and provenance: what the user named, or how the image was built. */
  display: { name: string | undefined; digest: string | undefined; builder?: string };
}

/** "oci:<dir>[:<name>]" → the layout directory and the image's name in it. */
export function parseLayoutBase(text: string, cwd: string): { dir: string; reference: string | undefined } {
  const rest = text.slice('oci:'.length);
  const colon = rest.lastIndexOf(':');
  if (colon > 0 && !rest.slice(colon + 1).includes('/')) return { dir: resolve(cwd, rest.slice(0, colon)), reference: rest.slice(colon + 1) };
  return { dir: resolve(cwd, rest), reference: undefined };
}

export async function loadBase(
  text: string,
  options: { cwd: string; platforms: readonly string[]; access: () => RegistryAccess; target: ImageReference | undefined; insecureRegistry: boolean },
): Promise<BaseChoice> {
  const { platforms, target } = options;
  if (text === 'scratch') return { base: scratchBase(platforms.length > 0 ? platforms : ['linux/amd64']), display: { name: undefined, digest: undefined } };
  if (text.startsWith('oci:')) {
    const { dir, reference } = parseLayoutBase(text, options.cwd);
    const base = await baseFromLayout(dir, reference, { platforms });
    return { base, display: { name: base.name, digest: base.digest } };
  }
  const ref = parseReference(text, 'base-image');
  const sameRegistry = target?.registry === ref.registry;
  const plainHttp = options.insecureRegistry && (target === undefined || sameRegistry);
  const base = await baseFromRegistry(options.access().client(ref.registry, { target: sameRegistry, plainHttp }), ref, { platforms });
  return { base, display: { name: base.name, digest: base.digest } };
}
