// Kubernetes credentials for the rollout targets, read with @kubernetes/client-node's own kubeconfig
// model (config_types: clusters, users, contexts, token files) and exec-plugin runner (exec_auth),
// but not through its KubeConfig class: that module pulls in the whole generated API client, which
// made each rollout action's bundle 19 MB bigger for what is, here, reading one file.
// Sources, in order: the `kubeconfig` input's text; in a pod, the service account; else $KUBECONFIG
// (the first file that names the current context wins, as kubectl merges) or ~/.kube/config.
import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, delimiter } from 'node:path';
import type { RequestOptions } from 'node:https';
import { newClusters, newContexts, newUsers, type Cluster, type Context, type User } from '@kubernetes/client-node/dist/config_types.js';
import { ExecAuth } from '@kubernetes/client-node/dist/exec_auth.js';
import { parse } from 'yaml';
import { TargetUnavailableError } from '../../target/types.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface ResolvedCredentials {
  readonly server: URL;
  /** TLS material and headers for node:https; call `refresh` before each connection (exec tokens expire). */
  readonly options: RequestOptions;
  /** Where they came from, for messages (never the secret itself). */
  readonly source: string;
  /** The context's namespace, when it names one. */
  readonly namespace?: string;
  refresh(): Promise<RequestOptions>;
}

interface Loaded {
  readonly clusters: Cluster[];
  readonly users: User[];
  readonly contexts: Context[];
  readonly current?: string;
  readonly source: string;
}

function parseKubeconfig(text: string, source: string, baseDir: string | undefined): Loaded {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new TargetUnavailableError(`${source} is not valid YAML: ${(error as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object') throw new TargetUnavailableError(`${source} is not a kubeconfig (no clusters, users and contexts)`);
  const d = doc as Record<string, unknown>;
  let clusters: Cluster[], users: User[], contexts: Context[];
  try {
    clusters = newClusters(d['clusters']);
    users = newUsers(d['users']);
    contexts = newContexts(d['contexts']);
  } catch (error) {
    throw new TargetUnavailableError(`${source}: ${(error as Error).message}`);
  }
  // Paths in a kubeconfig file are relative to that file, as kubectl reads them.
  const abs = (p: string | undefined): string | undefined => (p && baseDir && !isAbsolute(p) ? join(baseDir, p) : p);
  for (const c of clusters) c.caFile = abs(c.caFile);
  for (const u of users) {
    u.certFile = abs(u.certFile);
    u.keyFile = abs(u.keyFile);
  }
  const current = typeof d['current-context'] === 'string' && d['current-context'] !== '' ? d['current-context'] : undefined;
  return { clusters, users, contexts, ...(current ? { current } : {}), source };
}

function loadDefault(env: NodeJS.ProcessEnv): Loaded {
  const files = env.KUBECONFIG ? env.KUBECONFIG.split(delimiter).filter((f) => f !== '') : [join(homedir(), '.kube', 'config')];
  const loaded = files.filter((f) => existsSync(f)).map((f) => parseKubeconfig(readFileSync(f, 'utf8'), f, dirname(f)));
  if (loaded.length === 0) {
    throw new TargetUnavailableError(`no Kubernetes credentials: give the kubeconfig input, run in a pod, or write ${files.join(' or ')}`);
  }
  // kubectl's merge: the first file to define a name wins, and the first current-context set wins.
  const firstByName = <T extends { name: string }>(lists: T[][]): T[] => {
    const seen = new Map<string, T>();
    for (const list of lists) for (const item of list) if (!seen.has(item.name)) seen.set(item.name, item);
    return [...seen.values()];
  };
  const current = loaded.find((l) => l.current !== undefined)?.current;
  return {
    clusters: firstByName(loaded.map((l) => l.clusters)),
    users: firstByName(loaded.map((l) => l.users)),
    contexts: firstByName(loaded.map((l) => l.contexts)),
    ...(current ? { current } : {}),
    source: loaded.map((l) => l.source).join(delimiter),
  };
}

function inCluster(env: NodeJS.ProcessEnv): Loaded {
  const host = env.KUBERNETES_SERVICE_HOST!;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  return {
    clusters: newClusters([{ name: 'in-cluster', cluster: { server, 'certificate-authority': join(SERVICE_ACCOUNT_DIR, 'ca.crt') } }]),
    users: newUsers([{ name: 'service-account', user: {} }]),
    contexts: newContexts([{ name: 'in-cluster', context: { cluster: 'in-cluster', user: 'service-account' } }]),
    current: 'in-cluster',
    source: `the pod's service account (${SERVICE_ACCOUNT_DIR})`,
  };
}

