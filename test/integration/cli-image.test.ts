// The versioned CLI image the GitLab templates run (ferry/cli:<version>), as its users meet it:
// built by scripts/build-cli-image.sh with Ferry's own image builder, published by
// scripts/publish-cli-image.sh to a registry with logins, pulled and run by podman the way a
// GitLab docker runner runs a job: no entrypoint, the job's script handed to /bin/sh.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podmanPull, podmanRun, requirePodman, skopeoCopy, skopeoInspect, skopeoRawManifest, startRegistry, stopAll, type LocalImage, type RegistryComponent } from '../support/components/index.js';
import { makeSmokeModel } from '../support/ferry-serve.js';
import { requirePython } from '../support/python.js';
import { makeHtpasswd } from '../support/registry-auth.js';
import { cleanEnv, REPO_ROOT, requireBuilt, run, type RunResult } from '../support/repo.js';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const [MAJOR, MINOR] = VERSION.split('.');
const USER = 'release-bot';
const PASSWORD = 'publish-Secret_0123456789';

let dir: string;
let layout: string;
let layoutDigest: string;
let buildMs: number;
let registry: RegistryComponent;

function script(name: string, args: readonly string[], env: Record<string, string> = {}): Promise<RunResult> {
  return run('bash', [join(REPO_ROOT, 'scripts', name), ...args], { env: { ...cleanEnv(), ...env }, timeoutMs: 300_000 });
}

beforeAll(async () => {
  requireBuilt();
  requirePython();
  await requirePodman();
  dir = await mkdtemp(join(tmpdir(), 'ferry-cli-image-'));
  registry = await startRegistry({ auth: { htpasswd: await makeHtpasswd([{ username: USER, password: PASSWORD }]) } });
  layout = join(dir, 'layout');
  const started = Date.now();
  const built = await script('build-cli-image.sh', ['--output', layout]);
  buildMs = Date.now() - started;
  if (built.code !== 0) throw new Error(`scripts/build-cli-image.sh failed:\n${built.stderr}`);
  layoutDigest = built.stdout.trim();
  console.log(`build-cli-image: ${(buildMs / 1000).toFixed(1)} s\n${built.stderr}`);
}, 360_000);

afterAll(async () => {
  await registry?.stop();
  await stopAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('scripts/build-cli-image.sh', () => {
  it('writes an OCI layout tagged with the version, with no entrypoint and the version label', async () => {
    expect(layoutDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const inspected = await skopeoInspect(`oci:${layout}:${VERSION}`);
    expect(inspected.Os).toBe('linux');
    expect(inspected.Labels).toMatchObject({ 'org.opencontainers.image.version': VERSION, 'org.opencontainers.image.title': 'ferry-cli' });
    const manifest = JSON.parse(await skopeoRawManifest(`oci:${layout}:${VERSION}`)) as { layers: { mediaType: string }[] };
    // Compressed: every runner pulls it.
    expect(manifest.layers.every((l) => l.mediaType.endsWith('tar+gzip'))).toBe(true);
  });
});

describe('scripts/publish-cli-image.sh', () => {
  const repository = (): string => `${registry.host}/ferry/cli`;
  const publishEnv = (extra: Record<string, string>): Record<string, string> => ({
    FERRY_CLI_IMAGE_REPOSITORY: repository(),
    FERRY_CLI_REGISTRY_USERNAME: USER,
    FERRY_CLI_REGISTRY_PASSWORD: PASSWORD,
    FERRY_CLI_IMAGE_INSECURE: 'true',
    ...extra,
  });

  it('refuses a release tag that does not match the version, before building or pushing anything', async () => {
    const r = await script('publish-cli-image.sh', [], publishEnv({ CI_COMMIT_TAG: 'v9.9.9' }));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`release tag v9.9.9 does not match the version in package.json (${VERSION})`);
    const tags = await fetch(`${registry.url}/v2/ferry/cli/tags/list`, { headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` } });
    expect(tags.status).toBe(404);
  });

  it('fails with a message naming the variable when no repository is given', async () => {
    const r = await script('publish-cli-image.sh', [], { FERRY_CLI_IMAGE_INSECURE: 'true' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/FERRY_CLI_IMAGE_REPOSITORY is not set/);
  });

  it('on the release tag pushes <version> and <major>.<minor>, the same digest as the local build, never printing the password', async () => {
    const r = await script('publish-cli-image.sh', [], publishEnv({ CI_COMMIT_TAG: `v${VERSION}` }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(layoutDigest);
    expect(`${r.stdout}${r.stderr}`).not.toContain(PASSWORD);
    const creds = `${USER}:${PASSWORD}`;
    for (const tag of [VERSION, `${MAJOR}.${MINOR}`]) expect((await skopeoInspect(`${repository()}:${tag}`, { creds })).Digest).toBe(layoutDigest);
  });

  it('off a tag (a branch build) pushes only <version>', async () => {
    const other = `${registry.host}/ferry/cli-branch`;
    const r = await script('publish-cli-image.sh', [], publishEnv({ FERRY_CLI_IMAGE_REPOSITORY: other }));
    expect(r.code, r.stderr).toBe(0);
    const tags = await fetch(`${registry.url}/v2/ferry/cli-branch/tags/list`, { headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` } });
    expect(((await tags.json()) as { tags: string[] }).tags).toEqual([VERSION]);
  });
});

describe('the published image, run by podman as a GitLab job container', () => {
  let image: LocalImage;
  let models: string;
  beforeAll(async () => {
    models = join(dir, 'models');
    await makeSmokeModel(models);
    // Copied into the registry by skopeo (so this block does not lean on the publish tests), then
    // pulled by digest with the login, as a runner pulls a job's image.
    await skopeoCopy(`oci:${layout}:${VERSION}`, `${registry.host}/ferry/cli-run:${VERSION}`, [], { creds: `${USER}:${PASSWORD}` });
    image = await podmanPull(`${registry.host}/ferry/cli-run@${layoutDigest}`, { creds: `${USER}:${PASSWORD}` });
  }, 180_000);
  afterAll(async () => {
    await image?.remove();
  });

  it('prints the version with `ferry --version`, ferry on PATH, running as root', async () => {
    const r = await podmanRun(image.ref, ['ferry', '--version'], { network: 'none' });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
    const shell = await podmanRun(image.ref, ['sh', '-c', 'command -v ferry; id -u'], { network: 'none' });
    expect(shell.stdout.trim().split('\n')).toEqual(['/usr/local/bin/ferry', '0']);
  });

  it('runs a job script through sh: validate-model with smoke inference in onnxruntime-node passes, a wrong golden output fails with exit 1', async () => {
    const job = (golden: string): string => `set -e\ncd /tmp\nferry validate-model --model-path /models/model.onnx --smoke-samples /models/samples.json --smoke-golden /models/${golden}\n`;
    const good = await podmanRun(image.ref, ['sh', '-c', job('golden.json')], { network: 'none', volumes: { [models]: '/models' } });
    expect(good.exitCode, good.stderr).toBe(0);
    expect(`${good.stdout}${good.stderr}`).toMatch(/validate-model\s+PASS/);
    expect(`${good.stdout}${good.stderr}`).toMatch(/smoke: outputs match golden.*pass/);
    const bad = await podmanRun(image.ref, ['sh', '-c', job('golden-wrong.json')], { network: 'none', volumes: { [models]: '/models' } });
    expect(bad.exitCode).toBe(1);
    expect(`${bad.stdout}${bad.stderr}`).toMatch(/validate-model\s+FAIL/);
  });
});
