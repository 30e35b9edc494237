// Ferry's OCI images against the real parts: a CNCF distribution registry on loopback (plain, with
// htpasswd logins, with bearer tokens), skopeo, umoci and podman as independent readers, and a
// fault-injecting proxy between Ferry and the registry. What a user would notice is asserted: the
// digest, the files and modes in the image, the bytes actually sent, the tag that is or is not there.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, InfrastructureError, InputError } from '@ferry/core';
import type { Logger } from '@ferry/core';
import {
  FileTree,
  RegistryClient,
  baseFromLayout,
  baseFromRegistry,
  buildImage,
  pushImage,
  scratchBase,
  writeOciArchive,
  writeOciLayout,
} from '@ferry/image';
import type { BaseImage, BuiltImage, RegistryClientOptions } from '@ferry/image';
import {
  checkedCommand,
  makeWorkDir,
  podmanPull,
  podmanRun,
  requireBinary,
  runCommand,
  skopeoCopy,
  skopeoInspect,
  skopeoRawManifest,
  startRegistry,
  stopAll,
} from '../support/components/index.js';
import type { RegistryComponent } from '../support/components/index.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import type { FaultProxy } from '../support/fault-proxy.js';
import { makeHtpasswd, makeServerCertificate, startTokenServer } from '../support/registry-auth.js';
import type { TokenServer } from '../support/registry-auth.js';
import { REPO_ROOT, NODE24 } from '../support/repo.js';

afterAll(stopAll);

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const ANNOTATIONS = {
  'org.opencontainers.image.source': 'https://git.example.test/team/tiny',
  'org.opencontainers.image.revision': '0123456789abcdef0123456789abcdef01234567',
  'org.opencontainers.image.title': 'tiny',
};

/** Quick retries so fault tests spend their time on the faults, not on waiting. */
function client(host: string, extra: Partial<RegistryClientOptions> = {}): RegistryClient {
  return new RegistryClient({
    registry: host,
    plainHttp: true,
    credentialFiles: false,
    chunkSize: MiB,
    timeoutMs: 10_000,
    retry: { attempts: 4, baseDelayMs: 20, maxDelayMs: 200 },
    ...extra,
  });
}

async function tempDir(name: string): Promise<string> {
  return (await makeWorkDir(`image-oci-${name}`)).path;
}

/** A root filesystem with a static busybox: enough for podman to run a shell in the image. */
async function busyboxRootfs(): Promise<string> {
  const busybox = requireBinary('busybox', 'busybox-static');
  const rootfs = await tempDir('rootfs');
  await mkdir(join(rootfs, 'bin'));
  await copyFile(busybox, join(rootfs, 'bin/busybox'));
  await chmod(join(rootfs, 'bin/busybox'), 0o755);
  for (const applet of ['sh', 'cat', 'ls', 'stat', 'sha256sum', 'id']) await symlink('busybox', join(rootfs, 'bin', applet));
  await mkdir(join(rootfs, 'etc'));
  await writeFile(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  return rootfs;
}

/** Builds the busybox base with Ferry itself and pushes it; platforms > 1 makes an index. */
async function pushBase(registry: RegistryClient, repository: string, rootfs: string, platforms?: string[]): Promise<string> {
  const image = await buildImage({
    base: scratchBase(platforms),
    layers: [{ name: 'rootfs', files: await new FileTree().addDirectoryFromHost('/', rootfs), compression: 'gzip' }],
    config: { cmd: ['/bin/sh'], env: { PATH: '/bin' } },
    workDir: await tempDir('base-build'),
  });
  await pushImage(image, { client: registry, repository, tags: ['1'] });
  return `${registry.registry}/${repository}:1`;
}

interface ModelDirOptions {
  weights: Buffer;
  mtime?: number;
  /** Permission bits of the non-executable files on the build machine. */
  fileMode?: number;
}

/** A model directory as a training job leaves it: weights, a config, a tokenizer and a start script. */
async function modelDir({ weights, mtime = 1_700_000_000, fileMode = 0o644 }: ModelDirOptions): Promise<string> {
  const dir = await tempDir('model');
  const files: [string, string | Buffer, number][] = [
    ['weights.bin', weights, fileMode],
    ['config.json', '{"architecture":"tiny"}\n', fileMode],
    ['tokenizer/vocab.txt', 'a\nb\nc\n', fileMode],
    ['bin/serve.sh', '#!/bin/sh\nexec cat /etc/ferry/serve.json\n', fileMode | 0o111],
  ];
  for (const [path, content, mode] of files) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
    await chmod(join(dir, path), mode);
    await utimes(join(dir, path), mtime, mtime);
  }
  return dir;
}

