// Registry credentials: given explicitly, or found where `docker login` and `podman login` keep
// them. The values never leave this module except inside an Authorization header.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '@ferry/core';
import { DOCKER_HUB, DOCKER_HUB_API } from '../reference.js';

export type RegistryCredentials =
  | { username: string; password: string }
  /** An OAuth2 refresh token, as `docker login` stores for some registries. */
  | { identityToken: string }
  /** A bearer token sent as is. */
  | { registryToken: string };

export interface FoundCredentials {
  credentials: RegistryCredentials;
  /** Where they came from, for the log (a file path or "input"): never the values. */
  from: string;
}

type Env = Readonly<Record<string, string | undefined>>;

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

interface AuthFile {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** The auth files to look in, most specific first. */
export function authFilePaths(env: Env): string[] {
  const home = env.HOME ?? homedir();
  const paths: string[] = [];
  if (env.REGISTRY_AUTH_FILE) paths.push(env.REGISTRY_AUTH_FILE);
  paths.push(join(env.DOCKER_CONFIG ?? join(home, '.docker'), 'config.json'));
  if (env.XDG_RUNTIME_DIR) paths.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  paths.push(join(env.XDG_CONFIG_HOME ?? join(home, '.config'), 'containers', 'auth.json'));
  return paths;
}

/** "https://host:port/v1/" → "host:port": the forms `docker login` writes reduce to the host. */
function normaliseKey(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
}

function keysFor(registry: string): string[] {
  const host = registry.toLowerCase();
  return host === DOCKER_HUB || host === DOCKER_HUB_API ? [DOCKER_HUB, 'index.docker.io', DOCKER_HUB_API] : [host];
}

function entryCredentials(entry: AuthEntry, file: string): RegistryCredentials | undefined {
  if (entry.identitytoken) return { identityToken: entry.identitytoken };
  if (entry.registrytoken) return { registryToken: entry.registrytoken };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new InputError(`an "auth" entry in ${file} is not base64 of user:password`, { subject: file });
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
  return undefined;
}

/** Asks `docker-credential-<helper> get`; undefined when the helper is absent or has nothing. */
function fromHelper(helper: string, serverUrl: string): Promise<RegistryCredentials | undefined> {
  return new Promise((resolve) => {
    const child = spawn(`docker-credential-${helper}`, ['get'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.once('error', () => resolve(undefined));
    child.once('close', (code) => {
      if (code !== 0) return resolve(undefined);
      try {
        const parsed = JSON.parse(Buffer.concat(out).toString('utf8')) as { Username?: string; Secret?: string };
        if (!parsed.Secret) return resolve(undefined);
        resolve(parsed.Username === '<token>' ? { identityToken: parsed.Secret } : { username: parsed.Username ?? '', password: parsed.Secret });
      } catch {
        resolve(undefined);
      }
    });
    child.stdin.end(serverUrl);
  });
}

async function readAuthFile(path: string): Promise<AuthFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as AuthFile;
  } catch (error) {
    // A broken file is a configuration error, not "no credentials": say which file.
    throw new InputError(`registry auth file ${path} is not valid JSON`, { subject: path, cause: error });
  }
}

/** Credentials for `registry` from the standard auth files, or undefined (anonymous). */
export async function findCredentials(registry: string, env: Env = process.env): Promise<FoundCredentials | undefined> {
  const keys = keysFor(registry);
  for (const path of authFilePaths(env)) {
    const file = await readAuthFile(path);
    if (file === undefined) continue;
    for (const [key, entry] of Object.entries(file.auths ?? {})) {
      if (!keys.includes(normaliseKey(key))) continue;
      const credentials = entryCredentials(entry, path);
      if (credentials) return { credentials, from: path };
    }
    const helper = keys.map((key) => file.credHelpers?.[key]).find((name) => name !== undefined) ?? file.credsStore;
    if (helper) {
      const serverUrl = keys[0] === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry;
      const credentials = await fromHelper(helper, serverUrl);
      if (credentials) return { credentials, from: `docker-credential-${helper}` };
    }
  }
  return undefined;
}

/** Every secret string in the credentials, for redaction. */
export function secretsOf(credentials: RegistryCredentials): string[] {
  if ('password' in credentials) {
    return [credentials.password, Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')];
  }
  if ('identityToken' in credentials) return [credentials.identityToken];
  return [credentials.registryToken];
}

/** Replaces every known secret in `text`, longest first so a secret inside another is not half-shown. */
export function redact(text: string, secrets: Iterable<string>): string {
  let result = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret !== '') result = result.split(secret).join('***');
  }
  return result;
}
