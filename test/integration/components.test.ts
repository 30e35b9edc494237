// Each real component of the test environment starts on loopback and does what its users notice:
// the registry stores what is pushed, Prometheus scrapes, HAProxy splits traffic by weight, podman
// runs and pushes images, and a missing one fails with the command that installs it.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkedCommand,
  makeBaseImage,
  makeWorkDir,
  podmanPull,
  podmanPush,
  podmanRun,
  pollUntil,
  requireBinary,
  runtimeCommand,
  skopeoInspect,
  startComponent,
  startHaproxy,
  startPrometheus,
  startRegistry,
  stopAll,
} from '../support/components/index.js';
import type { HaproxyComponent, LocalImage, PrometheusComponent, RegistryComponent } from '../support/components/index.js';

afterAll(stopAll);

interface LoopbackServer {
  /** 127.0.0.1:port */
  address: string;
  url: string;
  close(): Promise<void>;
}

async function serveOnLoopback(listener: RequestListener): Promise<LoopbackServer> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** A gzipped one-file layer made by GNU tar, so the bytes are a real layer, not a fixture. */
async function makeLayer(content: string): Promise<{ tar: Buffer; gz: Buffer }> {
  const dir = await makeWorkDir('layer');
  try {
    await writeFile(join(dir.path, 'model.txt'), content);
    const archive = join(dir.path, 'layer.tar');
    await checkedCommand(requireBinary('tar', 'tar'), ['--numeric-owner', '--owner=0', '--group=0', '--mtime=@0', '-C', dir.path, '-cf', archive, 'model.txt']);
    const tar = await readFile(archive);
    return { tar, gz: gzipSync(tar) };
  } finally {
    await dir.remove();
  }
}

/** Monolithic upload: POST opens the session, one PUT with ?digest= carries the bytes. */
async function pushBlob(registry: RegistryComponent, repo: string, bytes: Buffer): Promise<string> {
  const digest = sha256(bytes);
  const opened = await fetch(`${registry.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  expect(opened.status).toBe(202);
  const upload = new URL(opened.headers.get('location')!, registry.url);
  upload.searchParams.set('digest', digest);
  const put = await fetch(upload, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
  expect(put.status).toBe(201);
  expect(put.headers.get('docker-content-digest')).toBe(digest);
  return digest;
}

describe('distribution registry', () => {
  let registry: RegistryComponent;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(() => registry?.stop());

  it.each([
    {
      format: 'OCI',
      manifestType: 'application/vnd.oci.image.manifest.v1+json',
      configType: 'application/vnd.oci.image.config.v1+json',
      layerType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    },
    {
      format: 'Docker v2',
      manifestType: 'application/vnd.docker.distribution.manifest.v2+json',
      configType: 'application/vnd.docker.container.image.v1+json',
      layerType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
    },
  ])('stores an $format image pushed over plain HTTP and skopeo sees it', async ({ format, manifestType, configType, layerType }) => {
    const repo = 'ferry/model';
    const tag = format === 'OCI' ? 'oci' : 'docker';
    const layer = await makeLayer(`weights for ${format}\n`);
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha256(layer.tar)] } }),
    );
    const layerDigest = await pushBlob(registry, repo, layer.gz);
    const configDigest = await pushBlob(registry, repo, config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: manifestType,
        config: { mediaType: configType, digest: configDigest, size: config.length },
        layers: [{ mediaType: layerType, digest: layerDigest, size: layer.gz.length }],
      }),
    );

    const put = await fetch(`${registry.url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', headers: { 'content-type': manifestType }, body: manifest });
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(sha256(manifest));

    const got = await fetch(`${registry.url}/v2/${repo}/manifests/${tag}`, { headers: { accept: manifestType } });
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe(manifestType);
    expect(Buffer.from(await got.arrayBuffer()).equals(manifest)).toBe(true);
    const blob = await fetch(`${registry.url}/v2/${repo}/blobs/${layerDigest}`);
    expect(Buffer.from(await blob.arrayBuffer()).equals(layer.gz)).toBe(true);

    const inspected = await skopeoInspect(`${registry.host}/${repo}:${tag}`);
    expect(inspected).toMatchObject({ Digest: sha256(manifest), Layers: [layerDigest], Os: 'linux', Architecture: 'amd64' });
  });

  it('refuses connections once killed, as a crashed registry would', async () => {
    const doomed = await startRegistry();
    expect((await fetch(`${doomed.url}/v2/`)).status).toBe(200);
    await doomed.kill();
    await expect(fetch(`${doomed.url}/v2/`)).rejects.toThrow();
    await doomed.stop();
  });
});

