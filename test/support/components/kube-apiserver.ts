// A real Kubernetes control plane on loopback, the way controller-runtime's envtest runs one: etcd
// plus kube-apiserver (built by scripts/install-kube-apiserver.sh), with the KServe and Gateway API
// CRDs installed. No controllers run: tests play their part by patching status.
import { generateKeyPairSync } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { requireBinary } from './binaries.js';
import { runCommand } from './command.js';
import { pollUntil } from './poll.js';
import { freePorts } from './ports.js';
import { startComponent } from './process.js';
import type { ComponentProcess } from './process.js';
import { makeWorkDir } from './workdir.js';

const INSTALL_SCRIPT = fileURLToPath(new URL('../../../scripts/install-kube-apiserver.sh', import.meta.url));
const HOW_TO_INSTALL = 'run "sudo bash scripts/install-kube-apiserver.sh" (builds kube-apiserver once into /var/cache/ferry/k8s, installs etcd-server)';

export class MissingKubeApiserverError extends Error {
  constructor(what: string) {
    super(`component ${what} is missing: ${HOW_TO_INSTALL}`);
    this.name = 'MissingKubeApiserverError';
  }
}

export interface KubeResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  warnings: string[];
}

export interface KubeRequestOptions {
  body?: unknown;
  /** Defaults to application/json, or application/merge-patch+json for PATCH. */
  contentType?: string;
  query?: Record<string, string>;
  /** Another user's bearer token (see the `tokens` of the component). */
  token?: string;
}

export interface KubeApiserverComponent {
  /** https://127.0.0.1:port */
  readonly url: string;
  /** PEM of the serving certificate, which is its own CA. */
  readonly caPem: string;
  /** Bearer token of `ferry-test-admin` (group system:masters). */
  readonly adminToken: string;
  /** Bearer token of `ferry-test-user` (no groups): RBAC decides what it may do. */
  readonly userToken: string;
  /** A kubeconfig file for the admin user, and its text. */
  readonly kubeconfigFile: string;
  readonly kubeconfig: string;
  /** Version of the server, e.g. v1.34.4. */
  readonly version: string;
  readonly crdDir: string;
  /** One raw API request as the admin user (or `token`); never throws on an HTTP status. */
  request(method: string, path: string, options?: KubeRequestOptions): Promise<KubeResponse>;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

/** The version scripts/install-kube-apiserver.sh builds by default, read from the script itself. */
function defaultK8sVersion(): string {
  const match = /K8S_VERSION="\$\{FERRY_K8S_VERSION:-(v[0-9.]+)\}"/.exec(readFileSync(INSTALL_SCRIPT, 'utf8'));
  if (match === null) throw new Error(`cannot read the default Kubernetes version from ${INSTALL_SCRIPT}`);
  return match[1]!;
}

/** Cache dir of the built kube-apiserver and the CRDs; fails with how to build them. */
export function kubeApiserverCache(): { dir: string; binary: string; crdDir: string; version: string } {
  const version = process.env.FERRY_K8S_VERSION ?? defaultK8sVersion();
  const dir = join(process.env.FERRY_K8S_CACHE ?? '/var/cache/ferry/k8s', version);
  const binary = join(dir, 'kube-apiserver');
  try {
    accessSync(binary, constants.X_OK);
    accessSync(join(dir, 'crds', 'serving.kserve.io_inferenceservices.yaml'), constants.R_OK);
  } catch {
    throw new MissingKubeApiserverError(`kube-apiserver ${version} (${binary})`);
  }
  return { dir, binary, crdDir: join(dir, 'crds'), version };
}

function requireEtcd(): string {
  try {
    return requireBinary('etcd', 'etcd-server');
  } catch {
    throw new MissingKubeApiserverError('etcd');
  }
}

async function rawRequest(url: string, caPem: string, token: string, method: string, path: string, options: KubeRequestOptions = {}): Promise<KubeResponse> {
  const target = new URL(path, url);
  for (const [key, value] of Object.entries(options.query ?? {})) target.searchParams.set(key, value);
  const payload = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const contentType = options.contentType ?? (method === 'PATCH' ? 'application/merge-patch+json' : 'application/json');
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method,
        ca: caPem,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(payload === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }),
        },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text === '' ? undefined : JSON.parse(text);
          } catch {
            // plain-text answers such as /readyz
          }
          const warning = res.headers.warning;
          const warnings = warning === undefined ? [] : Array.isArray(warning) ? warning : [warning];
          resolve({ status: res.statusCode ?? 0, body, warnings });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${target.pathname} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

async function selfSignedCert(dir: string): Promise<{ certFile: string; keyFile: string }> {
  const openssl = requireBinary('openssl', 'openssl');
  const certFile = join(dir, 'serving.crt');
  const keyFile = join(dir, 'serving.key');
  const result = await runCommand(openssl, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=ferry-test-kube-apiserver', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-keyout', keyFile, '-out', certFile,
  ]);
  if (result.exitCode !== 0) throw new Error(`openssl could not make the serving certificate: ${result.stderr}`);
  return { certFile, keyFile };
}

function kubeconfigText(url: string, caPem: string, token: string): string {
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'ferry-test', cluster: { server: url, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
      users: [{ name: 'ferry-test-admin', user: { token } }],
      contexts: [{ name: 'ferry-test', context: { cluster: 'ferry-test', user: 'ferry-test-admin', namespace: 'default' } }],
      'current-context': 'ferry-test',
    },
    null,
    2,
  );
}

