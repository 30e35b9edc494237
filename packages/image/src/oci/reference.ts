// Image references as users write them: [registry/]repository[:tag][@digest]. A reference without
// a registry host means Docker Hub, with the "library/" prefix for one-component names.
import { InputError } from '@ferry/core';
import { isDigest } from './digest.js';
import type { Digest } from './digest.js';

export const DOCKER_HUB = 'docker.io';
/** Where Docker Hub's registry API really answers. */
export const DOCKER_HUB_API = 'registry-1.docker.io';

export interface ImageReference {
  /** host[:port] as written (docker.io for Docker Hub). */
  registry: string;
  /** repository path inside the registry, e.g. team/model */
  repository: string;
  tag?: string;
  digest?: Digest;
}

const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/;

/** Parses a reference; `subject` names the input it came from in the error. */
export function parseReference(text: string, subject = 'image'): ImageReference {
  const fail = (why: string): never => {
    throw new InputError(`${subject} "${text}" is not a valid image reference: ${why}`, { subject });
  };
  let rest = text.trim();
  if (rest === '') fail('it is empty');
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const candidate = rest.slice(at + 1);
    if (!isDigest(candidate)) fail(`"${candidate}" is not a sha256 digest`);
    digest = candidate as Digest;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    if (!TAG.test(tag)) fail(`"${tag}" is not a valid tag`);
    rest = rest.slice(0, colon);
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0]!;
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    if (!HOST.test(first)) fail(`"${first}" is not a valid registry host`);
    registry = first;
    parts.shift();
  }
  if (parts.length === 0 || parts.some((part) => !COMPONENT.test(part))) {
    fail('repository names are lowercase letters, digits and separators (. _ __ -), split by /');
  }
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  return { registry, repository: parts.join('/'), ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

export function formatReference(reference: ImageReference): string {
  let text = `${reference.registry}/${reference.repository}`;
  if (reference.tag !== undefined) text += `:${reference.tag}`;
  if (reference.digest !== undefined) text += `@${reference.digest}`;
  return text;
}

/** The host the registry API is reached at. */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

/** A repository path as registries accept it: lowercase components split by '/'. */
export function isValidRepository(repository: string): boolean {
  return repository.split('/').every((part) => COMPONENT.test(part));
}