interface ModelImageOptions {
  base: BaseImage;
  model: string;
  serveConfig?: string;
  /** Puts the runtime config layer before the model layer. */
  configFirst?: boolean;
}

async function buildModelImage({ base, model, serveConfig = '{"port":8000}\n', configFirst = false }: ModelImageOptions): Promise<BuiltImage> {
  const modelLayer = { name: 'model', files: await new FileTree().addDirectoryFromHost('/models/tiny', model) };
  const configLayer = { name: 'runtime config', files: new FileTree().addFile('/etc/ferry/serve.json', serveConfig), compression: 'gzip' as const };
  return buildImage({
    base,
    layers: configFirst ? [configLayer, modelLayer] : [modelLayer, configLayer],
    config: {
      entrypoint: ['/models/tiny/bin/serve.sh'],
      env: { MODEL_DIR: '/models/tiny' },
      exposedPorts: ['8000'],
      labels: { 'ai.ferry.runtime': 'ferry', 'ai.ferry.model': 'tiny' },
    },
    annotations: ANNOTATIONS,
    workDir: await tempDir('build'),
  });
}

/** umoci's view of an image in an OCI layout: the unpacked root filesystem. */
async function umociUnpack(layout: string, tag: string): Promise<string> {
  const umoci = requireBinary('umoci', 'umoci');
  const bundle = join(await tempDir('bundle'), 'bundle');
  await checkedCommand(umoci, ['unpack', '--image', `${layout}:${tag}`, bundle]);
  return join(bundle, 'rootfs');
}

async function modeOf(path: string): Promise<{ mode: string; uid: number; gid: number }> {
  const info = await stat(path);
  return { mode: (info.mode & 0o7777).toString(8), uid: info.uid, gid: info.gid };
}

const weights = randomBytes(6 * MiB);