async function installCrds(crdDir: string, call: KubeApiserverComponent['request']): Promise<void> {
  const names: string[] = [];
  for (const file of ['serving.kserve.io_inferenceservices.yaml', 'gateway.networking.k8s.io_gatewayclasses.yaml', 'gateway.networking.k8s.io_gateways.yaml', 'gateway.networking.k8s.io_httproutes.yaml', 'gateway.networking.k8s.io_referencegrants.yaml']) {
    for (const doc of parseAllDocuments(await readFile(join(crdDir, file), 'utf8'))) {
      const crd = doc.toJS() as { metadata: { name: string } } | null;
      if (crd === null) continue;
      const created = await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd });
      if (created.status !== 201 && created.status !== 409) throw new Error(`installing CRD ${crd.metadata.name} from ${file}: HTTP ${created.status} ${JSON.stringify(created.body)}`);
      names.push(crd.metadata.name);
    }
  }
  for (const name of names) {
    await pollUntil(
      async () => {
        const got = await call('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
        const conditions = (got.body?.status?.conditions ?? []) as { type: string; status: string }[];
        return conditions.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
      },
      { what: `CRD ${name} to be Established`, timeoutMs: 30_000 },
    );
  }
  // Discovery lags Established by a moment; the first request for a new kind must not 404.
  for (const group of ['serving.kserve.io/v1beta1', 'gateway.networking.k8s.io/v1']) {
    await pollUntil(async () => ((await call('GET', `/apis/${group}`)).status === 200 ? true : undefined), { what: `discovery of ${group}`, timeoutMs: 30_000 });
  }
}

/** Starts etcd and kube-apiserver on loopback, installs the CRDs, and writes a kubeconfig. */
export async function startKubeApiserver(): Promise<KubeApiserverComponent> {
  const cache = kubeApiserverCache();
  const etcdBinary = requireEtcd();
  const workDir = await makeWorkDir('kube-apiserver');
  const [etcdClientPort, etcdPeerPort, securePort] = (await freePorts(3)) as [number, number, number];
  const started: ComponentProcess[] = [];
  try {
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    started.push(
      await startComponent({
        name: 'etcd',
        command: etcdBinary,
        args: [
          '--name=ferry-test',
          `--data-dir=${join(workDir.path, 'etcd')}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
          `--initial-cluster=ferry-test=http://127.0.0.1:${etcdPeerPort}`,
          '--log-level=warn',
        ],
        workDir,
        keepWorkDir: true,
        ready: { url: `${etcdUrl}/health` },
      }),
    );

    const { certFile, keyFile } = await selfSignedCert(workDir.path);
    const caPem = await readFile(certFile, 'utf8');
    const serviceAccount = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = join(workDir.path, 'sa.key');
    const saPub = join(workDir.path, 'sa.pub');
    await writeFile(saKey, serviceAccount.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(saPub, serviceAccount.publicKey.export({ type: 'spki', format: 'pem' }));
    const adminToken = `ferry-admin-${process.pid}-${Date.now()}`;
    const userToken = `ferry-user-${process.pid}-${Date.now()}`;
    const tokenFile = join(workDir.path, 'tokens.csv');
    await writeFile(tokenFile, `${adminToken},ferry-test-admin,1,"system:masters"\n${userToken},ferry-test-user,2\n`);

    const url = `https://127.0.0.1:${securePort}`;
    const call = (method: string, path: string, options?: KubeRequestOptions) => rawRequest(url, caPem, options?.token ?? adminToken, method, path, options);
    started.push(
      await startComponent({
        name: 'kube-apiserver',
        command: cache.binary,
        args: [
          `--etcd-servers=${etcdUrl}`,
          '--bind-address=127.0.0.1',
          '--advertise-address=127.0.0.1',
          `--secure-port=${securePort}`,
          `--tls-cert-file=${certFile}`,
          `--tls-private-key-file=${keyFile}`,
          `--cert-dir=${join(workDir.path, 'certs')}`,
          `--token-auth-file=${tokenFile}`,
          '--authorization-mode=RBAC',
          '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
          `--service-account-key-file=${saPub}`,
          `--service-account-signing-key-file=${saKey}`,
          '--service-cluster-ip-range=10.0.0.0/24',
          '--endpoint-reconciler-type=none',
          '--allow-privileged=true',
          // Less background work on 2 shared cores: no flow-control bookkeeping, no profiling.
          '--enable-priority-and-fairness=false',
          '--profiling=false',
          '--v=1',
        ],
        workDir,
        keepWorkDir: true,
        readyTimeoutMs: 90_000,
        ready: {
          what: `${url}/readyz to answer ok`,
          probe: async () => {
            const ready = await call('GET', '/readyz');
            return ready.status === 200;
          },
        },
      }),
    );

    const component: KubeApiserverComponent = {
      url,
      caPem,
      adminToken,
      userToken,
      kubeconfigFile: join(workDir.path, 'kubeconfig'),
      kubeconfig: kubeconfigText(url, caPem, adminToken),
      version: cache.version,
      crdDir: cache.crdDir,
      request: call,
      logTail: (lines) => started.map((p) => `--- ${p.name} ---\n${p.logTail(lines)}`).join('\n'),
      async stop() {
        for (const p of [...started].reverse()) await p.stop();
        await workDir.remove();
      },
    };
    await writeFile(component.kubeconfigFile, component.kubeconfig, { mode: 0o600 });
    await installCrds(cache.crdDir, call);
    return component;
  } catch (error) {
    for (const p of [...started].reverse()) await p.stop();
    await workDir.remove();
    throw error;
  }
}
