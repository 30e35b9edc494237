// build-serving-image as users run it: the real CLI (and the action bundle, and the GitLab template)
// pushing to a CNCF distribution registry on loopback, with skopeo, umoci, Python's zipfile and
// podman as the independent readers. What is asserted is what a user would notice: the digest,
// the files at each runtime's paths, the generated configuration, the tags and annotations, the
// bytes actually sent, the exit code and the message naming the input at fault.
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileTree, RegistryClient, buildImage, pushImage, scratchBase } from '@ferry/image';
import {
  checkedCommand,
  freePort,
  makeBaseImage,
  makeWorkDir,
  podmanPull,
  requireBinary,
  requirePodman,
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
import { makeHtpasswd } from '../support/registry-auth.js';
import { requirePython } from '../support/python.js';
import { stringify } from 'yaml';
import { gitlabCiLocal, makeWorkspace, requireGitlabCiLocal, shellRunnerArgs } from '../support/gitlab-ci-local.js';
import { cleanEnv, ferry, NODE24, REPO_ROOT, requireBuilt, run } from '../support/repo.js';
import type { RunResult } from '../support/repo.js';

afterAll(stopAll);

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

async function tempDir(name: string): Promise<string> {
  return (await makeWorkDir(`bsi-${name}`)).path;
}

interface StepJson {
  verdict: string;
  outputs: Record<string, string>;
  report: { heading: string }[];
  findings: { rule: string; message: string }[];
  exitCode: number;
  error?: string;
  subject?: string;
}

interface Build extends RunResult {
  json: StepJson;
}

/** Runs `ferry build-serving-image … --json` in a directory that is no git checkout, with its own digest cache. */
async function build(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; cache?: string } = {}): Promise<Build> {
  const cwd = options.cwd ?? (await tempDir('cwd'));
  const cache = options.cache ?? (await tempDir('cache'));
  const result = await ferry(['build-serving-image', ...args, '--cache-dir', cache, '--json'], { cwd, timeoutMs: 240_000, ...(options.env ? { env: options.env } : {}) });
  let json: StepJson;
  try {
    json = JSON.parse(result.stdout) as StepJson;
  } catch {
    throw new Error(`ferry build-serving-image printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
  return { ...result, json };
}

function expectPass(result: Build): StepJson {
  expect(result.code, result.stderr).toBe(0);
  expect(result.json.verdict).toBe('pass');
  return result.json;
}

/** A root filesystem with a static busybox, pushed as the stand-in base of every runtime (nothing can be pulled here). */
async function pushBusyboxBase(host: string, repository: string): Promise<string> {
  const busybox = requireBinary('busybox', 'busybox-static');
  const rootfs = await tempDir('rootfs');
  await mkdir(join(rootfs, 'bin'));
  await copyFile(busybox, join(rootfs, 'bin/busybox'));
  await chmod(join(rootfs, 'bin/busybox'), 0o755);
  for (const applet of ['sh', 'cat', 'ls']) await symlink('busybox', join(rootfs, 'bin', applet));
  const client = new RegistryClient({ registry: host, plainHttp: true, credentialFiles: false });
  const image = await buildImage({
    base: scratchBase(),
    layers: [{ name: 'rootfs', files: await new FileTree().addDirectoryFromHost('/', rootfs), compression: 'gzip' }],
    config: { cmd: ['/bin/sh'], env: { PATH: '/bin' } },
    workDir: await tempDir('base-build'),
  });
  await pushImage(image, { client, repository, tags: ['1'] });
  client.close();
  return `${host}/${repository}:1`;
}

/** Copies a pushed image into an OCI layout with skopeo and unpacks it with umoci: the files as a runtime sees them. */
async function unpack(reference: string): Promise<string> {
  const layout = await tempDir('pulled');
  await skopeoCopy(reference, `oci:${layout}:x`);
  const bundle = join(await tempDir('bundle'), 'bundle');
  await checkedCommand(requireBinary('umoci', 'umoci'), ['unpack', '--image', `${layout}:x`, bundle]);
  return join(bundle, 'rootfs');
}

/** The image config as the registry serves it (skopeo --config drops fields OCI does not define, such as Healthcheck). */
async function rawConfig(host: string, repository: string, reference: string): Promise<{ config: Record<string, unknown> }> {
  const manifest = JSON.parse(await skopeoRawManifest(`${host}/${repository}:${reference}`)) as { config: { digest: string } };
  const response = await fetch(`http://${host}/v2/${repository}/blobs/${manifest.config.digest}`);
  return (await response.json()) as { config: Record<string, unknown> };
}

interface Models {
  /** A directory with model.onnx: 4 float features → 3 logits, batch dimension dynamic. */
  onnx: string;
  samples: string;
  golden: string;
  torchscript: string;
  sklearn: string;
  savedModel: string;
  huggingFace: string;
}

async function writeFiles(dir: string, files: Record<string, string | Uint8Array>): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

async function makeModels(): Promise<Models> {
  const smoke = await tempDir('smoke');
  execFileSync(requirePython(), [join(REPO_ROOT, 'test/fixtures/make_smoke_model.py'), smoke], { encoding: 'utf8' });
  const onnx = join(await tempDir('onnx'), 'classifier');
  await mkdir(onnx);
  await copyFile(join(smoke, 'model.onnx'), join(onnx, 'model.onnx'));
  return {
    onnx,
    samples: join(smoke, 'samples.json'),
    golden: join(smoke, 'golden.json'),
    torchscript: await writeFiles(join(await tempDir('pt'), 'resnet'), { 'model.pt': randomBytes(2 * MiB), 'index_to_name.json': '{"0":"cat","1":"dog"}\n' }),
    sklearn: await writeFiles(join(await tempDir('sk'), 'churn'), { 'model.joblib': randomBytes(64 * 1024) }),
    savedModel: await writeFiles(join(await tempDir('tf'), 'ranker'), {
      'saved_model.pb': randomBytes(4096),
      'variables/variables.index': randomBytes(512),
      'variables/variables.data-00000-of-00001': randomBytes(MiB),
    }),
    huggingFace: join(REPO_ROOT, 'examples/tiny'),
  };
}

const python = (code: string, ...args: string[]) => execFileSync(requirePython(), ['-c', code, ...args], { encoding: 'utf8' });

describe('build-serving-image: every runtime, pushed and read back', () => {
  let registry: RegistryComponent;
  let base: string;
  let models: Models;

  beforeAll(async () => {
    requireBuilt();
    registry = await startRegistry();
    base = await pushBusyboxBase(registry.host, 'base/busybox');
    models = await makeModels();
  }, 180_000);
  afterAll(() => registry?.stop());

  interface RuntimeCase {
    runtime: string;
    model: () => string;
    name: string;
    args?: string[];
    files: string[];
    ports: string[];
    check: (root: string, config: Record<string, unknown>) => Promise<void>;
  }

  const cases: RuntimeCase[] = [
    {
      runtime: 'triton',
      model: () => models.onnx,
      name: 'classifier',
      args: ['--max-batch-size', '16', '--instance-count', '2'],
      files: ['models/classifier/1/model.onnx', 'models/classifier/config.pbtxt'],
      ports: ['8000/tcp', '8001/tcp', '8002/tcp'],
      check: async (root) => {
        // The signature validate-model reads from the ONNX file: features [batch, 4] FLOAT → logits [batch, 3] FLOAT.
        expect(await readFile(join(root, 'models/classifier/config.pbtxt'), 'utf8')).toBe(
          [
            'name: "classifier"',
            'platform: "onnxruntime_onnx"',
            'max_batch_size: 16',
            'input [\n  {\n    name: "features"\n    data_type: TYPE_FP32\n    dims: [ 4 ]\n  }\n]',
            'output [\n  {\n    name: "logits"\n    data_type: TYPE_FP32\n    dims: [ 3 ]\n  }\n]',
            'instance_group [\n  {\n    count: 2\n    kind: KIND_AUTO\n  }\n]',
            'dynamic_batching { }',
            '',
          ].join('\n'),
        );
      },
    },
    {
      runtime: 'torchserve',
      model: () => models.torchscript,
      name: 'resnet',
      args: ['--model-version', '2.1.0', '--max-batch-size', '8'],
      files: ['home/model-server/model-store/resnet.mar', 'home/model-server/config.properties'],
      ports: ['8080/tcp', '8082/tcp'],
      check: async (root) => {
        const mar = join(root, 'home/model-server/model-store/resnet.mar');
        const read = JSON.parse(
          python(
            'import json, sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nprint(json.dumps({"bad": z.testzip(), "names": sorted(z.namelist()), "manifest": json.loads(z.read("MAR-INF/MANIFEST.json")), "model": __import__("hashlib").sha256(z.read("model.pt")).hexdigest()}))',
            mar,
          ),
        ) as { bad: string | null; names: string[]; manifest: Record<string, unknown>; model: string };
        expect(read.bad).toBeNull();
        expect(read.names).toEqual(['MAR-INF/MANIFEST.json', 'index_to_name.json', 'model.pt']);
        expect(read.manifest).toEqual({
          createdOn: '01/01/1980 00:00:00',
          runtime: 'python',
          model: { modelName: 'resnet', serializedFile: 'model.pt', handler: 'base_handler', modelVersion: '2.1.0' },
          archiverVersion: 'ferry',
        });
        expect(`sha256:${read.model}`).toBe(sha256(await readFile(join(models.torchscript, 'model.pt'))));
        const properties = await readFile(join(root, 'home/model-server/config.properties'), 'utf8');
        expect(properties).toContain('load_models=resnet.mar\n');
        expect(properties).toContain('"batchSize":8');
      },
    },
    {
      runtime: 'mlserver',
      model: () => models.sklearn,
      name: 'churn',
      args: ['--model-version', 'v3'],
      files: ['mnt/models/churn/model.joblib', 'mnt/models/churn/model-settings.json'],
      ports: ['8080/tcp', '8081/tcp', '8082/tcp'],
      check: async (root) => {
        expect(JSON.parse(await readFile(join(root, 'mnt/models/churn/model-settings.json'), 'utf8'))).toEqual({
          name: 'churn',
          implementation: 'mlserver_sklearn.SKLearnModel',
          parameters: { uri: './model.joblib', version: 'v3' },
        });
      },
    },
    {
      runtime: 'tf-serving',
      model: () => models.savedModel,
      name: 'ranker',
      args: ['--model-version', '7'],
      files: ['models/ranker/7/saved_model.pb', 'models/ranker/7/variables/variables.index', 'models/ranker/7/variables/variables.data-00000-of-00001'],
      ports: ['8500/tcp', '8501/tcp'],
      check: async (_root, config) => {
        expect(config.Env).toEqual(expect.arrayContaining(['MODEL_NAME=ranker', 'MODEL_BASE_PATH=/models']));
      },
    },
    {
      runtime: 'vllm',
      model: () => models.huggingFace,
      name: 'tiny',
      args: ['--served-model-name', 'acme/tiny-chat'],
      files: ['models/tiny/config.json', 'models/tiny/model.safetensors'],
      ports: ['8000/tcp'],
      check: async (_root, config) => {
        expect(config.Cmd).toEqual(['--model', '/models/tiny', '--served-model-name', 'acme/tiny-chat', '--host', '0.0.0.0', '--port', '8000']);
      },
    },
    {
      runtime: 'ferry',
      model: () => models.onnx,
      name: 'classifier',
      files: ['models/classifier/model.onnx'],
      ports: ['8080/tcp'],
      check: async (_root, config) => {
        expect(config.Entrypoint).toEqual(['/usr/local/bin/node', '/opt/ferry/node_modules/@ferry/cli/dist/bin.js']);
        expect(config.Cmd).toEqual(expect.arrayContaining(['serve', '--model-path', '/models/classifier/model.onnx']));
      },
    },
  ];

  it.each(cases)('$runtime: files at the runtime\'s paths, its config, annotations and labels', async ({ runtime, model, name, args = [], files, ports, check }) => {
    const repository = `models/${runtime}`;
    const result = await build(['--model-path', model(), '--runtime', runtime, '--base-image', base, '--image', `${registry.host}/${repository}`, '--insecure-registry', '--tags', 'test', ...args]);
    const outputs = expectPass(result).outputs;
    expect(outputs.image).toBe(`${registry.host}/${repository}@${outputs.digest}`);

    const inspected = await skopeoInspect(`${registry.host}/${repository}:test`);
    expect(inspected.Digest).toBe(outputs.digest);
    const manifest = JSON.parse(await skopeoRawManifest(`${registry.host}/${repository}:test`)) as { annotations: Record<string, string>; layers: { digest: string; size: number }[] };
    expect(manifest.annotations).toMatchObject({
      'ferry.model.name': name,
      'ferry.model.digest': outputs['model-digest'],
      'ferry.runtime': runtime,
      'org.opencontainers.image.title': name,
      'org.opencontainers.image.created': '1970-01-01T00:00:00Z',
      'org.opencontainers.image.base.name': base,
    });
    expect(inspected.Labels).toMatchObject({ 'ferry.model.digest': outputs['model-digest'], 'ferry.runtime': runtime });
    // The busybox base layer first, then the model, then (for most runtimes) the runtime's configuration.
    const layers = JSON.parse(outputs['layer-sizes']!) as { name: string; digest: string; size: number }[];
    expect(layers.map((l) => l.digest)).toEqual(manifest.layers.map((l) => l.digest));
    expect(layers[0]!.name).toBe('base layer 1');

    const { config } = await rawConfig(registry.host, repository, 'test');
    expect(Object.keys(config.ExposedPorts as object).sort()).toEqual(ports);
    expect((config.Healthcheck as { Test: string[] }).Test[0]).toBe('CMD');

    const root = await unpack(`${registry.host}/${repository}:test`);
    for (const file of files) expect(existsSync(join(root, file)), `${file} in the ${runtime} image`).toBe(true);
    expect(existsSync(join(root, 'bin/busybox'))).toBe(true);
    await check(root, config);
  });

  it('the model digest annotation is the one validate-model reports for the same files', async () => {
    const validated = await ferry(['validate-model', '--model-path', models.onnx, '--json']);
    const digest = (JSON.parse(validated.stdout) as StepJson).outputs['model-digest'];
    const built = expectPass(await build(['--model-path', models.onnx, '--runtime', 'triton', '--base-image', 'scratch']));
    expect(built.outputs['model-digest']).toBe(digest);
  });

  it('the same model and config give the same digest from other directories, on another day, with a cold cache', async () => {
    const copy = join(await tempDir('copy'), 'classifier');
    await cp(models.onnx, copy, { recursive: true });
    const args = (model: string) => ['--model-path', model, '--runtime', 'triton', '--base-image', base, '--insecure-registry', '--source-date-epoch', '1700000000'];
    const first = expectPass(await build(args(models.onnx)));
    const second = expectPass(await build(args(copy), { env: { TZ: 'Pacific/Kiritimati', LANG: 'tr_TR.UTF-8' } }));
    expect(second.outputs.digest).toBe(first.outputs.digest);
    expect(second.outputs['layer-sizes']).toBe(first.outputs['layer-sizes']);
    // Another model version is another image, but not another model layer.
    const third = expectPass(await build([...args(models.onnx), '--model-version', '1.0.1']));
    expect(third.outputs.digest).not.toBe(first.outputs.digest);
    const layerOf = (json: StepJson) => (JSON.parse(json.outputs['layer-sizes']!) as { name: string; digest: string }[]).find((l) => l.name === 'model')!.digest;
    expect(layerOf(third)).toBe(layerOf(first));
  });

  it('changing only the runtime config re-uploads no weight bytes, and a rebuild with nothing changed uploads nothing', async () => {
    const weights = await writeFiles(join(await tempDir('big'), 'big'), { 'model.pt': randomBytes(24 * MiB) });
    const image = `${registry.host}/models/config-only`;
    const common = ['--model-path', weights, '--runtime', 'torchserve', '--base-image', base, '--image', image, '--insecure-registry', '--tags', 'v1'];
    const cache = await tempDir('shared-cache');
    const first = expectPass(await build([...common, '--max-batch-size', '4'], { cache })).outputs;
    const layersOf = (o: Record<string, string>) => JSON.parse(o['layer-sizes']!) as { name: string; digest: string; size: number; reused: boolean }[];
    const archive = layersOf(first).find((l) => l.name === 'model archive')!;
    expect(archive.size).toBeGreaterThan(24 * MiB);
    expect(Number(first['bytes-uploaded'])).toBeGreaterThan(24 * MiB);

    const second = expectPass(await build([...common, '--max-batch-size', '32'], { cache })).outputs;
    const secondLayers = layersOf(second);
    expect(secondLayers.find((l) => l.name === 'model archive')).toMatchObject({ digest: archive.digest, reused: true });
    const config = secondLayers.find((l) => l.name === 'runtime config')!;
    expect(config.reused).toBe(false);
    const manifest = JSON.parse(await skopeoRawManifest(`${image}:v1`)) as { config: { size: number } };
    // Exactly the new config.properties layer and the new image config went up.
    expect(Number(second['bytes-uploaded'])).toBe(config.size + manifest.config.size);

    const third = expectPass(await build([...common, '--max-batch-size', '32'], { cache }));
    expect(third.outputs['bytes-uploaded']).toBe('0');
    expect(third.outputs.digest).toBe(second.digest);
    // Nothing was read again: the files' and layers' digests came from the cache.
    expect(JSON.stringify(third.report)).toContain('2 layer digest(s) came from the digest cache');
    expect(JSON.stringify(third.report)).toContain('0 file(s) read, 1 from the digest cache');
  });

  it('writes an OCI layout and an OCI archive with the digest a push gets, without a registry', async () => {
    const pushed = expectPass(await build(['--model-path', models.onnx, '--runtime', 'triton', '--base-image', base, '--insecure-registry', '--image', `${registry.host}/models/layout`])).outputs;
    const layout = join(await tempDir('layout'), 'image');
    const archive = join(await tempDir('archive'), 'image.tar');
    const toLayout = expectPass(await build(['--model-path', models.onnx, '--runtime', 'triton', '--base-image', base, '--insecure-registry', '--output', layout, '--tags', 'v1'])).outputs;
    const toArchive = expectPass(await build(['--model-path', models.onnx, '--runtime', 'triton', '--base-image', base, '--insecure-registry', '--output', archive, '--tags', 'v1'])).outputs;
    expect([toLayout.digest, toArchive.digest]).toEqual([pushed.digest, pushed.digest]);
    expect(toLayout.image).toBe('');
    expect((await skopeoInspect(`oci:${layout}:v1`)).Digest).toBe(pushed.digest);
    expect((await skopeoInspect(`oci-archive:${archive}:v1`)).Digest).toBe(pushed.digest);
  });
});

describe('build-serving-image: tags and metadata from the CI event', () => {
  let registry: RegistryComponent;
  let model: string;
  let eventDir: string;
  const head = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
  const merge = 'ffffffffffffffffffffffffffffffffffffffff';

  beforeAll(async () => {
    requireBuilt();
    registry = await startRegistry();
    model = (await makeModels()).onnx;
    eventDir = await tempDir('event');
  }, 120_000);
  afterAll(() => registry?.stop());

  async function githubEnv(event: Record<string, unknown>, extra: Record<string, string>): Promise<NodeJS.ProcessEnv> {
    const file = join(eventDir, `${randomBytes(4).toString('hex')}.json`);
    await writeFile(file, JSON.stringify(event));
    return { GITHUB_ACTIONS: 'true', GITHUB_EVENT_PATH: file, GITHUB_REPOSITORY: 'acme/models', GITHUB_SERVER_URL: 'https://github.com', GITHUB_RUN_ID: '42', ...extra };
  }

  const tagsOf = async (repository: string) =>
    (JSON.parse(await checkedCommand(requireBinary('skopeo', 'skopeo'), ['list-tags', '--tls-verify=false', `docker://${registry.host}/${repository}`])) as { Tags: string[] }).Tags.sort();

  it.each([
    {
      event: 'a pull request',
      repository: 'tags/pr',
      env: () =>
        githubEnv(
          { pull_request: { number: 17, head: { sha: head, ref: 'feature/better-model' } }, repository: { default_branch: 'main' } },
          { GITHUB_EVENT_NAME: 'pull_request', GITHUB_SHA: merge, GITHUB_REF_NAME: '17/merge', GITHUB_REF_TYPE: 'branch' },
        ),
      // The PR head, never the merge commit; no release tags from a pull request.
      tags: ['pr-17', 'sha-a1b2c3d'],
      revision: head,
    },
    {
      event: 'a push to the default branch',
      repository: 'tags/main',
      env: () =>
        githubEnv(
          { repository: { default_branch: 'main' }, head_commit: { timestamp: '2024-05-06T07:08:09Z' } },
          { GITHUB_EVENT_NAME: 'push', GITHUB_SHA: head, GITHUB_REF_NAME: 'main', GITHUB_REF_TYPE: 'branch' },
        ),
      tags: ['1', '1.4', '1.4.2', 'latest', 'sha-a1b2c3d'],
      revision: head,
      created: '2024-05-06T07:08:09Z',
    },
    {
      event: 'a GitLab merge request in a merged-results pipeline',
      repository: 'tags/gitlab-mr',
      env: async () => ({
        GITLAB_CI: 'true',
        CI_PROJECT_URL: 'https://gitlab.example.com/acme/models',
        CI_COMMIT_SHA: merge,
        CI_MERGE_REQUEST_SOURCE_BRANCH_SHA: head,
        CI_MERGE_REQUEST_IID: '9',
        CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'feature/x',
        CI_DEFAULT_BRANCH: 'main',
      }),
      tags: ['pr-9', 'sha-a1b2c3d'],
      revision: head,
    },
  ])('on $event: tags $tags, revision of the branch head', async ({ repository, env, tags, revision, created }) => {
    const result = await build(['--model-path', model, '--runtime', 'triton', '--base-image', 'scratch', '--image', `${registry.host}/${repository}`, '--insecure-registry', '--model-version', 'v1.4.2'], {
      env: await env(),
    });
    const outputs = expectPass(result).outputs;
    expect(outputs.tags.split(',').sort()).toEqual(tags);
    expect(await tagsOf(repository)).toEqual(tags);
    const manifest = JSON.parse(await skopeoRawManifest(`${registry.host}/${repository}:${tags.at(-1)}`)) as { annotations: Record<string, string> };
    expect(manifest.annotations['org.opencontainers.image.revision']).toBe(revision);
    expect(manifest.annotations['org.opencontainers.image.version']).toBe('v1.4.2');
    expect(manifest.annotations['org.opencontainers.image.source']).toMatch(/^https:\/\/git(hub|lab)\.(com|example\.com)\/acme\/models$/);
    if (created) expect(manifest.annotations['org.opencontainers.image.created']).toBe(created);
  });

  it('attaches SLSA provenance and the model manifest as referrers through the fallback tag', async () => {
    const env = await githubEnv({ repository: { default_branch: 'main' } }, { GITHUB_SHA: head, GITHUB_REF_NAME: 'main', GITHUB_REF_TYPE: 'branch' });
    const outputs = expectPass(await build(['--model-path', model, '--runtime', 'triton', '--base-image', 'scratch', '--image', `${registry.host}/prov/classifier`, '--insecure-registry', '--provenance'], { env })).outputs;
    const hex = outputs.digest.slice('sha256:'.length);
    const index = JSON.parse(await skopeoRawManifest(`${registry.host}/prov/classifier:sha256-${hex}`)) as { mediaType: string; manifests: { digest: string; artifactType: string }[] };
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests.map((m) => m.artifactType).sort()).toEqual(['application/vnd.ferry.model.manifest.v1+json', 'application/vnd.in-toto+json']);
    const documents: Record<string, unknown> = {};
    for (const entry of index.manifests) {
      const artifact = JSON.parse(await skopeoRawManifest(`${registry.host}/prov/classifier@${entry.digest}`)) as { subject: { digest: string }; layers: { digest: string }[] };
      expect(artifact.subject.digest).toBe(outputs.digest);
      documents[entry.artifactType] = await (await fetch(`http://${registry.host}/v2/prov/classifier/blobs/${artifact.layers[0]!.digest}`)).json();
    }
    const statement = documents['application/vnd.in-toto+json'] as { _type: string; predicateType: string; subject: { name: string; digest: { sha256: string } }[]; predicate: { buildDefinition: { resolvedDependencies: { digest: Record<string, string> }[]; externalParameters: Record<string, unknown> } } };
    expect(statement._type).toBe('https://in-toto.io/Statement/v1');
    expect(statement.predicateType).toBe('https://slsa.dev/provenance/v1');
    expect(statement.subject).toEqual([{ name: `${registry.host}/prov/classifier`, digest: { sha256: hex } }]);
    expect(statement.predicate.buildDefinition.resolvedDependencies).toContainEqual({ uri: 'git+https://github.com/acme/models@refs/heads/main', digest: { gitCommit: head } });
    expect(statement.predicate.buildDefinition.externalParameters).toMatchObject({ runtime: 'triton', provenance: true });
    const manifest = documents['application/vnd.ferry.model.manifest.v1+json'] as { digest: string; files: { path: string; digest: string }[] };
    expect(manifest.digest).toBe(outputs['model-digest']);
    expect(manifest.files).toEqual([{ path: 'model.onnx', size: expect.any(Number), digest: sha256(await readFile(join(model, 'model.onnx'))) }]);
  });
});

describe('build-serving-image: logins and bad inputs', () => {
  const user = { username: 'ci-bot', password: 'Sup3r-Secret-Registry-Pass' };
  let registry: RegistryComponent;
  let model: string;
  beforeAll(async () => {
    requireBuilt();
    registry = await startRegistry({ auth: { htpasswd: await makeHtpasswd([user]) } });
    model = (await makeModels()).onnx;
  }, 120_000);
  afterAll(() => registry?.stop());

  const secretsIn = (text: string) => [user.password, Buffer.from(`${user.username}:${user.password}`).toString('base64')].filter((s) => text.includes(s));

  it('pushes with credentials given as inputs, and never prints them', async () => {
    const result = await build(
      ['--model-path', model, '--runtime', 'triton', '--base-image', 'scratch', '--image', `${registry.host}/private/classifier:v1`, '--insecure-registry', '--registry-username', user.username, '--registry-password', user.password, '--verbose'],
    );
    const outputs = expectPass(result).outputs;
    expect((await skopeoInspect(`${registry.host}/private/classifier:v1`, { creds: `${user.username}:${user.password}` })).Digest).toBe(outputs.digest);
    expect(secretsIn(result.stdout + result.stderr)).toEqual([]);
  });

  it('pushes with credentials from a docker config file', async () => {
    const dir = await tempDir('docker-config');
    await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${user.username}:${user.password}`).toString('base64') } } }));
    const result = await build(['--model-path', model, '--runtime', 'triton', '--base-image', 'scratch', '--image', `${registry.host}/private/from-config:v1`, '--insecure-registry', '--docker-config', dir]);
    const outputs = expectPass(result).outputs;
    expect((await skopeoInspect(`${registry.host}/private/from-config:v1`, { creds: `${user.username}:${user.password}` })).Digest).toBe(outputs.digest);
    expect(secretsIn(result.stdout + result.stderr)).toEqual([]);
  });

  it.each([
    { why: 'a wrong password', set: { '--registry-username': user.username, '--registry-password': 'Wrong-Pass-123' }, subject: 'registry-password', message: /refused the credentials/ },
    { why: 'an unknown runtime', set: { '--runtime': 'docker' }, subject: 'runtime', message: /--runtime must be one of ferry, triton/ },
    { why: 'an image reference with a digest', set: { '--image': `127.0.0.1:1/x@sha256:${'a'.repeat(64)}` }, subject: 'image', message: /names a digest/ },
    { why: 'a user name without a password', set: { '--registry-username': 'bot' }, subject: 'registry-password', message: /registry-username is set but registry-password is not/ },
    { why: 'a model name that climbs out of its directory', set: { '--model-name': '../etc' }, subject: 'model-name', message: /not a valid model name/ },
    { why: 'a missing model', set: { '--model-path': '/nonexistent/model.onnx' }, subject: 'model-path', message: /does not exist/ },
    { why: 'batching a model with a fixed batch dimension', set: { '--max-batch-size': '8', '--model-path': 'FIXED' }, subject: 'max-batch-size', message: /needs a variable first \(batch\) dimension/ },
    { why: 'a format the runtime cannot serve', set: { '--runtime': 'tf-serving' }, subject: 'model-path', message: /SavedModel directory/ },
    { why: 'tag-rules none with another rule', set: { '--tag-rules': 'none,sha' }, subject: 'tag-rules', message: /cannot be combined/ },
    { why: 'a bad tag', set: { '--tags': '-bad' }, subject: 'tags', message: /not a valid tag/ },
    { why: 'a missing Dockerfile', set: { '--dockerfile': 'nope/Dockerfile' }, subject: 'dockerfile', message: /does not exist/ },
    { why: 'a negative source date epoch', set: { '--source-date-epoch': '-5' }, subject: 'source-date-epoch', message: /at least 0/ },
  ] as { why: string; set: Record<string, string>; subject: string; message: RegExp }[])('$why: exit 2, the message names $subject, nothing pushed', async ({ set, subject, message }) => {
    const flags: Record<string, string> = { '--model-path': model, '--runtime': 'triton', '--base-image': 'scratch', '--image': `${registry.host}/bad/inputs:v1`, ...set };
    if (flags['--model-path'] === 'FIXED') {
      // A model whose first dimension is fixed ([1, 4]): batching cannot be asked of it.
      const fixed = await tempDir('fixed');
      execFileSync(requirePython(), ['-c', FIXED_BATCH_MODEL, join(fixed, 'model.onnx')]);
      flags['--model-path'] = join(fixed, 'model.onnx');
    }
    const result = await build([...Object.entries(flags).flat(), '--insecure-registry']);
    expect(result.code, result.stderr).toBe(2);
    expect(result.json.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.json.subject).toBe(subject);
    expect(secretsIn(result.stdout + result.stderr)).toEqual([]);
    const tags = await runCommand(requireBinary('skopeo', 'skopeo'), ['inspect', '--tls-verify=false', '--creds', `${user.username}:${user.password}`, `docker://${registry.host}/bad/inputs:v1`]);
    expect(tags.exitCode).not.toBe(0);
  });
});

/** A one-node ONNX model whose input has a fixed first dimension [1, 4]. */
const FIXED_BATCH_MODEL = `
import sys, onnx
from onnx import helper, TensorProto
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "fixed", [x], [y])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.save(model, sys.argv[1])
`;

describe('build-serving-image: registry faults', () => {
  let registry: RegistryComponent;
  let proxy: FaultProxy;
  let model: string;
  beforeAll(async () => {
    requireBuilt();
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.host);
    model = await writeFiles(join(await tempDir('fault-model'), 'weights'), { 'model.pt': randomBytes(6 * MiB) });
  }, 120_000);
  afterAll(async () => {
    await proxy?.close();
    await registry?.stop();
  });

  const quick = ['--registry-timeout', '2s', '--registry-retries', '4'];

  it.each([
    { fault: 'a PATCH answered 500', repository: 'faults/patch500', rules: [{ method: 'PATCH', fault: { kind: 'status', status: 500 } }] },
    { fault: 'a PATCH that stalls after 256 KiB', repository: 'faults/stall', rules: [{ method: 'PATCH', fault: { kind: 'stall', afterBytes: 256 * 1024 } }] },
    { fault: 'a 503 on the manifest PUT', repository: 'faults/manifest503', rules: [{ method: 'PUT', path: /\/manifests\//, fault: { kind: 'status', status: 503 } }] },
  ] as const)('$fault: the step retries and completes, exit 0, with the tag', async ({ repository, rules }) => {
    proxy.reset();
    proxy.inject(...rules.map((rule) => ({ ...rule, fault: { ...rule.fault } })));
    const result = await build(['--model-path', model, '--runtime', 'torchserve', '--base-image', 'scratch', '--image', `${proxy.host}/${repository}:v1`, '--insecure-registry', ...quick]);
    const outputs = expectPass(result).outputs;
    expect(proxy.requests.filter((r) => r.fault !== undefined)).toHaveLength(1);
    expect((await skopeoInspect(`${registry.host}/${repository}:v1`)).Digest).toBe(outputs.digest);
  });

  it('a registry that does not answer at all: exit 3 after the retries, naming the registry', async () => {
    const port = await freePort();
    const result = await build(['--model-path', model, '--runtime', 'torchserve', '--base-image', 'scratch', '--image', `127.0.0.1:${port}/nowhere/model:v1`, '--insecure-registry', '--registry-timeout', '1s', '--registry-retries', '2']);
    expect(result.code, result.stderr).toBe(3);
    expect(result.json.exitCode).toBe(3);
    expect(result.stderr).toContain(`registry 127.0.0.1:${port}`);
    expect(result.stderr).toMatch(/failed after 2 tries/);
  });

  it('a registry killed mid-push: exit 3, no tag; the re-run sends only what the registry did not finish', async () => {
    const doomed = await startRegistry();
    const doomedProxy = await startFaultProxy(doomed.host);
    try {
      // The same inputs give the same layers: learn the runtime config layer's digest without a registry.
      const args = ['--model-path', model, '--runtime', 'torchserve', '--base-image', 'scratch', '--insecure-registry'];
      const dry = expectPass(await build(args)).outputs;
      const layers = JSON.parse(dry['layer-sizes']!) as { name: string; digest: string; size: number }[];
      const archive = layers.find((l) => l.name === 'model archive')!;
      const config = layers.find((l) => l.name === 'runtime config')!;
      // The runtime config upload is held back (503 on its closing PUT) until the registry dies.
      doomedProxy.inject({ method: 'PUT', path: new RegExp(`digest=sha256(:|%3A)${config.digest.slice(7)}`), times: 1000, fault: { kind: 'status', status: 503 } });
      const running = build([...args, '--image', `${doomedProxy.host}/ferry/killed:v1`, ...quick]);
      const archiveDone = () => doomedProxy.requests.some((r) => r.method === 'PUT' && r.url.includes(archive.digest.slice(7)) && r.status === 201);
      const configHeld = () => doomedProxy.requests.some((r) => r.fault === 'status');
      for (let waited = 0; !(archiveDone() && configHeld()); waited += 50) {
        if (waited > 60_000) throw new Error(`the push never reached the point to kill the registry: ${JSON.stringify(doomedProxy.requests.slice(-5))}`);
        await sleep(50);
      }
      await doomed.kill();
      const failed = await running;
      expect(failed.code, failed.stderr).toBe(3);
      expect(failed.json.exitCode).toBe(3);
      expect(failed.stderr).toMatch(/failed after \d+ tries/);

      await doomed.restart();
      const tag = await runCommand(requireBinary('skopeo', 'skopeo'), ['inspect', '--tls-verify=false', `docker://${doomed.host}/ferry/killed:v1`]);
      expect(tag.exitCode).not.toBe(0);
      expect(tag.stderr).toMatch(/manifest unknown|not found/i);

      const rerunProxy = await startFaultProxy(doomed.host);
      try {
        const rerun = expectPass(await build([...args, '--image', `${rerunProxy.host}/ferry/killed:v1`, ...quick])).outputs;
        const rerunLayers = JSON.parse(rerun['layer-sizes']!) as { name: string; reused: boolean }[];
        expect(rerunLayers.map((l) => [l.name, l.reused])).toEqual([
          ['model archive', true],
          ['runtime config', false],
        ]);
        // The archive's bytes were not sent again: only the config layer and the image config went up.
        const patched = rerunProxy.requests.filter((r) => r.method === 'PATCH').reduce((sum, r) => sum + r.bodyBytes, 0);
        expect(patched).toBe(Number(rerun['bytes-uploaded']));
        expect(Number(rerun['bytes-uploaded'])).toBeLessThan(64 * 1024);
        expect((await skopeoInspect(`${doomed.host}/ferry/killed:v1`)).Digest).toBe(rerun.digest);
      } finally {
        await rerunProxy.close();
      }
    } finally {
      await doomedProxy.close();
      await doomed.stop();
    }
  });
});

describe('build-serving-image: a Dockerfile, built by the builder on PATH', () => {
  let registry: RegistryComponent;
  beforeAll(async () => {
    requireBuilt();
    await requirePodman();
    registry = await startRegistry();
  }, 120_000);
  afterAll(() => registry?.stop());

  it('builds it (podman here), adds Ferry\'s labels and annotations, and pushes it', async () => {
    const base = await makeBaseImage('dockerfile-base');
    const dir = await tempDir('dockerfile');
    const model = await writeFiles(join(dir, 'model'), { 'model.onnx': await readFile(join((await makeModels()).onnx, 'model.onnx')) });
    await writeFile(join(dir, 'Dockerfile'), `FROM ${base.ref}\nCOPY model/model.onnx /srv/model.onnx\nCMD ["/bin/sh", "-c", "ls -l /srv"]\n`);
    const result = await build(['--model-path', model, '--dockerfile', join(dir, 'Dockerfile'), '--image', `${registry.host}/custom/model:v1`, '--insecure-registry']);
    const outputs = expectPass(result).outputs;
    expect(JSON.stringify(result.json.report)).toContain('built from the Dockerfile by podman');
    const inspected = await skopeoInspect(`${registry.host}/custom/model:v1`);
    expect(inspected.Digest).toBe(outputs.digest);
    expect(inspected.Labels).toMatchObject({ 'ferry.model.digest': outputs['model-digest'], 'ferry.runtime': 'ferry' });
    const root = await unpack(`${registry.host}/custom/model:v1`);
    expect(sha256(await readFile(join(root, 'srv/model.onnx')))).toBe(sha256(await readFile(join(model, 'model.onnx'))));
  });
});

describe('build-serving-image: the Ferry runtime image answers inference under podman', () => {
  let registry: RegistryComponent;
  let models: Models;
  let baseRef: string;
  beforeAll(async () => {
    requireBuilt();
    await requirePodman();
    registry = await startRegistry();
    models = await makeModels();
    baseRef = `${registry.host}/ferry/serve-base:test`;
    const built = await run('bash', [join(REPO_ROOT, 'scripts/build-ferry-base.sh'), '--push', baseRef, '--insecure-registry'], { timeoutMs: 300_000 });
    if (built.code !== 0) throw new Error(`scripts/build-ferry-base.sh failed:\n${built.stderr}`);
  }, 360_000);
  afterAll(() => registry?.stop());

  it('ferry serve in the image answers a v2 infer request on a loopback port with the model\'s outputs', async () => {
    const help = await ferry(['serve', '--help']);
    expect(help.code, `ferry serve is not in this build: ${help.stderr}`).toBe(0);
    const outputs = expectPass(
      await build(['--model-path', models.onnx, '--runtime', 'ferry', '--base-image', baseRef, '--image', `${registry.host}/serve/classifier:v1`, '--insecure-registry', '--model-version', '1.0.0']),
    ).outputs;
    const image = await podmanPull(`${registry.host}/serve/classifier@${outputs.digest}`);
    const podman = await requirePodman();
    const port = await freePort();
    const name = `ferry-serve-${randomBytes(4).toString('hex')}`;
    await checkedCommand(podman, ['run', '--detach', '--rm', '--name', name, '--publish', `127.0.0.1:${port}:8080`, image.ref]);
    try {
      let ready = false;
      for (let i = 0; i < 150 && !ready; i++) {
        ready = await fetch(`http://127.0.0.1:${port}/v2/health/ready`).then((r) => r.ok, () => false);
        if (!ready) await sleep(200);
      }
      if (!ready) throw new Error(`the container never became ready:\n${(await runCommand(podman, ['logs', name])).stderr}`);
      const samples = JSON.parse(await readFile(models.samples, 'utf8')) as Record<string, number[][]>[];
      const golden = JSON.parse(await readFile(models.golden, 'utf8')) as Record<string, number[][]>[];
      const features = samples[0]!.features!;
      const response = await fetch(`http://127.0.0.1:${port}/v2/models/classifier/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'features', shape: [features.length, 4], datatype: 'FP32', data: features.flat() }] }),
      });
      expect(response.status).toBe(200);
      const answer = (await response.json()) as { model_name: string; outputs: { name: string; shape: number[]; data: number[] }[] };
      expect(answer.model_name).toBe('classifier');
      const logits = answer.outputs.find((o) => o.name === 'logits')!;
      expect(logits.shape).toEqual([features.length, 3]);
      const expected = golden[0]!.logits!.flat();
      logits.data.forEach((value, i) => expect(value).toBeCloseTo(expected[i]!, 4));
    } finally {
      await runCommand(podman, ['rm', '--force', '--time=0', name]);
    }
  });
});

describe('build-serving-image: the action bundle and the GitLab template', () => {
  let registry: RegistryComponent;
  let model: string;
  beforeAll(async () => {
    requireBuilt();
    registry = await startRegistry();
    model = (await makeModels()).onnx;
  }, 120_000);
  afterAll(() => registry?.stop());

  it('the committed action bundle pushes on Node 24 and sets the outputs, tagging a pull request by its head', async () => {
    const out = await tempDir('action');
    await writeFile(join(out, 'output'), '');
    await writeFile(join(out, 'summary'), '');
    const event = join(out, 'event.json');
    await writeFile(event, JSON.stringify({ pull_request: { number: 5, head: { sha: 'c0ffee0000000000000000000000000000000000', ref: 'better' } }, repository: { default_branch: 'main' } }));
    const result = await run(NODE24, [join(REPO_ROOT, 'actions/build-serving-image/dist/index.js')], {
      cwd: out,
      env: {
        ...cleanEnv(), XDG_CACHE_HOME: join(out, 'xdg'),
        'INPUT_MODEL-PATH': model,
        INPUT_RUNTIME: 'triton',
        'INPUT_BASE-IMAGE': 'scratch',
        INPUT_IMAGE: `${registry.host}/action/classifier`,
        'INPUT_INSECURE-REGISTRY': 'true',
        'INPUT_CACHE-DIR': join(out, 'cache'),
        GITHUB_ACTIONS: 'true',
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_EVENT_PATH: event,
        GITHUB_SHA: 'ffffffffffffffffffffffffffffffffffffffff',
        GITHUB_REPOSITORY: 'acme/models',
        GITHUB_OUTPUT: join(out, 'output'),
        GITHUB_STEP_SUMMARY: join(out, 'summary'),
        RUNNER_TEMP: out,
      },
      timeoutMs: 120_000,
    });
    expect(result.stdout).not.toContain('::error::');
    expect(result.code, result.stdout).toBe(0);
    const outputs = await readFile(join(out, 'output'), 'utf8');
    const value = (name: string) => new RegExp(`${name}<<(\\S+)\\n(.*)\\n\\1`).exec(outputs)?.[2];
    const digest = value('digest')!;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(value('image')).toBe(`${registry.host}/action/classifier@${digest}`);
    expect(value('tags')).toBe('sha-c0ffee0,pr-5');
    expect(Number(value('bytes-uploaded'))).toBeGreaterThan(0);
    expect((await skopeoInspect(`${registry.host}/action/classifier:pr-5`)).Digest).toBe(digest);
    expect(await readFile(join(out, 'summary'), 'utf8')).toContain('build-serving-image: ✅ pass');
  });

  it('the GitLab template pushes in a job and hands the digest to the next job through dotenv', async () => {
    requireGitlabCiLocal('jobs');
    const template = await readFile(join(REPO_ROOT, 'gitlab-templates/build-serving-image.yml'), 'utf8');
    const pipeline = stringify({
      stages: ['build', 'verify'],
      include: [
        {
          local: 'ci/build-serving-image.yml',
          inputs: { model_path: 'models/classifier', runtime: 'triton', base_image: 'scratch', image: `${registry.host}/gitlab/classifier`, insecure_registry: 'true', cache_dir: '.ferry-cache', job_prefix: 'pack', runner_tags: ['ferry-test-runner'] },
        },
      ],
      'use-image': { stage: 'verify', needs: ['pack-build-serving-image'], script: ['echo "image=$FERRY_BUILD_SERVING_IMAGE_IMAGE"', 'echo "uploaded=$FERRY_BUILD_SERVING_IMAGE_BYTES_UPLOADED"'] },
    });
    const ws = makeWorkspace({ '.gitlab-ci.yml': pipeline, 'ci/build-serving-image.yml': template, 'models/classifier/model.onnx': await readFile(join(model, 'model.onnx')) });
    try {
      const ran = await gitlabCiLocal(ws, shellRunnerArgs(ws), { timeoutMs: 180_000 });
      expect(ran.code, ran.output).toBe(0);
      expect([...ran.jobs]).toEqual([
        ['pack-build-serving-image', 0],
        ['use-image', 0],
      ]);
      const image = /^image=(\S+)$/m.exec(ran.log('use-image') ?? '')?.[1];
      expect(image).toMatch(new RegExp(`^${registry.host.replace(/\./g, '\\.')}/gitlab/classifier@sha256:[0-9a-f]{64}$`));
      const digest = image!.split('@')[1]!;
      // The job runs on main, the default branch: latest, and the short sha of its commit.
      const tags = (JSON.parse(await checkedCommand(requireBinary('skopeo', 'skopeo'), ['list-tags', '--tls-verify=false', `docker://${registry.host}/gitlab/classifier`])) as { Tags: string[] }).Tags.sort();
      const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ws.repo, encoding: 'utf8' }).trim();
      expect(tags).toEqual(['latest', `sha-${head.slice(0, 7)}`]);
      expect((await skopeoInspect(`${registry.host}/gitlab/classifier:latest`)).Digest).toBe(digest);
    } finally {
      ws.remove();
    }
  });
});
