// The step's inputs, checked and resolved before any slow work, so a bad one exits 2 at once and
// names itself: paths, the image reference, credentials, the model name, the creation time and the
// tags the image will get.
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError } from '@ferry/core';
import type { buildServingImageDefinition, InputValues, StepContext } from '@ferry/core';
import { readSourceContext } from './ci-context.js';
import type { SourceContext } from './ci-context.js';
import { DigestCache, defaultCacheDir } from './digest-cache.js';
import { defaultModelName } from './model.js';
import { parseReference } from './oci/index.js';
import type { ImageReference } from './oci/index.js';
import { checkCredentialInputs, registryAccess } from './registry-access.js';
import type { RegistryAccess } from './registry-access.js';
import { servingRuntime } from './runtimes/index.js';
import type { ServingRuntime } from './runtimes/index.js';
import { decideTags } from './tags.js';
import type { TagDecision } from './tags.js';

export type BuildInputs = InputValues<(typeof buildServingImageDefinition)['inputs']>;

type Env = Readonly<Record<string, string | undefined>>;

export interface BuildPlan {
  runtime: ServingRuntime;
  modelPath: string;
  modelName: string;
  modelVersion: string | undefined;
  /** Where the image is pushed, when it is. */
  target: ImageReference | undefined;
  push: boolean;
  /** Plain HTTP to the target's registry (and a base image on it). */
  insecureRegistry: boolean;
  output: string | undefined;
  dockerfile: { file: string; context: string } | undefined;
  platforms: string[];
  cache: DigestCache;
  source: SourceContext;
  created: { epoch: number; from: string };
  tags: TagDecision[];
  /** Registry clients, made on first use. */
  access(): RegistryAccess;
  /** Closes the registry clients' connections. */
  close(): void;
}

/** The image's creation time: the input, $SOURCE_DATE_EPOCH, the commit time, or 0; never the clock. */
export function sourceDateEpoch(given: number | undefined, env: Env, commitTime: number | undefined): { epoch: number; from: string } {
  if (given !== undefined) return { epoch: given, from: 'source-date-epoch input' };
  const fromEnv = env.SOURCE_DATE_EPOCH;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!/^\d{1,11}$/.test(fromEnv.trim())) throw new InputError(`SOURCE_DATE_EPOCH "${fromEnv}" is not a whole number of seconds`, { subject: 'source-date-epoch' });
    return { epoch: Number(fromEnv.trim()), from: 'SOURCE_DATE_EPOCH' };
  }
  if (commitTime !== undefined) return { epoch: commitTime, from: 'commit time' };
  return { epoch: 0, from: 'no commit time known: 1970-01-01, so the digest still depends only on the inputs' };
}

async function mustExist(path: string, input: string, kind: 'file' | 'directory'): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new InputError(`${input}: ${path} does not exist`, { subject: input });
  if (kind === 'file' ? !info.isFile() : !info.isDirectory()) throw new InputError(`${input}: ${path} is not a ${kind}`, { subject: input });
}

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export async function planBuild(ctx: StepContext, inputs: BuildInputs): Promise<BuildPlan> {
  const { cwd, env } = ctx;
  const runtime = servingRuntime(inputs.runtime);
  const modelPath = resolve(cwd, inputs['model-path']);
  const target = inputs.image ? parseReference(inputs.image, 'image') : undefined;
  if (target?.digest !== undefined) throw new InputError(`image "${inputs.image}" names a digest: give registry/repository[:tag] to push to`, { subject: 'image' });
  const push = inputs.push ?? target !== undefined;
  if (push && target === undefined) throw new InputError('push is true but image is empty: give the registry/repository to push to', { subject: 'image' });
  const dockerConfig = inputs['docker-config'] ? resolve(cwd, inputs['docker-config']) : undefined;
  const username = inputs['registry-username'] || undefined;
  const password = inputs['registry-password'] || undefined;
  checkCredentialInputs({ username, password, dockerConfig });

  let dockerfile: BuildPlan['dockerfile'];
  if (inputs.dockerfile) {
    const file = resolve(cwd, inputs.dockerfile);
    await mustExist(file, 'dockerfile', 'file');
    const context = inputs.context ? resolve(cwd, inputs.context) : join(file, '..');
    await mustExist(context, 'context', 'directory');
    dockerfile = { file, context };
  } else if (inputs.context) {
    throw new InputError('context is set but dockerfile is not: the context is what the Dockerfile build sees', { subject: 'context' });
  }
  await stat(modelPath).catch(() => {
    throw new InputError(`model-path: ${modelPath} does not exist`, { subject: 'model-path' });
  });
  const modelName = inputs['model-name'] || defaultModelName(modelPath);
  // The name becomes a directory and a URL path segment in every runtime.
  if (!MODEL_NAME.test(modelName)) {
    throw new InputError(`model-name "${modelName}" is not a valid model name: letters, digits, _ . - (at most 128), starting with a letter or digit`, { subject: 'model-name' });
  }
  const modelVersion = inputs['model-version'] || undefined;
  const source = await readSourceContext(env, cwd);
  const created = sourceDateEpoch(inputs['source-date-epoch'], env, source.commitTime);
  const tags = decideTags({ rules: inputs['tag-rules'], extra: inputs.tags ?? [], referenceTag: target?.tag, modelVersion, source });

  let access: RegistryAccess | undefined;
  return {
    runtime,
    modelPath,
    modelName,
    modelVersion,
    target,
    push,
    insecureRegistry: inputs['insecure-registry'],
    output: inputs.output ? resolve(cwd, inputs.output) : undefined,
    dockerfile,
    platforms: inputs.platforms ?? [],
    cache: new DigestCache(inputs['cache-dir'] ? resolve(cwd, inputs['cache-dir']) : defaultCacheDir(env)),
    source,
    created,
    tags,
    access: () =>
      (access ??= registryAccess({
        username,
        password,
        dockerConfig,
        tlsVerify: inputs['tls-verify'],
        timeoutMs: inputs['registry-timeout'],
        retries: inputs['registry-retries'],
        env,
        logger: ctx.logger,
        signal: ctx.signal,
      })),
    close: () => access?.close(),
  };
}