const fileOrData = (file: string | undefined, data: string | undefined): Buffer | undefined =>
  data ? Buffer.from(data, 'base64') : file ? readFileSync(file) : undefined;

/** Reads the credentials a rollout target connects with, failing with TargetUnavailableError (exit 3) and the reason. */
export function loadCredentials(input: { kubeconfig?: string; context?: string }, env: NodeJS.ProcessEnv = process.env): ResolvedCredentials {
  const given = input.kubeconfig !== undefined && input.kubeconfig.trim() !== '';
  const cfg = given ? parseKubeconfig(input.kubeconfig!, 'the kubeconfig input', undefined) : env.KUBERNETES_SERVICE_HOST && !env.KUBECONFIG ? inCluster(env) : loadDefault(env);
  const name = input.context || cfg.current;
  if (!name) throw new TargetUnavailableError(`${cfg.source} sets no current-context: give kube-context`);
  const context = cfg.contexts.find((c) => c.name === name);
  if (!context) throw new TargetUnavailableError(`${cfg.source} has no context ${JSON.stringify(name)} (contexts: ${cfg.contexts.map((c) => c.name).join(', ') || 'none'})`);
  const cluster = cfg.clusters.find((c) => c.name === context.cluster);
  if (!cluster) throw new TargetUnavailableError(`${cfg.source}: context ${name} names cluster ${JSON.stringify(context.cluster)}, which it does not define`);
  const user = cfg.users.find((u) => u.name === context.user);
  if (!user && context.user) throw new TargetUnavailableError(`${cfg.source}: context ${name} names user ${JSON.stringify(context.user)}, which it does not define`);
  if (user?.authProvider && !(user.authProvider.name === 'exec' || user.authProvider.config?.exec)) {
    throw new TargetUnavailableError(`${cfg.source}: user ${user.name} uses the auth-provider ${JSON.stringify(user.authProvider.name)}, which Ferry does not run; use an exec credential plugin (users[].user.exec) or a token`);
  }
  let server: URL;
  try {
    server = new URL(cluster.server);
  } catch {
    throw new TargetUnavailableError(`${cfg.source}: cluster ${cluster.name} has no valid server URL (${JSON.stringify(cluster.server)})`);
  }
  const exec = new ExecAuth();
  const inPod = cfg.current === 'in-cluster' && !given && cfg.source.startsWith("the pod's");
  const refresh = async (): Promise<RequestOptions> => {
    const opts: RequestOptions = { headers: {} };
    try {
      const ca = fileOrData(cluster.caFile, cluster.caData);
      if (ca) opts.ca = ca;
      if (cluster.skipTLSVerify) opts.rejectUnauthorized = false;
      if (cluster.tlsServerName) opts.servername = cluster.tlsServerName;
      if (user) {
        const cert = fileOrData(user.certFile, user.certData);
        const key = fileOrData(user.keyFile, user.keyData);
        if (cert) opts.cert = cert;
        if (key) opts.key = key;
        if (user.token) (opts.headers as Record<string, string>)['Authorization'] = `Bearer ${user.token.trim()}`;
        else if (user.username) opts.auth = `${user.username}:${user.password ?? ''}`;
        if (user.impersonateUser) (opts.headers as Record<string, string>)['Impersonate-User'] = user.impersonateUser;
        if (exec.isAuthProvider(user)) await exec.applyAuthentication(user, opts);
      }
      // The service account token is rotated on disk: read it for every connection.
      if (inPod) (opts.headers as Record<string, string>)['Authorization'] = `Bearer ${readFileSync(join(SERVICE_ACCOUNT_DIR, 'token'), 'utf8').trim()}`;
    } catch (error) {
      throw new TargetUnavailableError(`cannot load the Kubernetes credentials from ${cfg.source}: ${(error as Error).message}`);
    }
    return opts;
  };
  return { server, options: {}, source: cfg.source, ...(context.namespace ? { namespace: context.namespace } : {}), refresh };
}
