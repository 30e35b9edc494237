// `serve-with: podman` for `ferry pipeline`: a version runs as a container of the image
// build-serving-image built, published on a loopback port. The pipeline waits for the server's
// readiness and removes every container it started (and every image it pulled) at the end.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InfrastructureError, type Logger } from '@ferry/core';

/** Label on every container the pipeline starts: `podman ps --filter label=ferry.dev/pipeline` finds them. */
export const PIPELINE_LABEL = 'ferry.dev/pipeline';
export const VERSION_LABEL = 'ferry.dev/version';

const INSTALL = 'install podman (Debian/Ubuntu: apt-get install podman) or set pipeline.serve-with: process';

/** Where podman takes the built image from: the registry it was pushed to, or the OCI layout written. */
export interface ImageSource {
  /** registry/repository@digest, or an OCI layout directory (`output` of build-serving-image). */
  readonly pushed?: string;
  readonly layout?: string;
  readonly digest: string;
  readonly tlsVerify: boolean;
  /** A docker config file (or its directory) with the registry's credentials. */
  readonly authFile?: string;
}

/** A running container, as the report records it. */
export interface ServedContainer {
  readonly version: string;
  readonly id: string;
  readonly name: string;
  /** What podman pulled: docker://… or oci:DIR:tag. */
  readonly reference: string;
  /** The manifest digest of the image the container runs (podman inspect .ImageDigest). */
  readonly imageDigest: string;
  readonly url: string;
}

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function podman(args: readonly string[], timeoutMs = 120_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    execFile('podman', args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = (error as NodeJS.ErrnoException | null)?.code;
      if (code === 'ENOENT') return reject(new InfrastructureError(`pipeline.serve-with is podman, but there is no podman on PATH: ${INSTALL}`));
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout: stdout.toString(), stderr: stderr.toString() });
    });
  });
}

async function checked(args: readonly string[], what: string, timeoutMs?: number): Promise<string> {
  const r = await podman(args, timeoutMs);
  if (r.code !== 0) throw new InfrastructureError(`podman ${args[0]} failed while ${what} (exit ${r.code}):\n${(r.stderr || r.stdout).trim()}`);
  return r.stdout.trim();
}

