// The parts of build-serving-image that decide things from inputs alone: tags after
// docker/metadata-action, Triton's config from an ONNX signature, the model archive's zip as
// Python reads it, the digest cache never trusting a rewritten file, and the repository URL
// never carrying credentials.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError, silentLogger } from '@ferry/core';
import { bufferSource, checkDiskSpace, crc32, decideTags, DigestCache, parseSemver, readModel, referrersTag, repositoryUrlFromRemote, tritonConfig, zipArchive } from '@ferry/image';
import type { SourceContext } from '@ferry/image';
import { PYTHON } from '../support/python.js';

const source = (overrides: Partial<SourceContext>): SourceContext => ({
  platform: 'github',
  repositoryUrl: 'https://github.com/acme/models',
  revision: '0123456789abcdef0123456789abcdef01234567',
  ref: 'main',
  refType: 'branch',
  defaultBranch: 'main',
  pullRequest: undefined,
  commitTime: undefined,
  runUrl: undefined,
  invocationId: undefined,
  builderId: undefined,
  ...overrides,
});

const ALL = ['semver', 'sha', 'pr', 'latest'];

describe('tags after docker/metadata-action', () => {
  it.each([
    { name: 'default branch, release version', version: '1.2.3', ctx: {}, tags: ['1.2.3', '1.2', '1', 'sha-0123456', 'latest'] },
    { name: 'v prefix', version: 'v2.0.1', ctx: {}, tags: ['2.0.1', '2.0', '2', 'sha-0123456', 'latest'] },
    { name: 'prerelease: only its full version', version: '1.3.0-rc.1', ctx: {}, tags: ['1.3.0-rc.1', 'sha-0123456', 'latest'] },
    { name: 'build metadata dropped (no + in tags)', version: '1.3.0+linux', ctx: {}, tags: ['1.3.0', '1.3', '1', 'sha-0123456', 'latest'] },
    { name: 'not semver: no version tags', version: 'nightly', ctx: {}, tags: ['sha-0123456', 'latest'] },
    { name: 'pull request: pr-N and the head sha, no release tags', version: '1.2.3', ctx: { pullRequest: 12, ref: 'feature/x' }, tags: ['sha-0123456', 'pr-12'] },
    { name: 'other branch: sha only', version: '1.2.3', ctx: { ref: 'develop' }, tags: ['sha-0123456'] },
    { name: 'tag push off the default branch: a release', version: '1.2.3', ctx: { ref: 'v1.2.3', refType: 'tag' as const }, tags: ['1.2.3', '1.2', '1', 'sha-0123456'] },
    { name: 'no CI, no git: semver only', version: '0.4.0', ctx: { platform: 'none' as const, revision: undefined, ref: undefined, refType: undefined, defaultBranch: undefined }, tags: ['0.4.0', '0.4', '0'] },
  ])('$name', ({ version, ctx, tags }) => {
    expect(decideTags({ rules: ALL, extra: [], referenceTag: undefined, modelVersion: version, source: source(ctx) }).map((d) => d.tag)).toEqual(tags);
  });

  it('keeps the reference tag and extra tags first, once each, and adds the branch when asked', () => {
    const decided = decideTags({ rules: ['sha', 'branch'], extra: ['stable', 'v9'], referenceTag: 'v9', modelVersion: undefined, source: source({ ref: 'feature/Big Model' }) });
    expect(decided).toEqual([
      { tag: 'v9', rule: 'image' },
      { tag: 'stable', rule: 'input' },
      { tag: 'sha-0123456', rule: 'sha' },
      { tag: 'feature-Big-Model', rule: 'branch' },
    ]);
  });

  it.each([
    { extra: ['-x'], rules: ALL, why: /tags: "-x" is not a valid tag/ },
    { extra: [], rules: ['none', 'sha'], why: /cannot be combined/ },
  ])('refuses $extra $rules with an input error', ({ extra, rules, why }) => {
    expect(() => decideTags({ rules, extra, referenceTag: undefined, modelVersion: undefined, source: source({}) })).toThrow(why);
  });

  it.each([
    ['1.2.3', '1.2.3'],
    ['v10.20.30', '10.20.30'],
    ['1.2', undefined],
    ['01.2.3', undefined],
  ])('semver %s → %s', (text, version) => {
    expect(parseSemver(text)?.version).toBe(version);
  });
});