describe('images built on a registry base', () => {
  let registry: RegistryComponent;
  let proxy: FaultProxy;
  let rootfs: string;
  let baseRef: string;
  let model: string;
  let pushed: { image: BuiltImage; digest: string };

  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.host);
    rootfs = await busyboxRootfs();
    baseRef = await pushBase(client(proxy.host), 'base/busybox', rootfs);
    model = await modelDir({ weights });
  });
  afterAll(async () => {
    await proxy?.close();
    await registry?.stop();
  });

  it('pushes the model image; skopeo reads its digest, layers, labels and annotations; base layers are mounted, not re-sent', async () => {
    const registryClient = client(proxy.host);
    const base = await baseFromRegistry(registryClient, baseRef);
    const image = await buildModelImage({ base, model });
    proxy.reset();
    const result = await pushImage(image, { client: registryClient, repository: 'ferry/tiny', tags: ['v1', 'latest'] });
    pushed = { image, digest: result.digest };

    const inspected = await skopeoInspect(`${proxy.host}/ferry/tiny:v1`);
    const [baseLayer] = base.images[0]!.layers;
    const [modelLayer, configLayer] = image.layers;
    expect(inspected).toMatchObject({
      Digest: result.digest,
      Layers: [baseLayer!.descriptor.digest, modelLayer!.descriptor.digest, configLayer!.descriptor.digest],
      Labels: { 'ai.ferry.runtime': 'ferry', 'ai.ferry.model': 'tiny' },
    });
    const manifest = JSON.parse(await skopeoRawManifest(`${proxy.host}/ferry/tiny:latest`)) as { annotations: Record<string, string>; layers: { mediaType: string }[] };
    expect(manifest.annotations).toEqual({
      ...ANNOTATIONS,
      'org.opencontainers.image.base.name': baseRef,
      'org.opencontainers.image.base.digest': base.digest,
    });
    expect(manifest.layers.map((layer) => layer.mediaType)).toEqual([
      'application/vnd.oci.image.layer.v1.tar+gzip',
      'application/vnd.oci.image.layer.v1.tar',
      'application/vnd.oci.image.layer.v1.tar+gzip',
    ]);

    const mountedBase = result.blobs.find((blob) => blob.digest === baseLayer!.descriptor.digest);
    expect(mountedBase).toMatchObject({ status: 'mounted', mountedFrom: 'base/busybox', bytesSent: 0 });
    const mountRequest = proxy.requests.find((r) => r.method === 'POST' && r.url.includes(`mount=${encodeURIComponent(baseLayer!.descriptor.digest)}`));
    expect(mountRequest).toMatchObject({ status: 201 });
    expect(result.bytesUploaded).toBe(modelLayer!.descriptor.size + configLayer!.descriptor.size + image.manifests[0]!.manifest.config.size);
    const patched = proxy.requests.filter((r) => r.method === 'PATCH').reduce((sum, r) => sum + r.bodyBytes, 0);
    expect(patched).toBe(result.bytesUploaded);
  });

  it('puts the model files at their paths with fixed modes and root ownership (skopeo copy + umoci unpack)', async () => {
    const layout = await tempDir('pulled');
    await skopeoCopy(`${proxy.host}/ferry/tiny:v1`, `oci:${layout}:v1`);
    const root = await umociUnpack(layout, 'v1');
    expect(sha256(await readFile(join(root, 'models/tiny/weights.bin')))).toBe(sha256(weights));
    expect(await readFile(join(root, 'etc/ferry/serve.json'), 'utf8')).toBe('{"port":8000}\n');
    expect(await modeOf(join(root, 'models/tiny/weights.bin'))).toEqual({ mode: '644', uid: 0, gid: 0 });
    expect(await modeOf(join(root, 'models/tiny/tokenizer'))).toEqual({ mode: '755', uid: 0, gid: 0 });
    expect(await modeOf(join(root, 'models/tiny/bin/serve.sh'))).toEqual({ mode: '755', uid: 0, gid: 0 });
    expect(existsSync(join(root, 'bin/busybox'))).toBe(true);
  });

  it('runs under podman: the entrypoint, environment and files are what the image says', async () => {
    const pulled = await podmanPull(`${proxy.host}/ferry/tiny:v1`);
    try {
      const entrypoint = await podmanRun(pulled.ref, [], { network: 'none' });
      expect(entrypoint).toMatchObject({ exitCode: 0, stdout: '{"port":8000}\n' });
      const listing = await runCommand(requireBinary('podman', 'podman'), [
        'run', '--rm', '--network=none', '--entrypoint', '/bin/sh', pulled.ref, '-c', 'echo $MODEL_DIR; stat -c "%a %u %n" /models/tiny/weights.bin /models/tiny/bin/serve.sh',
      ]);
      expect(listing.stdout).toBe('/models/tiny\n644 0 /models/tiny/weights.bin\n755 0 /models/tiny/bin/serve.sh\n');
    } finally {
      await pulled.remove();
    }
  });

  it('gives a byte-identical digest for the same inputs built from other directories with other mtimes and permission bits', async () => {
    const elsewhere = await modelDir({ weights, mtime: 1_000_000, fileMode: 0o600 });
    const again = await buildModelImage({ base: await baseFromRegistry(client(proxy.host), baseRef), model: elsewhere });
    expect(again.digest).toBe(pushed.digest);
    const changed = await modelDir({ weights: Buffer.concat([weights, Buffer.from('x')]) });
    expect((await buildModelImage({ base: await baseFromRegistry(client(proxy.host), baseRef), model: changed })).digest).not.toBe(pushed.digest);
  });

  it('never re-sends an unchanged model layer: HEAD finds it, and only the new config bytes go up', async () => {
    const registryClient = client(proxy.host);
    const image = await buildModelImage({ base: await baseFromRegistry(registryClient, baseRef), model, serveConfig: '{"port":9000}\n' });
    const modelDigest = image.layers[0]!.descriptor.digest;
    proxy.reset();
    const result = await pushImage(image, { client: registryClient, repository: 'ferry/tiny', tags: ['v2'] });

    expect(result.blobs.find((blob) => blob.digest === modelDigest)).toMatchObject({ status: 'exists', bytesSent: 0 });
    expect(proxy.requests.filter((r) => r.method === 'HEAD' && r.url.endsWith(`/blobs/${modelDigest}`))).toMatchObject([{ status: 200 }]);
    expect(proxy.requests.some((r) => r.method === 'POST' && r.url.includes(modelDigest))).toBe(false);
    const sentThroughProxy = proxy.requests.filter((r) => r.method === 'PATCH').reduce((sum, r) => sum + r.bodyBytes, 0);
    const newBlobs = image.layers[1]!.descriptor.size + image.manifests[0]!.manifest.config.size;
    expect({ client: result.bytesUploaded, proxy: sentThroughProxy }).toEqual({ client: newBlobs, proxy: newBlobs });
    expect(result.blobsReused).toBe(2);
  });

  it('mounts every blob from another repository of the same registry instead of uploading', async () => {
    const registryClient = client(proxy.host);
    proxy.reset();
    const result = await pushImage(pushed.image, { client: registryClient, repository: 'mirror/tiny', tags: ['v1'], mountFrom: ['ferry/tiny'] });
    expect(result.blobs.map((blob) => blob.status)).toEqual(['mounted', 'mounted', 'mounted', 'mounted']);
    expect(result.bytesUploaded).toBe(0);
    const modelDigest = pushed.image.layers[0]!.descriptor.digest;
    expect(proxy.requests.find((r) => r.url.includes(`mount=${encodeURIComponent(modelDigest)}&from=ferry%2Ftiny`))).toMatchObject({ method: 'POST', status: 201 });
    expect(proxy.requests.filter((r) => r.method === 'PATCH')).toEqual([]);
    expect((await skopeoInspect(`${proxy.host}/mirror/tiny:v1`)).Digest).toBe(pushed.digest);
  });

  it('copies to another registry by streaming the base layers from the first one (ranged GETs, digest-checked)', async () => {
    const other = await startRegistry();
    try {
      const result = await pushImage(pushed.image, { client: client(other.host), repository: 'ferry/tiny', tags: ['v1'] });
      const baseLayer = result.blobs.find((blob) => blob.kind === 'base layer');
      expect(baseLayer).toMatchObject({ status: 'uploaded' });
      expect(baseLayer!.bytesSent).toBe(baseLayer!.size);
      expect((await skopeoInspect(`${other.host}/ferry/tiny:v1`)).Digest).toBe(pushed.digest);
      expect(proxy.requests.some((r) => r.method === 'GET' && r.url.endsWith(`/base/busybox/blobs/${baseLayer!.digest}`) && r.status === 206)).toBe(true);
    } finally {
      await other.stop();
    }
  });

  it('writes an OCI layout directory and tarball with the pushed digest, which skopeo and umoci read', async () => {
    const layout = join(await tempDir('layout'), 'image');
    expect((await writeOciLayout(pushed.image, layout, { tag: 'v1' })).digest).toBe(pushed.digest);
    expect((await skopeoInspect(`oci:${layout}:v1`)).Digest).toBe(pushed.digest);
    const root = await umociUnpack(layout, 'v1');
    expect(sha256(await readFile(join(root, 'models/tiny/weights.bin')))).toBe(sha256(weights));

    const archive = join(await tempDir('archive'), 'image.tar');
    expect((await writeOciArchive(pushed.image, archive, { tag: 'v1' })).digest).toBe(pushed.digest);
    expect((await skopeoInspect(`oci-archive:${archive}:v1`)).Digest).toBe(pushed.digest);
    // Written twice, the tarball is the same file.
    const again = join(await tempDir('archive'), 'image.tar');
    await writeOciArchive(pushed.image, again, { tag: 'v1' });
    expect(sha256(await readFile(again))).toBe(sha256(await readFile(archive)));
  });

  it('builds on a base from an OCI layout directory, uploading its layers from disk; a second push sends nothing', async () => {
    const layout = await tempDir('base-layout');
    await skopeoCopy(baseRef, `oci:${layout}:base`);
    const base = await baseFromLayout(layout, 'base');
    const image = await buildModelImage({ base, model });
    const result = await pushImage(image, { client: client(proxy.host), repository: 'ferry/from-layout', tags: ['v1'] });
    expect(result.blobs.map((blob) => [blob.kind, blob.status])).toEqual([
      ['base layer', 'uploaded'],
      ['layer', 'uploaded'],
      ['layer', 'uploaded'],
      ['config', 'uploaded'],
    ]);
    const second = await pushImage(image, { client: client(proxy.host), repository: 'ferry/from-layout', tags: ['v1'] });
    expect(second.bytesUploaded).toBe(0);
    expect((await skopeoInspect(`${proxy.host}/ferry/from-layout:v1`)).Layers).toEqual(image.manifests[0]!.manifest.layers.map((l) => l.digest));
  });

  it('accepts a Docker v2 schema 2 base, keeping its layer digests under OCI media types', async () => {
    await skopeoCopy(baseRef, `${proxy.host}/base/busybox-docker:1`, ['--format', 'v2s2']);
    const raw = JSON.parse(await skopeoRawManifest(`${proxy.host}/base/busybox-docker:1`)) as { mediaType: string; layers: { digest: string }[] };
    expect(raw.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    const base = await baseFromRegistry(client(proxy.host), `${proxy.host}/base/busybox-docker:1`);
    const image = await buildModelImage({ base, model });
    await pushImage(image, { client: client(proxy.host), repository: 'ferry/on-docker-base', tags: ['v1'] });
    const manifest = JSON.parse(await skopeoRawManifest(`${proxy.host}/ferry/on-docker-base:v1`)) as { mediaType: string; config: { mediaType: string }; layers: { digest: string; mediaType: string }[] };
    expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(manifest.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
    expect(manifest.layers[0]).toEqual(expect.objectContaining({ digest: raw.layers[0]!.digest, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }));
    const layout = await tempDir('docker-base');
    await skopeoCopy(`${proxy.host}/ferry/on-docker-base:v1`, `oci:${layout}:v1`);
    expect(existsSync(join(await umociUnpack(layout, 'v1'), 'models/tiny/weights.bin'))).toBe(true);
  });

  it('keeps a multi-platform base multi-platform, or narrows it to the selected platforms', async () => {
    const multiRef = await pushBase(client(proxy.host), 'base/multi', rootfs, ['linux/amd64', 'linux/arm64']);
    const registryClient = client(proxy.host);
    const image = await buildModelImage({ base: await baseFromRegistry(registryClient, multiRef), model });
    const result = await pushImage(image, { client: registryClient, repository: 'ferry/multi', tags: ['v1'] });
    const index = JSON.parse(await skopeoRawManifest(`${proxy.host}/ferry/multi:v1`)) as { mediaType: string; manifests: { platform: { architecture: string } }[] };
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
    expect(sha256(Buffer.from(await skopeoRawManifest(`${proxy.host}/ferry/multi:v1`)))).toBe(result.digest);
    const skopeo = requireBinary('skopeo', 'skopeo');
    const arm = JSON.parse(await checkedCommand(skopeo, ['--override-arch', 'arm64', 'inspect', '--tls-verify=false', `docker://${proxy.host}/ferry/multi:v1`])) as { Architecture: string; Layers: string[] };
    expect(arm.Architecture).toBe('arm64');
    expect(arm.Layers).toContain(image.layers[0]!.descriptor.digest);

    const narrowed = await buildModelImage({ base: await baseFromRegistry(registryClient, multiRef, { platforms: ['linux/arm64'] }), model });
    expect(narrowed.index?.manifests.map((m) => m.platform?.architecture)).toEqual(['arm64']);
    await expect(baseFromRegistry(registryClient, multiRef, { platforms: ['linux/s390x'] })).rejects.toThrow(/has no image for linux\/s390x \(it has linux\/amd64, linux\/arm64\)/);
  });
});

