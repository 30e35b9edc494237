// The Dockerfile path: when the user brings a Dockerfile, the image is built by whichever builder
// the runner has (docker buildx, then podman, then buildah) and exported as an OCI layout. Ferry
// then treats that image as it treats its own: labels and annotations, tags, the push through its
// registry client (blobs the registry has are not re-sent), provenance and the same report.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { InfrastructureError, InputError, throwIfCancelled } from '@ferry/core';
import type { Logger } from '@ferry/core';

type Env = Readonly<Record<string, string | undefined>>;

export type Builder = 'docker buildx' | 'podman' | 'buildah';

export interface DockerfileBuild {
  dockerfile: string;
  context: string;
  platforms: readonly string[];
  sourceDateEpoch: number;
  /** An empty directory for the exported OCI layout. */
  layoutDir: string;
  env: Env;
  logger: Logger;
  signal: AbortSignal;
}

export interface DockerfileResult {
  builder: Builder;
  /** The OCI layout holding the built image. */
  layoutDir: string;
  /** Its name inside the layout (undefined when the layout has exactly one image). */
  reference: string | undefined;
}

interface Outcome {
  code: number | null;
  output: string;
}

function exec(command: string, args: readonly string[], options: { env: Env; logger?: Logger; signal?: AbortSignal }): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(command, [...args], { env: options.env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'], ...(options.signal ? { signal: options.signal } : {}) });
    let output = '';
    const take = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output = (output + text).slice(-64 * 1024);
      for (const line of text.split('\n')) if (line.trim() !== '') options.logger?.info(line.trimEnd());
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.once('error', (error) => resolve({ code: null, output: `${output}\n${error.message}` }));
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** The first builder that answers on this runner. */
export async function findBuilder(env: Env): Promise<Builder | undefined> {
  if ((await exec('docker', ['buildx', 'version'], { env })).code === 0) return 'docker buildx';
  if ((await exec('podman', ['--version'], { env })).code === 0) return 'podman';
  if ((await exec('buildah', ['--version'], { env })).code === 0) return 'buildah';
  return undefined;
}

async function must(command: string, args: readonly string[], what: string, options: { env: Env; logger: Logger; signal: AbortSignal }): Promise<void> {
  const outcome = await exec(command, args, options);
  throwIfCancelled(options.signal);
  if (outcome.code !== 0) {
    const tail = outcome.output.trim().split('\n').slice(-5).join(' | ');
    // The builder's own failure (a RUN step, a missing base image) is the Dockerfile's doing.
    throw new InputError(`dockerfile: ${what} failed (${command} exited ${outcome.code ?? 'without starting'}): ${tail}`, { subject: 'dockerfile' });
  }
}

export async function buildDockerfile(build: DockerfileBuild): Promise<DockerfileResult> {
  const builder = await findBuilder(build.env);
  if (builder === undefined) {
    throw new InfrastructureError('dockerfile is set but the runner has none of docker buildx, podman or buildah', {
      hint: 'install one of them, or leave dockerfile empty so Ferry assembles the image itself without a builder',
    });
  }
  const options = { env: { ...build.env, SOURCE_DATE_EPOCH: String(build.sourceDateEpoch) }, logger: build.logger, signal: build.signal };
  const platform = build.platforms.length > 0 ? ['--platform', build.platforms.join(',')] : [];
  if (builder !== 'docker buildx' && build.platforms.length > 1) {
    throw new InputError(`platforms: ${builder} builds one platform per run here; give one platform, or use docker buildx`, { subject: 'platforms' });
  }
  build.logger.info(`building ${build.dockerfile} with ${builder}`);
  if (builder === 'docker buildx') {
    await must(
      'docker',
      ['buildx', 'build', '--file', build.dockerfile, '--build-arg', `SOURCE_DATE_EPOCH=${build.sourceDateEpoch}`, ...platform, '--output', `type=oci,dest=${build.layoutDir},tar=false`, build.context],
      'docker buildx build',
      options,
    );
    return { builder, layoutDir: build.layoutDir, reference: undefined };
  }
  const command = builder === 'podman' ? 'podman' : 'buildah';
  const name = `localhost/ferry-build:${process.pid}-${Date.now()}`;
  try {
    await must(
      command,
      ['build', '--file', build.dockerfile, '--format', 'oci', '--timestamp', String(build.sourceDateEpoch), '--build-arg', `SOURCE_DATE_EPOCH=${build.sourceDateEpoch}`, ...platform, '--tag', name, build.context],
      `${command} build`,
      options,
    );
    await must(command, ['push', '--quiet', name, `oci:${join(build.layoutDir)}:image`], `${command} push to an OCI layout`, options);
  } finally {
    await exec(command, ['rmi', '--force', name], { env: options.env });
  }
  return { builder, layoutDir: build.layoutDir, reference: 'image' };
}