describe('Triton config.pbtxt from an ONNX signature', () => {
  const batchIn = [{ name: 'pixels', dtype: 'FLOAT', shape: ['batch', 3, 224, 224] }];
  const batchOut = [{ name: 'probs', dtype: 'FLOAT16', shape: [-1, 1000] }];

  it('a batchable model: dims without the batch dimension, Triton\'s default max batch size 4, dynamic batching', () => {
    const text = tritonConfig(batchIn, batchOut, { name: 'resnet', maxBatchSize: undefined, dynamicBatching: undefined, instanceCount: 1 });
    expect(text).toContain('max_batch_size: 4\n');
    expect(text).toContain('name: "pixels"\n    data_type: TYPE_FP32\n    dims: [ 3, 224, 224 ]');
    expect(text).toContain('name: "probs"\n    data_type: TYPE_FP16\n    dims: [ 1000 ]');
    expect(text).toContain('dynamic_batching { }');
  });

  it('a fixed first dimension: no batching, full dims, variable ones as -1, scalars reshaped', () => {
    const text = tritonConfig(
      [{ name: 'ids', dtype: 'INT64', shape: [1, 'seq'] }],
      [{ name: 'score', dtype: 'DOUBLE', shape: [] }],
      { name: 'm', maxBatchSize: undefined, dynamicBatching: undefined, instanceCount: 3 },
    );
    expect(text).toContain('max_batch_size: 0\n');
    expect(text).toContain('data_type: TYPE_INT64\n    dims: [ 1, -1 ]');
    expect(text).toContain('data_type: TYPE_FP64\n    dims: [ 1 ]\n    reshape: { shape: [ ] }');
    expect(text).toContain('count: 3\n    kind: KIND_AUTO');
    expect(text).not.toContain('dynamic_batching');
  });

  it.each([
    { name: 'batching asked of a fixed dimension', options: { maxBatchSize: 8 }, inputs: [{ name: 'x', dtype: 'FLOAT', shape: [1, 4] }], subject: 'max-batch-size' },
    { name: 'dynamic batching without batching', options: { maxBatchSize: 0, dynamicBatching: true }, inputs: batchIn, subject: 'dynamic-batching' },
    { name: 'a type Triton does not serve', options: {}, inputs: [{ name: 'c', dtype: 'COMPLEX64', shape: [-1] }], subject: 'runtime' },
  ])('$name: an input error naming $subject', ({ options, inputs, subject }) => {
    let error: unknown;
    try {
      tritonConfig(inputs, batchOut, { name: 'm', maxBatchSize: undefined, dynamicBatching: undefined, instanceCount: 1, ...options });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).subject).toBe(subject);
  });
});

