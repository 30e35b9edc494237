// The gateway-api rollout target: a stable and a canary Deployment, each behind its own Service,
// and a Gateway API HTTPRoute whose weighted backendRefs split the traffic. Portable across the
// Gateway API implementations (Istio, Envoy Gateway, Cilium, NGINX Gateway Fabric). A slot only
// counts as serving a version once its Deployment reports that version available, and a split
// only counts as live once the gateway has accepted the route's current generation.
import { InputError } from '@ferry/core';
import type { StateStore } from '../../state/store.js';
import { TargetUnavailableError } from '../../target/types.js';
import type { LiveRouting, Routing, Slot, Strategy, Target, VersionRef, Weights } from '../../target/types.js';
import { KubeApiError, KubeClient, type KubeCredentials, type KubeObject } from './client.js';
import { AnnotationStateStore } from './state.js';

export interface GatewayApiTargetOptions {
  readonly credentials?: KubeCredentials;
  readonly namespace: string;
  /** Name of the HTTPRoute; the Deployments and Services are <name>-stable and <name>-canary. */
  readonly name: string;
  /** The Gateway the route attaches to: "name" (same namespace) or "namespace/name". */
  readonly gateway: string;
  /** Image repository of the model server; a version runs <image>@<digest>, or <image>:<version> without a digest. */
  readonly image: string;
  /** Port the model server listens on in the container, and the Services' port. Default 8080. */
  readonly port?: number;
  /** Replicas of each Deployment. Default 1. */
  readonly replicas?: number;
  /** How long a Deployment may take to become available with a new version. Default 300 s. */
  readonly readyTimeoutMs?: number;
  /** How often readiness is polled. Default 1 s. */
  readonly pollIntervalMs?: number;
}

const VERSION_ANNOTATION = 'ferry.dev/version';
const ENDPOINTS_ANNOTATION = 'ferry.dev/endpoints';
const DIGEST_ANNOTATION = 'ferry.dev/digest';
const SLOT_LABEL = 'ferry.dev/slot';
const NAME_LABEL = 'app.kubernetes.io/name';

interface BackendRef {
  name: string;
  port?: number;
  weight?: number;
}

interface RouteParentStatus {
  parentRef: { name: string; namespace?: string };
  conditions?: { type: string; status: string; observedGeneration?: number; message?: string }[];
}

const UNSUPPORTED: Partial<Record<Strategy, string>> = {
  ab: 'the gateway-api target splits by weight only; header- or cookie-sticky A/B routing needs the local target',
  shadow: 'the gateway-api target does not mirror requests yet (RequestMirror percentages are experimental in Gateway API); shadow runs need the local target',
};

export class GatewayApiTarget implements Target {
  readonly kind = 'gateway-api';
  readonly description: string;
  readonly state: StateStore;
  readonly client: KubeClient;
  private readonly o: Required<Omit<GatewayApiTargetOptions, 'credentials'>>;
  private readonly gatewayRef: { name: string; namespace?: string };

  constructor(options: GatewayApiTargetOptions) {
    for (const key of ['namespace', 'name', 'gateway', 'image'] as const) {
      if (!options[key]) throw new InputError(`the gateway-api target needs ${key}`, { subject: key });
    }
    if (!/^[a-z0-9]([-a-z0-9]{0,53}[a-z0-9])?$/.test(options.name)) {
      throw new InputError(`"${options.name}" is not a usable name: lower-case letters, digits and '-', at most 55 characters (it gets a -stable/-canary suffix)`, { subject: 'name' });
    }
    this.o = { port: 8080, replicas: 1, readyTimeoutMs: 300_000, pollIntervalMs: 1_000, ...options };
    const [gwNamespace, gwName] = options.gateway.includes('/') ? options.gateway.split('/', 2) : [undefined, options.gateway];
    this.gatewayRef = { name: gwName!, ...(gwNamespace ? { namespace: gwNamespace } : {}) };
    this.client = new KubeClient(options.credentials ?? {});
    this.description = `HTTPRoute ${options.namespace}/${options.name}`;
    this.state = new AnnotationStateStore(this.client, this.routePath(), this.description, options.namespace, `ferry-${options.name}`);
  }

  private routePath(): string {
    return `/apis/gateway.networking.k8s.io/v1/namespaces/${this.o.namespace}/httproutes/${this.o.name}`;
  }

  private deploymentPath(slot: Slot): string {
    return `/apis/apps/v1/namespaces/${this.o.namespace}/deployments/${this.o.name}-${slot}`;
  }