describe('faults between Ferry and the registry', () => {
  let registry: RegistryComponent;
  let proxy: FaultProxy;
  let reference: BuiltImage;
  let modelDigest: string;

  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.host);
    const baseRef = await pushBase(client(proxy.host), 'base/busybox', await busyboxRootfs());
    // Read through the proxy too, so the base layer is mounted and the uploads are Ferry's layers.
    reference = await buildModelImage({ base: await baseFromRegistry(client(proxy.host), baseRef), model: await modelDir({ weights: randomBytes(6 * MiB) }) });
    modelDigest = reference.layers[0]!.descriptor.digest;
  });
  afterAll(async () => {
    await proxy?.close();
    await registry?.stop();
  });

  const tagOf = (repository: string, tag: string) => client(registry.host).manifestDigest(repository, tag);
  const uploadId = (url: string) => /\/blobs\/uploads\/([^/?]+)/.exec(url)?.[1];

  it('a PATCH answered 500 resumes at the offset the registry reports, in the same upload session', async () => {
    proxy.reset();
    proxy.inject({ method: 'PATCH', skip: 2, fault: { kind: 'status', status: 500 } });
    const result = await pushImage(reference, { client: client(proxy.host), repository: 'faults/patch500', tags: ['v1'], concurrency: 1 });
    expect((await skopeoInspect(`${registry.host}/faults/patch500:v1`)).Digest).toBe(reference.digest);
    const failed = proxy.requests.findIndex((r) => r.fault === 'status');
    const session = uploadId(proxy.requests[failed]!.url);
    const after = proxy.requests.slice(failed + 1).filter((r) => r.url.includes('/blobs/'));
    // HEAD (not there yet), GET status (204 with Range), then the same session carries on.
    expect(after.slice(0, 3).map((r) => [r.method, r.status, uploadId(r.url) === session])).toEqual([
      ['HEAD', 404, false],
      ['GET', 204, true],
      ['PATCH', 202, true],
    ]);
    const modelPatches = proxy.requests.filter((r) => r.method === 'PATCH' && r.status === 202 && uploadId(r.url) === session);
    expect(modelPatches.reduce((sum, r) => sum + r.bodyBytes, 0)).toBe(reference.layers[0]!.descriptor.size);
    // One session per uploaded blob (model, runtime config, config): the 500 did not cost a new one.
    expect(proxy.requests.filter((r) => r.method === 'POST' && !r.url.includes('mount='))).toHaveLength(3);
    expect(result.blobs.find((blob) => blob.digest === modelDigest)).toMatchObject({ status: 'uploaded' });
  });

  it.each([
    {
      fault: '5xx on the PUT that closes an upload and on a manifest PUT',
      repository: 'faults/put5xx',
      rules: [
        { method: 'PUT', path: /\/blobs\/uploads\//, fault: { kind: 'status', status: 502 } },
        { method: 'PUT', path: /\/manifests\/sha256:/, fault: { kind: 'status', status: 503 } },
      ],
    },
    {
      fault: 'a PATCH that stalls after 256 KiB for longer than the client timeout',
      repository: 'faults/stall',
      rules: [{ method: 'PATCH', skip: 1, fault: { kind: 'stall', afterBytes: 256 * 1024 } }],
    },
    { fault: 'a connection reset mid-PATCH', repository: 'faults/reset', rules: [{ method: 'PATCH', skip: 3, fault: { kind: 'reset', afterBytes: 100_000 } }] },
  ] as const)('$fault: retried, the push completes with the same digest and the tag', async ({ repository, rules }) => {
    proxy.reset();
    proxy.inject(...rules.map((rule) => ({ ...rule, fault: { ...rule.fault } })));
    const result = await pushImage(reference, { client: client(proxy.host, { timeoutMs: 1_500 }), repository, tags: ['v1'], concurrency: 1 });
    expect(result.digest).toBe(reference.digest);
    expect(proxy.requests.filter((r) => r.fault !== undefined)).toHaveLength(rules.length);
    expect(await tagOf(repository, 'v1')).toBe(reference.digest);
    expect((await skopeoInspect(`${registry.host}/${repository}:v1`)).Digest).toBe(reference.digest);
  });

  it('a registry killed mid-push: exit 3, no tag, and a re-run after restart sends only the unfinished blobs', async () => {
    const doomed = await startRegistry();
    const registryClient = client(doomed.host, { retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 100 } });
    await pushBase(registryClient, 'base/busybox', await busyboxRootfs());
    const doomedBase = await baseFromRegistry(registryClient, `${doomed.host}/base/busybox:1`);
    const model = await modelDir({ weights: randomBytes(6 * MiB) });
    const image = await buildModelImage({ base: doomedBase, model, configFirst: true });
    const modelDigest = image.layers[1]!.descriptor.digest;
    let killed: Promise<void> | undefined;
    const push = pushImage(image, {
      client: registryClient,
      repository: 'ferry/killed',
      tags: ['v1'],
      concurrency: 1,
      onProgress: (progress) => {
        if (progress.digest === modelDigest && progress.bytesDone >= 3 * MiB) killed ??= doomed.kill();
      },
    });
    const failure = await push.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(InfrastructureError);
    expect((failure as InfrastructureError).exitCode).toBe(3);
    expect((failure as Error).message).toMatch(new RegExp(`registry ${doomed.host.replace(/\./g, '\\.')}: .* failed after \\d+ tries`));
    await killed;

    await doomed.restart();
    const skopeo = await runCommand(requireBinary('skopeo', 'skopeo'), ['inspect', '--tls-verify=false', `docker://${doomed.host}/ferry/killed:v1`]);
    expect(skopeo.exitCode).not.toBe(0);
    expect(skopeo.stderr).toMatch(/manifest unknown|not found/i);

    const rerun = await pushImage(image, { client: client(doomed.host), repository: 'ferry/killed', tags: ['v1'], concurrency: 1 });
    expect(rerun.blobs.map((blob) => [blob.kind, blob.status])).toEqual([
      ['base layer', 'exists'],
      ['layer', 'exists'],
      ['layer', 'uploaded'],
      ['config', 'uploaded'],
    ]);
    expect(rerun.bytesUploaded).toBe(image.layers[1]!.descriptor.size + image.manifests[0]!.manifest.config.size);
    expect((await skopeoInspect(`${doomed.host}/ferry/killed:v1`)).Digest).toBe(image.digest);
    await doomed.stop();
  });

  it('a cancelled push stops with CancelledError and writes no tag', async () => {
    const controller = new AbortController();
    const repository = 'faults/cancelled';
    const push = pushImage(reference, {
      client: client(registry.host, { signal: controller.signal }),
      repository,
      tags: ['v1'],
      concurrency: 1,
      onProgress: (progress) => {
        if (progress.bytesDone >= 2 * MiB) controller.abort();
      },
    });
    await expect(push).rejects.toBeInstanceOf(CancelledError);
    expect(await tagOf(repository, 'v1')).toBeUndefined();
  });
});

