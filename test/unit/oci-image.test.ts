// Image metadata as a runtime and a registry read it: references, the config a serving image gets
// (entrypoint, env, ports, labels, history aligned with layers), canonical JSON, and digests that
// depend only on the inputs.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '@ferry/core';
import {
  FileTree,
  buildImage,
  buildImageConfig,
  canonicalJson,
  parseChallenges,
  parseManifest,
  parseReference,
  scratchBase,
  sha256Digest,
} from '@ferry/image';
import type { ImageConfig } from '@ferry/image';

const workDir = () => mkdtemp(join(tmpdir(), 'ferry-oci-image-'));

describe('image references', () => {
  it.each([
    { text: 'registry.example.com/team/model:v1', registry: 'registry.example.com', repository: 'team/model', tag: 'v1' },
    { text: '127.0.0.1:5000/model', registry: '127.0.0.1:5000', repository: 'model' },
    { text: 'localhost/a/b/c:1.0-rc_1', registry: 'localhost', repository: 'a/b/c', tag: '1.0-rc_1' },
    { text: 'ubuntu', registry: 'docker.io', repository: 'library/ubuntu' },
    { text: 'pytorch/torchserve:0.12.0-cpu', registry: 'docker.io', repository: 'pytorch/torchserve', tag: '0.12.0-cpu' },
    {
      text: `nvcr.io/nvidia/tritonserver:24.08-py3@sha256:${'a'.repeat(64)}`,
      registry: 'nvcr.io',
      repository: 'nvidia/tritonserver',
      tag: '24.08-py3',
      digest: `sha256:${'a'.repeat(64)}`,
    },
  ])('$text', ({ text, ...expected }) => {
    expect(parseReference(text)).toEqual(expected);
  });

  it.each([
    { text: 'Team/Model', why: /lowercase/ },
    { text: 'host:5000/model:bad tag', why: /not a valid tag/ },
    { text: 'model@sha256:123', why: /not a sha256 digest/ },
    { text: '', why: /empty/ },
  ])('refuses "$text" naming the input', ({ text, why }) => {
    expect(() => parseReference(text, 'image')).toThrow(why);
    expect(() => parseReference(text, 'image')).toThrow(InputError);
  });
});

describe('WWW-Authenticate challenges', () => {
  it.each([
    {
      header: 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"',
      expected: [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/ubuntu:pull' } }],
    },
    { header: 'Basic realm="Registry Realm"', expected: [{ scheme: 'basic', params: { realm: 'Registry Realm' } }] },
    {
      header: 'Basic realm="a, b", Bearer realm="https://t/x",scope="repository:a/b:pull,push"',
      expected: [
        { scheme: 'basic', params: { realm: 'a, b' } },
        { scheme: 'bearer', params: { realm: 'https://t/x', scope: 'repository:a/b:pull,push' } },
      ],
    },
  ])('$header', ({ header, expected }) => {
    expect(parseChallenges(header)).toEqual(expected);
  });
});

describe('image config', () => {
  const base: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/bin', 'LANG=C'], Cmd: ['python3'], ExposedPorts: { '22/tcp': {} }, Labels: { maintainer: 'base' } },
    rootfs: { type: 'layers', diff_ids: [sha256Digest('base layer')] },
    history: [{ created_by: 'base' }],
    container_config: { Hostname: 'kept as is' },
  };

  it('sets what the serving image needs and keeps what the base had', () => {
    const config = buildImageConfig(
      base,
      [{ name: 'model', diffId: sha256Digest('model layer') }],
      { entrypoint: ['ferry', 'serve'], env: { LANG: 'C.UTF-8', MODEL_DIR: '/models' }, exposedPorts: ['8000', '8001/udp'], labels: { runtime: 'ferry' } },
      '2024-01-02T03:04:05Z',
    );
    expect(config.config).toEqual({
      Entrypoint: ['ferry', 'serve'],
      // Like Docker's ENTRYPOINT, a new entrypoint drops the inherited Cmd.
      Env: ['PATH=/usr/bin', 'LANG=C.UTF-8', 'MODEL_DIR=/models'],
      ExposedPorts: { '22/tcp': {}, '8000/tcp': {}, '8001/udp': {} },
      Labels: { maintainer: 'base', runtime: 'ferry' },
    });
    expect(config.rootfs.diff_ids).toEqual([sha256Digest('base layer'), sha256Digest('model layer')]);
    expect(config.history).toEqual([
      { created_by: 'base' },
      { created: '2024-01-02T03:04:05Z', created_by: 'ferry: model' },
      { created: '2024-01-02T03:04:05Z', created_by: 'ferry: image config', empty_layer: true },
    ]);
    expect(config.container_config).toEqual({ Hostname: 'kept as is' });
    expect(base.rootfs.diff_ids).toHaveLength(1);
  });

  it('adds no history when the base has layers but no history, so entries never misalign with layers', () => {
    const { history: _dropped, ...withoutHistory } = base;
    const config = buildImageConfig(withoutHistory, [{ name: 'model', diffId: sha256Digest('m') }], {}, '1970-01-01T00:00:00Z');
    expect(config.history).toBeUndefined();
  });

  it.each(['0', '70000', '8000/icmp', 'http'])('refuses exposed port %s', (port) => {
    expect(() => buildImageConfig(base, [], { exposedPorts: [port] }, 'x')).toThrow(/exposed port/);
  });
});

describe('canonical JSON', () => {
  it('sorts keys at every depth and drops undefined, so equal content gives equal bytes', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[{"y":2,"z":1}]},"b":1}');
  });
});

describe('manifests', () => {
  it('refuses a Docker schema 1 base with the reason', () => {
    const schema1 = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'x', fsLayers: [] }));
    expect(() => parseManifest(schema1)).toThrow(/schema 1 manifest, which is not supported/);
  });
});

describe('image digests', () => {
  const build = async (options: { epoch?: number; content?: string; annotations?: Record<string, string>; platforms?: string[] }) =>
    buildImage({
      base: scratchBase(options.platforms),
      layers: [{ name: 'model', files: new FileTree().addFile('/models/m/weights.bin', options.content ?? 'weights') }],
      config: { entrypoint: ['/serve'] },
      annotations: options.annotations ?? { 'org.opencontainers.image.title': 'm' },
      ...(options.epoch === undefined ? {} : { sourceDateEpoch: options.epoch }),
      workDir: await workDir(),
    });

  it('are equal for equal inputs and differ when content, time or annotations differ', async () => {
    const reference = (await build({})).digest;
    expect((await build({})).digest).toBe(reference);
    expect((await build({ content: 'other weights' })).digest).not.toBe(reference);
    expect((await build({ epoch: 1_700_000_000 })).digest).not.toBe(reference);
    expect((await build({ annotations: { 'org.opencontainers.image.title': 'n' } })).digest).not.toBe(reference);
  });

  it('a multi-platform base gives an index with a manifest per platform, all sharing the model layer', async () => {
    const image = await build({ platforms: ['linux/amd64', 'linux/arm64/v8'] });
    expect(image.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(image.index?.manifests.map((m) => m.platform)).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ]);
    const modelLayers = image.manifests.map((m) => m.manifest.layers.at(-1)?.digest);
    expect(new Set(modelLayers).size).toBe(1);
    expect(image.manifests.map((m) => m.config.architecture)).toEqual(['amd64', 'arm64']);
  });
});
