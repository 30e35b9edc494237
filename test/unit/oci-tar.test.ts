// Layers as GNU tar and gzip read them: sorted entries, root ownership, fixed modes and times
// whatever the build machine had, PAX records for long names and huge files, a gzip header without
// a time or name, digests and diffIDs that match the bytes, and reads from any offset.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BlobStore, FileTree, buildLayer, tarArchive } from '@ferry/image';
import type { ByteSource } from '@ferry/image';
import { InputError } from '@ferry/core';
import { requireBinary } from '../support/components/index.js';

const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

async function readAll(source: ByteSource, start?: number, end?: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of (await source.open(start, end)) as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** `tar -tv` of an archive: "mode owner size date time name" lines, numeric owners. */
function gnuTarListing(archive: Buffer): string[] {
  const tar = requireBinary('tar', 'tar');
  return execFileSync(tar, ['--numeric-owner', '--full-time', '-tvf', '-'], { input: archive, env: { ...process.env, TZ: 'UTC' } })
    .toString()
    .trim()
    .split('\n');
}

async function tempDir(name: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `ferry-oci-tar-${name}-`));
}

/** A model directory written in a given order, with given times and permission bits. */
async function writeModelDir(options: { order: 'forward' | 'reverse'; mtime: number; fileMode: number }): Promise<string> {
  const dir = await tempDir('model');
  const files: [string, string | Buffer, number][] = [
    ['weights/model.onnx', Buffer.alloc(3000, 7), options.fileMode],
    ['weights/extra.bin', Buffer.alloc(513, 1), options.fileMode],
    ['config.json', '{"name":"tiny"}\n', options.fileMode],
    ['serve.sh', '#!/bin/sh\nexec ferry serve\n', options.fileMode | 0o100],
  ];
  if (options.order === 'reverse') files.reverse();
  for (const [path, content, mode] of files) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
    await chmod(join(dir, path), mode);
    await utimes(join(dir, path), options.mtime, options.mtime);
  }
  await symlink('weights/model.onnx', join(dir, 'current.onnx'));
  return dir;
}

describe('deterministic tar', () => {
  it('lists sorted entries, parents first, root-owned, fixed modes and the given mtime, as GNU tar reads them', async () => {
    const dir = await writeModelDir({ order: 'forward', mtime: 1_700_000_000, fileMode: 0o600 });
    const tree = await new FileTree().addDirectoryFromHost('/models/tiny', dir);
    const archive = tarArchive(tree.list(), { mtime: 86_400 });
    expect(gnuTarListing(await readAll(archive.source))).toEqual([
      'drwxr-xr-x 0/0               0 1970-01-02 00:00:00 models/',
      'drwxr-xr-x 0/0               0 1970-01-02 00:00:00 models/tiny/',
      '-rw-r--r-- 0/0              16 1970-01-02 00:00:00 models/tiny/config.json',
      'lrwxrwxrwx 0/0               0 1970-01-02 00:00:00 models/tiny/current.onnx -> weights/model.onnx',
      '-rwxr-xr-x 0/0              27 1970-01-02 00:00:00 models/tiny/serve.sh',
      'drwxr-xr-x 0/0               0 1970-01-02 00:00:00 models/tiny/weights/',
      '-rw-r--r-- 0/0             513 1970-01-02 00:00:00 models/tiny/weights/extra.bin',
      '-rw-r--r-- 0/0            3000 1970-01-02 00:00:00 models/tiny/weights/model.onnx',
    ]);
    expect(archive.contentBytes).toBe(16 + 27 + 513 + 3000);
  });

  it('gives the same bytes for the same content written in another order, with other times and permission bits', async () => {
    const a = await writeModelDir({ order: 'forward', mtime: 1_600_000_000, fileMode: 0o600 });
    const b = await writeModelDir({ order: 'reverse', mtime: 1_700_000_000, fileMode: 0o664 });
    const tarOf = async (dir: string) => readAll(tarArchive((await new FileTree().addDirectoryFromHost('/m', dir)).list()).source);
    const [first, second] = [await tarOf(a), await tarOf(b)];
    expect(sha256(first)).toBe(sha256(second));
  });

  it.each([
    { what: 'a 150-byte path', path: `/models/${'d'.repeat(70)}/${'f'.repeat(70)}.bin` },
    { what: 'a non-ASCII path', path: '/models/modèle-日本/权重.bin' },
    { what: 'a 400-byte path', path: `/m/${'x'.repeat(200)}/${'y'.repeat(200)}` },
  ])('keeps $what exactly through a PAX record', async ({ path }) => {
    const tree = new FileTree().addFile(path, 'content\n');
    const bytes = await readAll(tarArchive(tree.list()).source);
    const names = execFileSync(requireBinary('tar', 'tar'), ['-tf', '-'], { input: bytes }).toString().trim().split('\n');
    expect(names.at(-1)).toBe(path.slice(1));
    const dir = await tempDir('extract');
    execFileSync(requireBinary('tar', 'tar'), ['-xf', '-', '-C', dir], { input: bytes });
    expect(await readFile(join(dir, path), 'utf8')).toBe('content\n');
  });

  it('records a file over 8 GiB with a PAX size that GNU tar reads back', async () => {
    const size = 9 * 1024 ** 3 + 5;
    // Only the headers are read, so the 9 GiB never exist anywhere.
    const huge: ByteSource = {
      size,
      async open(start = 0, end = size) {
        return Readable.from([Buffer.alloc(Math.min(end - start, 1024))]);
      },
    };
    const archive = tarArchive(new FileTree().addFileFromSource('/models/huge.bin', huge).list());
    expect(archive.source.size).toBe(512 * 3 + 512 + size + (512 - (size % 512)) + 1024);
    const head = await readAll(archive.source, 0, 512 * 4);
    const listing = execFileSync('sh', ['-c', `${requireBinary('tar', 'tar')} --numeric-owner -tvf - 2>/dev/null || true`], { input: head }).toString();
    expect(listing).toContain(` ${size} `);
    expect(listing).toContain('models/huge.bin');
  });

  it('reads any byte range of the archive exactly as that slice of the whole', async () => {
    const dir = await writeModelDir({ order: 'forward', mtime: 0, fileMode: 0o644 });
    const archive = tarArchive((await new FileTree().addDirectoryFromHost('/m', dir)).list());
    const whole = await readAll(archive.source);
    expect(whole.length).toBe(archive.source.size);
    for (const [start, end] of [
      [0, 1],
      [511, 513],
      [1000, 5000],
      [whole.length - 1030, whole.length],
      [2048, 2048],
    ] as const) {
      expect((await readAll(archive.source, start, end)).equals(whole.subarray(start, end))).toBe(true);
    }
  });

  it('refuses to read a file that changed after the layer was planned, naming it', async () => {
    const dir = await tempDir('changing');
    await writeFile(join(dir, 'weights.bin'), Buffer.alloc(1000));
    const tree = await new FileTree().addFileFromHost('/m/weights.bin', join(dir, 'weights.bin'));
    const archive = tarArchive(tree.list());
    await writeFile(join(dir, 'weights.bin'), Buffer.alloc(2000));
    const read = readAll(archive.source);
    await expect(read).rejects.toBeInstanceOf(InputError);
    await expect(read).rejects.toThrow(/weights\.bin changed while the image was being built/);
  });
});