describe('prometheus', () => {
  let counter = 42;
  let target: LoopbackServer;
  let prometheus: PrometheusComponent;
  beforeAll(async () => {
    target = await serveOnLoopback((request, response) => {
      if (request.url !== '/metrics') return void response.writeHead(404).end();
      response.setHeader('content-type', 'text/plain; version=0.0.4');
      response.end(
        '# HELP ferry_test_requests_total Requests served.\n# TYPE ferry_test_requests_total counter\n' +
          `ferry_test_requests_total{version="canary"} ${counter}\n`,
      );
    });
    prometheus = await startPrometheus({ scrapeTargets: [target.address], scrapeInterval: '1s' });
  });
  afterAll(async () => {
    await prometheus?.stop();
    await target?.close();
  });

  const valueOf = (promql: string, expected: number) =>
    pollUntil(
      async () => {
        const [sample] = await prometheus.query(promql);
        return sample?.value === expected ? sample : undefined;
      },
      { what: `${promql} == ${expected}`, timeoutMs: 15_000, intervalMs: 200 },
    );

  it.each([
    { promql: 'ferry_test_requests_total{version="canary"}', expected: 42 },
    { promql: 'up{job="ferry-test"}', expected: 1 },
    { promql: 'scalar(sum(ferry_test_requests_total))', expected: 42 },
  ])('answers $promql with $expected', async ({ promql, expected }) => {
    const sample = await valueOf(promql, expected);
    expect(sample.value).toBe(expected);
  });

  it('sees a new counter value within a few scrapes', async () => {
    counter = 57;
    const sample = await valueOf('ferry_test_requests_total', 57);
    expect(sample.metric).toMatchObject({ instance: target.address, version: 'canary' });
  });

  it('rejects a malformed query with the reason', async () => {
    await expect(prometheus.query('sum(')).rejects.toThrow(/prometheus rejected sum\(: bad_data/);
  });
});

describe('haproxy', () => {
  const backends: LoopbackServer[] = [];
  let haproxy: HaproxyComponent;
  beforeAll(async () => {
    for (const body of ['a', 'b']) backends.push(await serveOnLoopback((_request, response) => response.end(body)));
    haproxy = await startHaproxy({
      backends: [
        {
          name: 'model',
          servers: [
            { name: 'a', address: backends[0]!.address, weight: 1 },
            { name: 'b', address: backends[1]!.address, weight: 1 },
          ],
        },
      ],
    });
  });
  afterAll(async () => {
    await haproxy?.stop();
    await Promise.all(backends.map((backend) => backend.close()));
  });

  /** Share of `total` requests answered by server a, sent 10 at a time. */
  async function shareOfA(total: number): Promise<number> {
    let fromA = 0;
    for (let sent = 0; sent < total; sent += 10) {
      const bodies = await Promise.all(Array.from({ length: 10 }, async () => (await fetch(haproxy.url)).text()));
      fromA += bodies.filter((body) => body === 'a').length;
      expect(bodies.every((body) => body === 'a' || body === 'b')).toBe(true);
    }
    return fromA / total;
  }

  it.each([
    { split: 'a 0 / b 100', a: 0, b: 100, share: 0, tolerance: 0 },
    { split: 'a 100 / b 0', a: 100, b: 0, share: 1, tolerance: 0 },
    { split: 'a 50 / b 50', a: 50, b: 50, share: 0.5, tolerance: 0.1 },
    { split: 'a 10 / b 90', a: 10, b: 90, share: 0.1, tolerance: 0.1 },
  ])('weights $split set at runtime, without a reload, split 200 requests that way', async ({ a, b, share, tolerance }) => {
    expect(await haproxy.runtime(`set weight model/a ${a}`)).toBe('\n');
    expect(await haproxy.runtime(`set weight model/b ${b}`)).toBe('\n');
    expect(await haproxy.runtime('get weight model/a')).toMatch(new RegExp(`^${a} \\(initial 1\\)`));
    expect(Math.abs((await shareOfA(200)) - share)).toBeLessThanOrEqual(tolerance);
  });

  it('answers the runtime API on its loopback TCP admin socket too', async () => {
    const [host, port] = haproxy.adminAddress.split(':') as [string, string];
    expect(await runtimeCommand({ host, port: Number(port) }, 'show info')).toMatch(/^Name: HAProxy$/m);
  });

  it('forgets runtime weights on a cold restart and keeps serving on the same port', async () => {
    await haproxy.runtime('set weight model/a 0');
    await haproxy.restart();
    expect(await haproxy.runtime('get weight model/a')).toMatch(/^1 \(initial 1\)/);
    expect(await shareOfA(20)).toBe(0.5);
  });
});

describe('podman with runc', () => {
  let registry: RegistryComponent;
  let image: LocalImage;
  beforeAll(async () => {
    registry = await startRegistry();
    image = await makeBaseImage('components', { files: { '/etc/ferry-release': 'ferry test image\n' } });
  });
  afterAll(async () => {
    await image?.remove();
    await registry?.stop();
  });

  it.each([
    { command: ['cat', '/etc/ferry-release'], stdout: 'ferry test image\n', exitCode: 0 },
    { command: ['id', '-u'], stdout: '0\n', exitCode: 0 },
    { command: ['sh', '-c', 'echo failing >&2; exit 3'], stdout: '', exitCode: 3 },
  ])('runs $command in the local base image', async ({ command, stdout, exitCode }) => {
    const result = await podmanRun(image.ref, command);
    expect({ stdout: result.stdout, exitCode: result.exitCode }).toEqual({ stdout, exitCode });
  });

  it('reaches a server on the host loopback from a --network host container', async () => {
    const server = await serveOnLoopback((_request, response) => response.end('hello from the host'));
    try {
      const result = await podmanRun(image.ref, ['wget', '-qO-', `${server.url}/`]);
      expect(result).toMatchObject({ stdout: 'hello from the host', exitCode: 0 });
    } finally {
      await server.close();
    }
  });

  it('pushes to the loopback registry, skopeo sees the digest, and the pulled image runs', async () => {
    const reference = `${registry.host}/ferry/base:v1`;
    const digest = await podmanPush(image.ref, reference);
    const inspected = await skopeoInspect(reference);
    expect(inspected.Digest).toBe(digest);
    expect(inspected.Layers).toHaveLength(1);

    const pulled = await podmanPull(reference);
    try {
      expect((await podmanRun(pulled.ref, ['cat', '/etc/ferry-release'])).stdout).toBe('ferry test image\n');
    } finally {
      await pulled.remove();
    }
  });
});

describe('a component that cannot start', () => {
  it.each([
    { binary: 'definitely-not-installed-xyz', aptPackage: 'definitely-not-installed-xyz' },
    { binary: 'kube-apiserver-not-here', aptPackage: 'kubernetes-not-here' },
  ])('missing $binary fails with the install command', ({ binary, aptPackage }) => {
    expect(() => requireBinary(binary, aptPackage)).toThrow(
      `component ${binary} is missing: run "sudo bash scripts/install-system-deps.sh" (or apt-get install ${aptPackage})`,
    );
  });

  it.each([
    {
      behaviour: 'exits before it is ready',
      script: 'echo "listen tcp 127.0.0.1:1: bind: permission denied" >&2; exit 7',
      error: /crasher did not start: exited \(7\) before it was ready[\s\S]*bind: permission denied/,
    },
    {
      behaviour: 'never answers',
      script: 'echo "waiting for a lock"; exec sleep 30',
      error: /crasher did not start: not ready after 500 ms waiting for 127\.0\.0\.1:1 to accept connections[\s\S]*waiting for a lock/,
    },
  ])('one that $behaviour fails with the last lines of its log and leaves nothing behind', async ({ script, error }) => {
    const workDir = await makeWorkDir('crasher');
    const start = startComponent({ name: 'crasher', command: '/bin/sh', args: ['-c', script], workDir, ready: { tcpPort: 1 }, readyTimeoutMs: 500 });
    await expect(start).rejects.toThrow(error);
    expect(existsSync(workDir.path)).toBe(false);
  });
});
