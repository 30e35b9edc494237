// Registry clients for the step: the target registry with the credentials given as inputs (or
// from the docker config file), and the base image's registry, which gets only what the config
// file holds for it: explicit credentials are never sent to a registry they were not given for.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '@ferry/core';
import type { Logger } from '@ferry/core';
import { RegistryClient } from './oci/index.js';
import type { RegistryCredentials } from './oci/index.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface RegistryAccessInputs {
  username: string | undefined;
  password: string | undefined;
  /** docker-config input, resolved: a config.json file or the directory holding it. */
  dockerConfig: string | undefined;
  tlsVerify: boolean;
  timeoutMs: number;
  retries: number;
  env: Env;
  logger: Logger;
  signal: AbortSignal;
}

export interface RegistryAccess {
  /** A client for `registry`; `target` marks the registry of the `image` input. */
  client(registry: string, options: { target: boolean; plainHttp: boolean }): RegistryClient;
  close(): void;
}

/** Checks the credential inputs before anything runs: exit 2 naming the input. */
export function checkCredentialInputs(inputs: Pick<RegistryAccessInputs, 'username' | 'password' | 'dockerConfig'>): void {
  if (inputs.username && !inputs.password) throw new InputError('registry-username is set but registry-password is not', { subject: 'registry-password' });
  if (inputs.password && !inputs.username) throw new InputError('registry-password is set but registry-username is not', { subject: 'registry-username' });
  if (inputs.dockerConfig !== undefined && !existsSync(inputs.dockerConfig)) {
    throw new InputError(`docker-config: ${inputs.dockerConfig} does not exist`, { subject: 'docker-config' });
  }
}

function authEnv(env: Env, dockerConfig: string | undefined): Env {
  if (dockerConfig === undefined) return env;
  const file = statSync(dockerConfig).isDirectory() ? join(dockerConfig, 'config.json') : dockerConfig;
  // The first file credentials are looked for in.
  return { ...env, REGISTRY_AUTH_FILE: file };
}

export function registryAccess(inputs: RegistryAccessInputs): RegistryAccess {
  const clients = new Map<string, RegistryClient>();
  const explicit: RegistryCredentials | undefined = inputs.username && inputs.password ? { username: inputs.username, password: inputs.password } : undefined;
  if (explicit) inputs.logger.setSecret(explicit.password);
  const env = authEnv(inputs.env, inputs.dockerConfig);
  return {
    client(registry, { target, plainHttp }) {
      const key = `${registry}\0${target}\0${plainHttp}`;
      let client = clients.get(key);
      if (client === undefined) {
        client = new RegistryClient({
          registry,
          ...(target && explicit ? { credentials: explicit, credentialFiles: false } : { credentialFiles: true, env }),
          plainHttp,
          insecureSkipVerify: !inputs.tlsVerify,
          timeoutMs: inputs.timeoutMs,
          retry: { attempts: inputs.retries },
          logger: inputs.logger,
          signal: inputs.signal,
          userAgent: 'ferry build-serving-image',
        });
        clients.set(key, client);
      }
      return client;
    },
    close() {
      for (const client of clients.values()) client.close();
    },
  };
}
