// Registry credentials found where `docker login` and `podman login` leave them, in the order a
// user expects, and a broken auth file named instead of silently meaning "anonymous".
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '@ferry/core';
import { findCredentials } from '@ferry/image';

const b64 = (text: string) => Buffer.from(text).toString('base64');

async function authFile(dir: string, name: string, auths: Record<string, unknown>): Promise<string> {
  const path = join(dir, name);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, JSON.stringify({ auths }));
  return path;
}

describe('registry credentials from auth files', () => {
  it.each([
    { key: 'registry.example.com', entry: { auth: b64('ci:s3cret:with:colons') }, expected: { username: 'ci', password: 's3cret:with:colons' } },
    { key: 'https://registry.example.com/v1/', entry: { auth: b64('ci:pw') }, expected: { username: 'ci', password: 'pw' } },
    { key: 'registry.example.com', entry: { username: 'u', password: 'p' }, expected: { username: 'u', password: 'p' } },
    { key: 'registry.example.com', entry: { identitytoken: 'refresh-token' }, expected: { identityToken: 'refresh-token' } },
  ])('reads $key → $expected from $DOCKER_CONFIG/config.json', async ({ key, entry, expected }) => {
    const home = await mkdtemp(join(tmpdir(), 'ferry-creds-'));
    await authFile(home, 'docker/config.json', { [key]: entry });
    const found = await findCredentials('registry.example.com', { HOME: home, DOCKER_CONFIG: join(home, 'docker') });
    expect(found).toEqual({ credentials: expected, from: join(home, 'docker/config.json') });
  });

  it('uses ~/.docker/config.json, then containers auth.json, with $REGISTRY_AUTH_FILE before both', async () => {
    const home = await mkdtemp(join(tmpdir(), 'ferry-creds-'));
    await authFile(home, '.config/containers/auth.json', { 'reg.test:5000': { auth: b64('podman:pw') } });
    expect((await findCredentials('reg.test:5000', { HOME: home }))?.credentials).toEqual({ username: 'podman', password: 'pw' });
    await authFile(home, '.docker/config.json', { 'reg.test:5000': { auth: b64('docker:pw') } });
    expect((await findCredentials('reg.test:5000', { HOME: home }))?.credentials).toEqual({ username: 'docker', password: 'pw' });
    const explicit = await authFile(home, 'elsewhere/auth.json', { 'reg.test:5000': { auth: b64('explicit:pw') } });
    expect((await findCredentials('reg.test:5000', { HOME: home, REGISTRY_AUTH_FILE: explicit }))?.credentials).toEqual({ username: 'explicit', password: 'pw' });
  });

  it('matches Docker Hub under any of its names, and nothing for another registry', async () => {
    const home = await mkdtemp(join(tmpdir(), 'ferry-creds-'));
    await authFile(home, '.docker/config.json', { 'https://index.docker.io/v1/': { auth: b64('hub:pw') } });
    expect((await findCredentials('docker.io', { HOME: home }))?.credentials).toEqual({ username: 'hub', password: 'pw' });
    expect(await findCredentials('ghcr.io', { HOME: home })).toBeUndefined();
  });

  it('fails on an auth file that is not JSON, naming the file', async () => {
    const home = await mkdtemp(join(tmpdir(), 'ferry-creds-'));
    await mkdir(join(home, '.docker'));
    await writeFile(join(home, '.docker/config.json'), '{"auths": {');
    const lookup = findCredentials('reg.test', { HOME: home });
    await expect(lookup).rejects.toBeInstanceOf(InputError);
    await expect(lookup).rejects.toThrow(`registry auth file ${join(home, '.docker/config.json')} is not valid JSON`);
  });
});
