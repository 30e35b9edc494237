// The README's Roles, applied as written: a test binds the Role of a target's README section to
// the test API server's unprivileged user, so the documented RBAC cannot drift from what works.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeApiserverComponent } from './components/index.js';
import { REPO_ROOT } from './repo.js';

/** The Role in the first ```yaml block after a line starting "RBAC:" in the README section `heading`. */
export function readmeRole(heading: string): { kind: string; metadata: { name: string; namespace?: string }; rules: unknown[] } {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(heading);
  if (at < 0) throw new Error(`README.md has no section "${heading}"`);
  const block = /RBAC:[^\n]*\n+```yaml\n([\s\S]*?)```/.exec(readme.slice(at))?.[1];
  if (!block) throw new Error(`README section "${heading}" has no "RBAC:" line followed by a \`\`\`yaml block`);
  const role = parseAllDocuments(block)
    .map((d) => d.toJS())
    .find((d) => d?.kind === 'Role');
  if (!role) throw new Error(`the RBAC block of README section "${heading}" holds no Role`);
  return role;
}

/** A kubeconfig (JSON text) for the component's unprivileged `ferry-test-user`. */
export function userKubeconfig(kube: KubeApiserverComponent): string {
  return JSON.stringify({ ...JSON.parse(kube.kubeconfig), users: [{ name: 'ferry-test-admin', user: { token: kube.userToken } }] });
}

/** Creates the README section's Role in `namespace` under `name`, bound to `ferry-test-user`. */
export async function bindReadmeRole(kube: KubeApiserverComponent, heading: string, namespace: string, name: string): Promise<void> {
  const role = readmeRole(heading);
  role.metadata = { ...role.metadata, name, namespace };
  const created = await kube.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, { body: role });
  if (created.status !== 201) throw new Error(`creating the README's Role: HTTP ${created.status} ${JSON.stringify(created.body)}`);
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name, namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'ferry-test-user' }],
  };
  const bound = await kube.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, { body: binding });
  if (bound.status !== 201) throw new Error(`binding the README's Role: HTTP ${bound.status} ${JSON.stringify(bound.body)}`);
}