/** A logger that keeps every line, to check no secret is ever in one. */
function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger: Logger = {
    debug: (m) => lines.push(m),
    info: (m) => lines.push(m),
    warn: (m) => lines.push(m),
    error: (m) => lines.push(m),
    group: (_t, fn) => fn(),
    progress: () => ({ update: () => undefined, end: () => undefined }),
    setSecret: () => undefined,
  };
  return { logger, lines };
}

describe('registries that require a login', () => {
  const user = { username: 'ci-bot', password: 'hunter2-Secret-Pass' };
  let rootfs: string;
  let model: string;

  beforeAll(async () => {
    rootfs = await busyboxRootfs();
    model = await modelDir({ weights: randomBytes(MiB) });
  });

  /** A docker config file with `auths` for host, as `docker login` writes it. */
  async function dockerConfig(host: string, credentials: { username: string; password: string }): Promise<string> {
    const dir = await tempDir('docker-config');
    await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64') } } }));
    return dir;
  }

  const secretsIn = (text: string, password: string) =>
    [password, Buffer.from(`${user.username}:${password}`).toString('base64')].filter((secret) => text.includes(secret));

  describe('htpasswd (basic auth)', () => {
    let registry: RegistryComponent;
    beforeAll(async () => {
      registry = await startRegistry({ auth: { htpasswd: await makeHtpasswd([user]) } });
    });
    afterAll(() => registry?.stop());

    it('pushes with credentials from the docker config file; skopeo with the same login sees the image', async () => {
      const configDir = await dockerConfig(registry.host, user);
      const { logger, lines } = recordingLogger();
      const registryClient = client(registry.host, { credentialFiles: true, env: { DOCKER_CONFIG: configDir, HOME: configDir }, logger });
      const image = await buildModelImage({ base: scratchBase(), model });
      const result = await pushImage(image, { client: registryClient, repository: 'ferry/private', tags: ['v1'] });
      expect((await skopeoInspect(`${registry.host}/ferry/private:v1`, { creds: `${user.username}:${user.password}` })).Digest).toBe(result.digest);
      expect(lines).toContain(`registry ${registry.host}: using credentials from ${join(configDir, 'config.json')}`);
      expect(secretsIn(lines.join('\n'), user.password)).toEqual([]);
    });

    it.each([
      { who: 'no credentials', credentials: undefined, message: /refused anonymous access/ },
      { who: 'a wrong password', credentials: { username: user.username, password: 'wrong-Password-123' }, message: /refused the credentials/ },
    ])('with $who: exit 2, and the message names the registry but no secret', async ({ credentials, message }) => {
      const { logger, lines } = recordingLogger();
      const registryClient = client(registry.host, { ...(credentials ? { credentials } : {}), logger });
      const image = await buildModelImage({ base: scratchBase(), model });
      const failure = (await pushImage(image, { client: registryClient, repository: 'ferry/private', tags: ['v2'] }).catch((e: unknown) => e)) as InputError;
      expect(failure).toBeInstanceOf(InputError);
      expect(failure.exitCode).toBe(2);
      expect(failure.message).toMatch(message);
      expect(failure.message).toContain(registry.host);
      const everything = [failure.message, failure.hint ?? '', String(failure.stack), ...lines].join('\n');
      expect(secretsIn(everything, credentials?.password ?? user.password)).toEqual([]);
    });
  });

  describe('bearer tokens from a token service', () => {
    let tokens: TokenServer;
    let registry: RegistryComponent;
    beforeAll(async () => {
      tokens = await startTokenServer([user]);
      registry = await startRegistry({ auth: { token: { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, rootCertBundle: tokens.rootCertBundle } } });
    });
    afterAll(async () => {
      await registry?.stop();
      await tokens?.close();
    });

    it('gets a token for push and for mounting from the base repository, and pushes; skopeo logs in the same way', async () => {
      const { logger, lines } = recordingLogger();
      const registryClient = client(registry.host, { credentials: user, logger });
      const baseRef = await pushBase(registryClient, 'base/busybox', rootfs);
      const image = await buildModelImage({ base: await baseFromRegistry(registryClient, baseRef), model });
      const result = await pushImage(image, { client: registryClient, repository: 'ferry/tokens', tags: ['v1'] });
      expect(result.blobs[0]).toMatchObject({ kind: 'base layer', status: 'mounted', mountedFrom: 'base/busybox' });
      expect(tokens.requests).toContainEqual({ username: user.username, scopes: ['repository:ferry/tokens:pull,push', 'repository:base/busybox:pull'], granted: true });
      expect((await skopeoInspect(`${registry.host}/ferry/tokens:v1`, { creds: `${user.username}:${user.password}` })).Digest).toBe(result.digest);
      expect(secretsIn(lines.join('\n'), user.password)).toEqual([]);
    });

    it('with a wrong password: exit 2 from the token service, no secret in the message', async () => {
      const registryClient = client(registry.host, { credentials: { username: user.username, password: 'not-the-Password-9' } });
      const failure = (await pushImage(await buildModelImage({ base: scratchBase(), model }), { client: registryClient, repository: 'ferry/tokens', tags: ['v2'] }).catch(
        (e: unknown) => e,
      )) as InputError;
      expect(failure).toBeInstanceOf(InputError);
      expect(failure.message).toMatch(new RegExp(`token service of registry ${registry.host.replace(/\./g, '\\.')} refused the credentials \\(HTTP 401\\)`));
      expect(secretsIn(`${failure.message}\n${failure.hint ?? ''}\n${String(failure.stack)}`, 'not-the-Password-9')).toEqual([]);
    });
  });
});