describe('model archive zip', () => {
  const members = () => {
    const a = Buffer.from('{"model":{"modelName":"m"}}\n');
    const b = randomBytes(70_000);
    return [
      { name: 'MAR-INF/MANIFEST.json', source: bufferSource(a), crc32: crc32(a) },
      { name: 'weights/model.pt', source: bufferSource(b), crc32: crc32(b) },
      { name: 'empty.txt', source: bufferSource(Buffer.alloc(0)), crc32: 0 },
    ];
  };

  async function bytesOf(source: { open(): Promise<NodeJS.ReadableStream> }): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of (await source.open()) as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  it.each([{ forceZip64: false }, { forceZip64: true }])('Python\'s zipfile reads every member back intact (ZIP64 records: $forceZip64)', async ({ forceZip64 }) => {
    if (!existsSync(PYTHON)) throw new Error(`test Python ${PYTHON} is missing: run "sudo bash scripts/install-python-deps.sh"`);
    const input = members();
    const archive = zipArchive(input, { forceZip64 });
    const bytes = await bytesOf(archive.source);
    expect(bytes.length).toBe(archive.source.size);
    const file = join(await mkdtemp(join(tmpdir(), 'ferry-zip-')), 'a.mar');
    await writeFile(file, bytes);
    const out = execFileSync(
      PYTHON,
      ['-c', 'import sys, zipfile, hashlib, json\nz = zipfile.ZipFile(sys.argv[1])\nprint(json.dumps({"bad": z.testzip(), "files": {i.filename: [i.file_size, i.compress_type, hashlib.sha256(z.read(i)).hexdigest()] for i in z.infolist()}}))', file],
      { encoding: 'utf8' },
    );
    const read = JSON.parse(out) as { bad: null; files: Record<string, [number, number, string]> };
    expect(read.bad).toBeNull();
    for (const member of input) {
      const content = await bytesOf(member.source);
      expect(read.files[member.name]).toEqual([content.length, 0, (await import('node:crypto')).createHash('sha256').update(content).digest('hex')]);
    }
  });

  it('is the same bytes every time, and refuses names that climb out', async () => {
    expect((await bytesOf(zipArchive(members().slice(0, 1)).source)).equals(await bytesOf(zipArchive(members().slice(0, 1)).source))).toBe(true);
    expect(() => zipArchive([{ name: '../evil', source: bufferSource('x'), crc32: crc32(Buffer.from('x')) }])).toThrow(InputError);
  });
});

describe('digest cache', () => {
  it('answers for an unchanged file and never for one rewritten with other bytes of the same size', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-cache-'));
    const model = join(dir, 'model.bin');
    await writeFile(model, randomBytes(4096));
    // A new cache object per read, as a new build would make: what it knows comes from disk.
    const read = () => readModel(model, { logger: silentLogger, signal: new AbortController().signal, cache: new DigestCache(join(dir, 'cache')) });
    const first = await read();
    const again = await read();
    expect(again.cachedFiles).toBe(1);
    expect(again.digest).toBe(first.digest);
    await writeFile(model, randomBytes(4096));
    const rewritten = await read();
    expect(rewritten.cachedFiles).toBe(0);
    expect(rewritten.digest).not.toBe(first.digest);
    expect(rewritten.files[0]!.sha256).toBe((await import('node:crypto')).createHash('sha256').update(await readFile(model)).digest('hex'));
  });
});

describe('runner disk space', () => {
  it('says whether what will be written fits, for a path that does not exist yet', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-disk-'));
    const fits = await checkDiskSpace(join(dir, 'not/yet/image.tar'), 1024);
    expect(fits).toMatchObject({ enough: true, neededBytes: 1024 });
    expect(fits!.freeBytes).toBeGreaterThan(1024);
    expect((await checkDiskSpace(join(dir, 'image.tar'), fits!.freeBytes))!.enough).toBe(false);
  });
});

describe('source metadata', () => {
  it.each([
    ['git@github.com:acme/models.git', 'https://github.com/acme/models'],
    ['https://ci-bot:glpat-SECRET@gitlab.example.com/acme/models.git', 'https://gitlab.example.com/acme/models'],
    ['ssh://git@git.example.com:2222/team/repo', 'https://git.example.com/team/repo'],
    ['/srv/git/repo', undefined],
  ])('remote %s → %s (never credentials)', (remote, url) => {
    expect(repositoryUrlFromRemote(remote)).toBe(url);
  });

  it('names the referrers fallback tag after the subject digest', () => {
    expect(referrersTag(`sha256:${'ab'.repeat(32)}`)).toBe(`sha256-${'ab'.repeat(32)}`);
  });
});