describe('file trees', () => {
  it.each([
    { what: 'a path that escapes the root', add: (t: FileTree) => t.addFile('/models/../../etc/passwd', 'x'), error: /escapes the image root/ },
    { what: 'the same file twice', add: (t: FileTree) => t.addFile('/a', 'x').addFile('a', 'y'), error: /added to the layer twice/ },
    { what: 'a file used as a directory', add: (t: FileTree) => t.addFile('/a', 'x').addFile('/a/b', 'y').list(), error: /is a file but also the parent/ },
    { what: 'the root itself', add: (t: FileTree) => t.addDirectory('/'), error: /not the root/ },
  ])('refuses $what with an input error', ({ add, error }) => {
    expect(() => add(new FileTree())).toThrow(error);
    expect(() => add(new FileTree())).toThrow(InputError);
  });

  it('with symlinks "follow", stores the content a Hugging Face snapshot links to; by default keeps the links', async () => {
    const cache = await tempDir('hf-cache');
    await mkdir(join(cache, 'blobs'));
    await mkdir(join(cache, 'snapshots/abc123'), { recursive: true });
    await writeFile(join(cache, 'blobs/0f1e2d'), 'safetensors bytes');
    await symlink('../../blobs/0f1e2d', join(cache, 'snapshots/abc123/model.safetensors'));
    const snapshot = join(cache, 'snapshots/abc123');
    const listing = async (symlinks: 'keep' | 'follow') =>
      gnuTarListing(await readAll(tarArchive((await new FileTree().addDirectoryFromHost('/models/hf', snapshot, { symlinks })).list()).source)).at(-1);
    expect(await listing('follow')).toMatch(/^-rw-r--r-- 0\/0 +17 .* models\/hf\/model\.safetensors$/);
    expect(await listing('keep')).toMatch(/^lrwxrwxrwx .* models\/hf\/model\.safetensors -> \.\.\/\.\.\/blobs\/0f1e2d$/);
  });

  it('refuses a directory symlink that loops back up the tree when following links', async () => {
    const dir = await tempDir('loop');
    await mkdir(join(dir, 'a'));
    await symlink('..', join(dir, 'a/up'));
    await expect(new FileTree().addDirectoryFromHost('/m', dir, { symlinks: 'follow' })).rejects.toThrow(/links back to a directory that contains it/);
  });

  it('refuses a FIFO in a model directory instead of skipping it', async () => {
    const dir = await tempDir('fifo');
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    await expect(new FileTree().addDirectoryFromHost('/m', dir)).rejects.toThrow(/pipe is not a regular file, directory or symlink/);
  });
});

describe('layers', () => {
  it('an uncompressed layer is the tar itself: digest = diffID = sha256 of the bytes, media type .tar', async () => {
    const store = new BlobStore(await tempDir('store'));
    const files = new FileTree().addFile('/models/a.bin', Buffer.alloc(4096, 3));
    const layer = await buildLayer({ name: 'model', files }, { store });
    const bytes = await readAll(layer.source);
    expect(layer.descriptor).toMatchObject({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(bytes), size: bytes.length });
    expect(layer.diffId).toBe(layer.descriptor.digest);
  });

  it('a gzip layer has a fixed header (no time, no name) and a diffID that is the sha256 of what it inflates to', async () => {
    const store = new BlobStore(await tempDir('store'));
    const files = new FileTree().addFile('/etc/ferry/serve.json', '{"port":8000}\n');
    const layer = await buildLayer({ name: 'config', files, compression: 'gzip' }, { store, mtime: 1_234 });
    const blob = await readFile(store.pathOf(layer.descriptor.digest));
    expect(layer.descriptor).toMatchObject({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(blob), size: blob.length });
    expect([...blob.subarray(0, 10)]).toEqual([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff]);
    const tar = gunzipSync(blob);
    expect(layer.diffId).toBe(sha256(tar));
    expect(layer.uncompressedSize).toBe(tar.length);
    expect(gnuTarListing(tar).at(-1)).toMatch(/^-rw-r--r-- 0\/0 +14 1970-01-01 00:20:34 etc\/ferry\/serve\.json$/);
  });
});