describe('HTTPS registries', () => {
  let registry: RegistryComponent;
  let certificate: string;
  let plain: RegistryComponent;
  let model: string;
  beforeAll(async () => {
    const tls = await makeServerCertificate();
    certificate = tls.certificate;
    registry = await startRegistry({ tls });
    plain = await startRegistry();
    model = await modelDir({ weights: randomBytes(64 * 1024) });
  });
  afterAll(async () => {
    await registry?.stop();
    await plain?.stop();
  });

  it.each([
    { how: 'verified against the CA certificate given', options: async () => ({ ca: await readFile(certificate) }) },
    { how: 'unverified only when asked explicitly', options: async () => ({ insecureSkipVerify: true }) },
  ])('pushes over HTTPS $how', async ({ options }) => {
    const image = await buildModelImage({ base: scratchBase(), model });
    const result = await pushImage(image, { client: client(registry.host, { plainHttp: false, ...(await options()) }), repository: 'ferry/tls', tags: ['v1'] });
    expect(await client(registry.host, { plainHttp: false, insecureSkipVerify: true }).manifestDigest('ferry/tls', 'v1')).toBe(result.digest);
  });

  it.each([
    { how: 'an untrusted certificate, by default', target: () => registry.host, message: /self-signed certificate/, hint: /TLS certificate is not trusted/ },
    { how: 'a plain-HTTP registry, unless plain HTTP is allowed', target: () => plain.host, message: /wrong version number|EPROTO/, hint: /plain HTTP must be allowed explicitly/ },
  ])('refuses $how with exit 3 and what to do', async ({ target, message, hint }) => {
    const image = await buildModelImage({ base: scratchBase(), model });
    const failure = (await pushImage(image, { client: client(target(), { plainHttp: false }), repository: 'ferry/tls', tags: ['v2'] }).catch((e: unknown) => e)) as InfrastructureError;
    expect(failure).toBeInstanceOf(InfrastructureError);
    expect(failure.message).toMatch(message);
    expect(failure.hint).toMatch(hint);
  });
});