/** `oci:DIR:name` of the manifest with `digest` in an OCI layout (its ref.name annotation), else `oci:DIR`. */
function layoutReference(dir: string, digest: string): string {
  try {
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests?: { digest?: string; annotations?: Record<string, string> }[] };
    const name = index.manifests?.find((m) => m.digest === digest)?.annotations?.['org.opencontainers.image.ref.name'];
    return name ? `oci:${dir}:${name}` : `oci:${dir}`;
  } catch {
    return `oci:${dir}`;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class PodmanServers {
  private readonly containers: ServedContainer[] = [];
  /** Image ids pulled by this run (not in local storage before), removed at the end. */
  private readonly pulled = new Set<string>();

  constructor(
    private readonly modelName: string,
    private readonly logger: Logger,
  ) {}

  get running(): readonly ServedContainer[] {
    return this.containers;
  }

  /** Pulls the image, runs it on a loopback port (`hostPort`, or a free one) and resolves with the container once the server is ready. */
  async serve(version: string, source: ImageSource, signal: AbortSignal, hostPort?: number, readyTimeoutMs = 120_000): Promise<ServedContainer> {
    // podman names an image pulled from an OCI layout after its path, and a path such as
    // .ferry/pipeline/v2/image is no valid name: pull it through a link with a plain name.
    const link = source.pushed ? undefined : join(tmpdir(), `ferry-podman-${randomBytes(6).toString('hex')}`);
    const linked = link ? join(link, `${this.modelName}-${version}`.toLowerCase().replace(/[^a-z0-9_-]/g, '-')) : '';
    if (link) {
      mkdirSync(link, { recursive: true, mode: 0o700 });
      symlinkSync(resolve(source.layout!), linked);
    }
    const reference = source.pushed ? `docker://${source.pushed}` : layoutReference(linked, source.digest);
    const tls = source.pushed ? [`--tls-verify=${source.tlsVerify}`] : [];
    const auth = source.pushed && source.authFile ? ['--authfile', source.authFile.endsWith('.json') ? source.authFile : join(source.authFile, 'config.json')] : [];
    // A layout in the report directory is this run's own; a registry image may have been here before.
    const existed = source.pushed ? (await podman(['image', 'exists', source.pushed])).code === 0 : false;
    const pulledOut = await checked(['pull', '--quiet', ...tls, ...auth, reference], `pulling ${reference} for ${version}`, 300_000).finally(() => {
      if (link) rmSync(link, { recursive: true, force: true });
    });
    const imageId = pulledOut.split('\n').at(-1)!.trim();
    if (!existed) this.pulled.add(imageId);
    if (signal.aborted) throw new InfrastructureError(`cancelled while ${version}'s image was pulled`);
    const exposed = await podman(['image', 'inspect', '--format', '{{json .Config.ExposedPorts}}', imageId]);
    const port = /"(\d+)\/tcp"/.exec(exposed.stdout)?.[1] ?? '8080';
    const name = `ferry-${this.modelName}-${version}-${randomBytes(3).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_.-]/g, '-');
    // Not --rm: a container that exits early keeps its logs for the error message; stop() removes it.
    const id = await checked(
      ['run', '--detach', '--pull', 'never', '--name', name, '--label', `${PIPELINE_LABEL}=${this.modelName}`, '--label', `${VERSION_LABEL}=${version}`, '--publish', `127.0.0.1:${hostPort ?? ''}:${port}`, imageId],
      `starting ${version}'s container ${name} (is the image runnable? base-image must not be scratch${hostPort ? `; is port ${hostPort} on 127.0.0.1 free?` : ''})`,
    ).catch(async (err: unknown) => {
      // A container whose command could not start is left created: remove it too.
      await podman(['rm', '--force', '--time', '0', name]);
      throw err;
    });
    // The layout as the user knows it, not the link pulled through.
    const shown = link ? reference.replace(linked, resolve(source.layout!)) : reference;
    const container: ServedContainer = { version, id, name, reference: shown, imageDigest: '', url: '' };
    this.containers.push(container);
    const published = (await checked(['port', id, `${port}/tcp`], `reading ${version}'s published port`)).split('\n')[0]!.trim();
    const url = `http://${published.replace(/^0\.0\.0\.0:/, '127.0.0.1:')}`;
    const imageDigest = await checked(['inspect', '--format', '{{.ImageDigest}}', id], `inspecting ${version}'s container`);
    Object.assign(container, { url, imageDigest });
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (signal.aborted) throw new InfrastructureError(`cancelled while ${version}'s container was starting`);
      const ready = await fetch(`${url}/v2/health/ready`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
      if (ready) break;
      const state = await podman(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', id]);
      if (!state.stdout.startsWith('running')) {
        const logs = await podman(['logs', '--tail', '30', id]);
        throw new InfrastructureError(`podman: ${version}'s container ${name} (${reference}) exited before it was ready (${state.stdout.trim() || state.stderr.trim()}); is the image runnable (base-image not scratch)?\n${(logs.stdout + logs.stderr).trim()}`);
      }
      if (Date.now() > deadline) throw new InfrastructureError(`podman: ${version}'s container ${name} was not ready on ${url}/v2/health/ready within ${readyTimeoutMs / 1000} s`);
      await sleep(250);
    }
    this.logger.info(`podman: ${version} runs ${reference} (${imageDigest}) as ${name} on ${url}`);
    return container;
  }

  /** Removes every container started (stopping it first) and the images this run pulled. */
  async stop(): Promise<void> {
    const ids = this.containers.splice(0).map((c) => c.id);
    if (ids.length > 0) {
      const r = await podman(['rm', '--force', '--time', '5', ...ids]).catch((err: unknown) => ({ code: 1, stdout: '', stderr: String(err) }));
      if (r.code !== 0) this.logger.warn(`podman rm ${ids.join(' ')} failed: ${r.stderr.trim()}`);
    }
    const images = [...this.pulled];
    this.pulled.clear();
    // Without --force: an image another container uses stays.
    if (images.length > 0) await podman(['rmi', ...images]).catch(() => undefined);
  }
}