  private servicePath(slot: Slot): string {
    return `/api/v1/namespaces/${this.o.namespace}/services/${this.o.name}-${slot}`;
  }

  supports(strategy: Strategy): true | string {
    return UNSUPPORTED[strategy] ?? true;
  }

  /** The image a version runs. */
  imageOf(version: VersionRef): string {
    return version.digest ? `${this.o.image}@${version.digest}` : `${this.o.image}:${version.name}`;
  }

  /** The objects setVersion applies, for a dry-run listing. */
  manifestsFor(slot: Slot, version: VersionRef): KubeObject[] {
    const labels = { [NAME_LABEL]: this.o.name, [SLOT_LABEL]: slot };
    const annotations = { [VERSION_ANNOTATION]: version.name, [ENDPOINTS_ANNOTATION]: JSON.stringify(version.endpoints), [DIGEST_ANNOTATION]: version.digest ?? '' };
    const name = `${this.o.name}-${slot}`;
    return [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace: this.o.namespace, labels: { ...labels, 'app.kubernetes.io/managed-by': 'ferry' }, annotations },
        spec: {
          replicas: this.o.replicas,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels, annotations: { [VERSION_ANNOTATION]: version.name } },
            spec: {
              containers: [
                {
                  name: 'model',
                  image: this.imageOf(version),
                  ports: [{ name: 'http', containerPort: this.o.port }],
                  readinessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 2 },
                },
              ],
            },
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: this.o.namespace, labels: { ...labels, 'app.kubernetes.io/managed-by': 'ferry' } },
        spec: { selector: labels, ports: [{ name: 'http', port: this.o.port, targetPort: 'http' }] },
      },
    ];
  }

  /** The HTTPRoute setRouting applies. */
  routeFor(weights: Weights): KubeObject {
    return {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: this.o.name, namespace: this.o.namespace, labels: { [NAME_LABEL]: this.o.name, 'app.kubernetes.io/managed-by': 'ferry' } },
      spec: {
        parentRefs: [this.gatewayRef],
        rules: [
          {
            backendRefs: [
              { name: `${this.o.name}-stable`, port: this.o.port, weight: weights.stable },
              { name: `${this.o.name}-canary`, port: this.o.port, weight: weights.canary },
            ],
          },
        ],
      },
    };
  }

  async setVersion(slot: Slot, version: VersionRef): Promise<void> {
    const [deployment, service] = this.manifestsFor(slot, version);
    await this.call(`apply the ${slot} Deployment`, () => this.client.apply(this.deploymentPath(slot), deployment!, { force: true }));
    await this.call(`apply the ${slot} Service`, () => this.client.apply(this.servicePath(slot), service!, { force: true }));
    // No traffic moves to a Deployment that is not available with this version.
    const deadline = Date.now() + this.o.readyTimeoutMs;
    let why = 'not read yet';
    for (;;) {
      const live = await this.client.get(this.deploymentPath(slot));
      why = live === null ? 'it was deleted' : (notAvailable(live) ?? '');
      if (why === '') return;
      if (Date.now() >= deadline) {
        throw new TargetUnavailableError(`Deployment ${this.o.namespace}/${this.o.name}-${slot} did not become available with ${version.name} within ${Math.round(this.o.readyTimeoutMs / 1000)} s: ${why}`);
      }
      await new Promise((resolve) => setTimeout(resolve, this.o.pollIntervalMs));
    }
  }

  async setRouting(weights: Weights, routing: Routing): Promise<void> {
    if (routing.kind !== 'weighted') {
      throw new InputError(`${this.description} cannot apply ${routing.kind} routing: ${routing.kind === 'sticky' ? UNSUPPORTED.ab : UNSUPPORTED.shadow}`, { subject: 'strategy' });
    }
    await this.call('apply the HTTPRoute weights', () => this.client.apply(this.routePath(), this.routeFor(weights), { force: true }));
  }

  async readRouting(): Promise<LiveRouting> {
    const route = await this.call('read the HTTPRoute', () => this.client.get(this.routePath()));
    if (route === null) throw new TargetUnavailableError(`${this.description} does not exist`);
    const generation = route.metadata.generation ?? 0;
    const parents = (route.status?.parents ?? []) as RouteParentStatus[];
    const ours = parents.find((p) => p.parentRef.name === this.gatewayRef.name && (p.parentRef.namespace ?? this.o.namespace) === (this.gatewayRef.namespace ?? this.o.namespace));
    const accepted = ours?.conditions?.find((c) => c.type === 'Accepted');
    if (accepted?.status !== 'True' || (accepted.observedGeneration ?? -1) < generation) {
      const seen = accepted ? `Accepted=${accepted.status} at generation ${accepted.observedGeneration ?? '?'}${accepted.message ? ` (${accepted.message})` : ''}` : 'no status from the gateway';
      throw new TargetUnavailableError(`gateway ${this.gatewayRef.namespace ? `${this.gatewayRef.namespace}/` : ''}${this.gatewayRef.name} has not accepted generation ${generation} of ${this.description}: ${seen}`);
    }
    const refs = ((route.spec?.rules ?? []) as { backendRefs?: BackendRef[] }[]).flatMap((r) => r.backendRefs ?? []);
    const weightOf = (slot: Slot) => refs.filter((r) => r.name === `${this.o.name}-${slot}`).reduce((sum, r) => sum + (r.weight ?? 1), 0);
    const others = refs.filter((r) => r.name !== `${this.o.name}-stable` && r.name !== `${this.o.name}-canary` && (r.weight ?? 1) > 0);
    if (others.length > 0) {
      throw new InputError(`${this.description} also sends traffic to ${others.map((r) => r.name).join(', ')}, neither ${this.o.name}-stable nor ${this.o.name}-canary: the split between the two cannot be read`, { subject: 'name' });
    }
    const stable = weightOf('stable');
    const canary = weightOf('canary');
    if (stable + canary === 0) throw new TargetUnavailableError(`${this.description} sends traffic nowhere: both backends have weight 0`);
    const canaryShare = Math.round((100 * canary) / (stable + canary));
    const [stableSlot, canarySlot] = await Promise.all((['stable', 'canary'] as const).map((slot) => this.slotVersion(slot)));
    return {
      weights: { stable: 100 - canaryShare, canary: canaryShare },
      routing: { kind: 'weighted' },
      endpoints: { stable: stableSlot?.endpoints ?? [], canary: canarySlot?.endpoints ?? [] },
      versions: { stable: stableSlot, canary: canarySlot },
    };
  }

  /** The version a slot's Deployment serves, only once it is available with it. */
  private async slotVersion(slot: Slot): Promise<VersionRef | null> {
    const deployment = await this.call(`read the ${slot} Deployment`, () => this.client.get(this.deploymentPath(slot)));
    if (deployment === null || notAvailable(deployment) !== undefined) return null;
    const a = deployment.metadata.annotations ?? {};
    if (!a[VERSION_ANNOTATION]) return null;
    let endpoints: string[] = [];
    try {
      endpoints = JSON.parse(a[ENDPOINTS_ANNOTATION] ?? '[]') as string[];
    } catch {
      endpoints = [];
    }
    return { name: a[VERSION_ANNOTATION], endpoints, ...(a[DIGEST_ANNOTATION] ? { digest: a[DIGEST_ANNOTATION] } : {}) };
  }

  private async call<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof KubeApiError) {
        if (error.status === 401 || error.status === 403) {
          throw new InputError(`could not ${what} of ${this.description}: ${error.message}`, { subject: 'kubeconfig', hint: 'the credentials need the Role in the README (Deployments, Services, HTTPRoutes, Leases)' });
        }
        if (error.status === 422 || error.status === 400 || error.reason === 'Invalid') throw new InputError(`the API server refused to ${what} of ${this.description}: ${error.message}`, { subject: 'target' });
        throw new TargetUnavailableError(`could not ${what} of ${this.description}: ${error.message}`);
      }
      throw error;
    }
  }

  async close(): Promise<void> {
    // One request at a time over node:https; nothing stays open.
  }
}

/** Why a Deployment is not available with its current spec, or undefined when it is. */
export function notAvailable(deployment: KubeObject): string | undefined {
  const status = deployment.status ?? {};
  const wanted = deployment.spec?.replicas ?? 1;
  if ((status.observedGeneration ?? 0) < (deployment.metadata.generation ?? 0)) return `the controller has not seen generation ${deployment.metadata.generation} yet`;
  if ((status.updatedReplicas ?? 0) < wanted) return `${status.updatedReplicas ?? 0} of ${wanted} replicas run the new template`;
  if ((status.availableReplicas ?? 0) < wanted) return `${status.availableReplicas ?? 0} of ${wanted} replicas are available`;
  const progressing = (status.conditions ?? []).find((c: { type: string }) => c.type === 'Progressing') as { status: string; reason?: string; message?: string } | undefined;
  if (progressing?.status === 'False') return `progress stopped: ${progressing.reason ?? ''} ${progressing.message ?? ''}`.trim();
  return undefined;
}