describe('memory while pushing a large layer', () => {
  let registry: RegistryComponent;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(() => registry?.stop());

  it('a 512 MiB model layer is built and pushed with a peak RSS within 200 MiB (streamed, never buffered)', async () => {
    const entry = join(REPO_ROOT, 'packages/image/dist/index.js');
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run "bash scripts/build.sh --packages-only"`);
    const dir = await tempDir('large');
    const weightsFile = join(dir, 'weights.bin');
    const block = randomBytes(MiB);
    await writeFile(weightsFile, Buffer.alloc(0));
    const { open } = await import('node:fs/promises');
    const handle = await open(weightsFile, 'w');
    for (let i = 0; i < 512; i++) {
      block.writeUInt32LE(i, 0);
      await handle.write(block);
    }
    await handle.close();
    const script = join(dir, 'push.mjs');
    await writeFile(
      script,
      `import { FileTree, RegistryClient, buildImage, pushImage, scratchBase } from ${JSON.stringify(entry)};
const files = await new FileTree().addFileFromHost('/models/large/weights.bin', ${JSON.stringify(weightsFile)});
const image = await buildImage({ base: scratchBase(), layers: [{ name: 'model', files }], workDir: ${JSON.stringify(join(dir, 'work'))} });
const client = new RegistryClient({ registry: ${JSON.stringify(registry.host)}, plainHttp: true, credentialFiles: false });
const result = await pushImage(image, { client, repository: 'ferry/large', tags: ['v1'] });
client.close();
process.stdout.write(JSON.stringify({ digest: result.digest, bytesUploaded: result.bytesUploaded, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
`,
    );
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(NODE24, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`push child exited ${code}: ${stderr}`))));
    });
    const { digest, bytesUploaded, maxRssBytes } = JSON.parse(output) as { digest: string; bytesUploaded: number; maxRssBytes: number };
    expect(bytesUploaded).toBeGreaterThan(512 * MiB);
    expect((await skopeoInspect(`${registry.host}/ferry/large:v1`)).Digest).toBe(digest);
    // Node itself takes ~70 MiB; the rest is stream buffers awaiting GC, flat whatever the layer size.
    expect(maxRssBytes).toBeLessThan(200 * MiB);
  }, 180_000);
});
