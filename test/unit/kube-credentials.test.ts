// How the Kubernetes targets find their credentials: a kubeconfig given as input, $KUBECONFIG files
// (merged the way kubectl merges them, paths relative to each file), token files, exec credential
// plugins, and clear refusals naming what is wrong. Connecting with them to a real API server is
// test/integration/rollout-k8s.test.ts.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadCredentials } from '../../packages/rollout/src/targets/kubernetes/credentials.js';

const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n');

function kubeconfig(over: { users?: unknown[]; clusters?: unknown[]; current?: string } = {}): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': over.current ?? 'ci',
    clusters: over.clusters ?? [{ name: 'prod', cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': CA.toString('base64') } }],
    users: over.users ?? [{ name: 'deployer', user: { token: 's3cret-token' } }],
    contexts: [
      { name: 'ci', context: { cluster: 'prod', user: 'deployer', namespace: 'models' } },
      { name: 'other', context: { cluster: 'prod', user: 'nobody' } },
    ],
  });
}

describe('Kubernetes credentials', () => {
  it('reads a kubeconfig given as input: server, CA, bearer token and the context namespace', async () => {
    const c = loadCredentials({ kubeconfig: kubeconfig() }, {});
    expect(c.server.href).toBe('https://10.0.0.1:6443/');
    expect(c.namespace).toBe('models');
    const opts = await c.refresh();
    expect(opts.ca).toEqual(CA);
    expect(opts.headers).toMatchObject({ Authorization: 'Bearer s3cret-token' });
    expect(c.source).toBe('the kubeconfig input');
  });

  it('runs an exec credential plugin and sends the token it prints', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-kube-exec-'));
    const plugin = join(dir, 'get-token');
    writeFileSync(plugin, `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-plugin"}}'\n`);
    chmodSync(plugin, 0o755);
    const users = [{ name: 'deployer', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' } } }];
    const opts = await loadCredentials({ kubeconfig: kubeconfig({ users }) }, {}).refresh();
    expect(opts.headers).toMatchObject({ Authorization: 'Bearer from-plugin' });
  });

  it('merges $KUBECONFIG files like kubectl, resolving file paths against the file that names them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-kube-files-'));
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    writeFileSync(join(dir, 'b', 'ca.crt'), CA);
    writeFileSync(join(dir, 'b', 'token'), 'file-token\n');
    // The first file sets the current context; the second defines what it names.
    writeFileSync(join(dir, 'a', 'config'), stringify({ 'current-context': 'ci', contexts: [{ name: 'ci', context: { cluster: 'prod', user: 'deployer' } }] }));
    writeFileSync(
      join(dir, 'b', 'config'),
      stringify({ clusters: [{ name: 'prod', cluster: { server: 'https://k8s.internal', 'certificate-authority': 'ca.crt' } }], users: [{ name: 'deployer', user: { 'token-file': join(dir, 'b', 'token') } }] }),
    );
    const c = loadCredentials({}, { KUBECONFIG: `${join(dir, 'a', 'config')}:${join(dir, 'b', 'config')}` });
    const opts = await c.refresh();
    expect(c.server.host).toBe('k8s.internal');
    expect(opts.ca).toEqual(CA);
    expect(opts.headers).toMatchObject({ Authorization: 'Bearer file-token' });
  });

  it('refuses what it cannot use, naming the context, cluster, user or file', () => {
    expect(() => loadCredentials({ kubeconfig: kubeconfig(), context: 'staging' }, {})).toThrow(/the kubeconfig input has no context "staging" \(contexts: ci, other\)/);
    expect(() => loadCredentials({ kubeconfig: kubeconfig(), context: 'other' }, {})).toThrow(/context other names user "nobody", which it does not define/);
    expect(() => loadCredentials({ kubeconfig: kubeconfig({ users: [{ name: 'deployer', user: { 'auth-provider': { name: 'gcp' } } }] }) }, {})).toThrow(/auth-provider "gcp", which Ferry does not run; use an exec credential plugin/);
    expect(() => loadCredentials({ kubeconfig: 'clusters: [oops' }, {})).toThrow(/the kubeconfig input is not valid YAML/);
    expect(() => loadCredentials({}, { KUBECONFIG: '/nonexistent/kubeconfig' })).toThrow(/no Kubernetes credentials: give the kubeconfig input, run in a pod, or write \/nonexistent\/kubeconfig/);
  });

  it('never puts the token in an error message', () => {
    let message = '';
    try {
      loadCredentials({ kubeconfig: kubeconfig({ current: 'missing' }) }, {});
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/no context "missing"/);
    expect(message).not.toContain('s3cret-token');
  });
});
