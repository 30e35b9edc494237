// The gateway-api rollout target: a stable and a canary Deployment, each behind its own Service,
// and a Gateway API HTTPRoute whose weighted backendRefs split the traffic. Portable across the
// Gateway API implementations (Istio, Envoy Gateway, Cilium, NGINX Gateway Fabric). A slot only
// counts as serving a version once its Deployment reports that version available, and a split
// only counts as live once the gateway has accepted the route's current generation.
import { InputError } from '@ferry/core';
import type { StateStore } from '../../state/store.js';
import { TargetUnavailableError } from '../../target/types.js';
import type { LiveRouting, Routing, Slot, Strategy, Target, VersionRef, Weights } from '../../target/types.js';
import { KubeApiError, KubeClient, kubeStepError, translatedStore, type KubeCredentials, type KubeObject } from './client.js';
import type { DryRunnable, PlannedChange, PlannedMove } from './dry-run.js';
import { AnnotationStateStore } from './state.js';
import { autoscalerMetric, canaryReplicaCount, DEFAULT_UTILISATION_PERCENT, horizontalPodAutoscaler, type ScalingOptions } from './scaling.js';

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
  /** Autoscaling: with maxReplicas, a HorizontalPodAutoscaler per Deployment (cpu or memory utilisation). */
  readonly scaling?: ScalingOptions;
  /** Canary replicas: as many as stable, or stable's times the canary's share (at least 1). Default full. */
  readonly canaryReplicas?: 'full' | 'proportional';
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

export class GatewayApiTarget implements Target, DryRunnable {
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
    this.o = { port: 8080, replicas: 1, readyTimeoutMs: 300_000, pollIntervalMs: 1_000, scaling: {}, canaryReplicas: 'full', ...options };
    // Refused before anything is touched: a metric the autoscalers cannot follow is bad input.
    if (this.o.scaling.maxReplicas !== undefined) autoscalerMetric(this.o.scaling);
    const [gwNamespace, gwName] = options.gateway.includes('/') ? options.gateway.split('/', 2) : [undefined, options.gateway];
    this.gatewayRef = { name: gwName!, ...(gwNamespace ? { namespace: gwNamespace } : {}) };
    this.client = new KubeClient(options.credentials ?? {});
    this.description = `HTTPRoute ${options.namespace}/${options.name}`;
    const store = new AnnotationStateStore(this.client, this.routePath(), this.description, options.namespace, `ferry-${options.name}`);
    // The record is the first thing a step reads: refused credentials must say so there too (exit 2).
    this.state = translatedStore(store, (what, work) => this.call(what, work));
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

  private autoscalerPath(slot: Slot): string {
    return `/apis/autoscaling/v2/namespaces/${this.o.namespace}/horizontalpodautoscalers/${this.o.name}-${slot}`;
  }

  /** With max-replicas, a HorizontalPodAutoscaler owns each Deployment's replicas. */
  private get autoscaled(): boolean {
    return this.o.scaling.maxReplicas !== undefined;
  }

  /** Stable's replica count: its autoscaler's minimum when autoscaled. */
  private get stableReplicas(): number {
    return this.autoscaled ? Math.min(this.o.scaling.minReplicas ?? this.o.replicas, this.o.scaling.maxReplicas!) : this.o.replicas;
  }

  /** Replicas (or the autoscaler's minimum) a slot needs while the canary has `canaryShare` percent. */
  replicasFor(slot: Slot, canaryShare: number): number {
    return slot === 'stable' ? this.stableReplicas : canaryReplicaCount(this.stableReplicas, canaryShare, this.o.canaryReplicas);
  }

  /** The HorizontalPodAutoscaler of a slot's Deployment (only with max-replicas). */
  autoscalerFor(slot: Slot, minReplicas: number): KubeObject {
    return horizontalPodAutoscaler({
      namespace: this.o.namespace,
      deployment: `${this.o.name}-${slot}`,
      labels: { [NAME_LABEL]: this.o.name, [SLOT_LABEL]: slot, 'app.kubernetes.io/managed-by': 'ferry' },
      minReplicas,
      maxReplicas: this.o.scaling.maxReplicas!,
      metric: autoscalerMetric(this.o.scaling),
      utilisationPercent: this.o.scaling.scaleTarget ?? DEFAULT_UTILISATION_PERCENT,
    });
  }

  supports(strategy: Strategy): true | string {
    return UNSUPPORTED[strategy] ?? true;
  }

  /** The image a version runs. */
  imageOf(version: VersionRef): string {
    return version.digest ? `${this.o.image}@${version.digest}` : `${this.o.image}:${version.name}`;
  }

  /**
   * The Deployment and Service setVersion applies. Autoscaled Deployments leave spec.replicas out,
   * so the apply never takes the field back from the HorizontalPodAutoscaler.
   */
  manifestsFor(slot: Slot, version: VersionRef, replicas = this.replicasFor(slot, 0)): KubeObject[] {
    const labels = { [NAME_LABEL]: this.o.name, [SLOT_LABEL]: slot };
    const annotations = { [VERSION_ANNOTATION]: version.name, [ENDPOINTS_ANNOTATION]: JSON.stringify(version.endpoints), [DIGEST_ANNOTATION]: version.digest ?? '' };
    const name = `${this.o.name}-${slot}`;
    return [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace: this.o.namespace, labels: { ...labels, 'app.kubernetes.io/managed-by': 'ferry' }, annotations },
        spec: {
          ...(this.autoscaled ? {} : { replicas }),
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
    // Only ever called at weight 0: a proportional canary starts at its smallest size.
    const replicas = this.replicasFor(slot, 0);
    const [deployment, service] = this.manifestsFor(slot, version, replicas);
    if (this.autoscaled) await this.call(`apply the ${slot} HorizontalPodAutoscaler`, () => this.client.apply(this.autoscalerPath(slot), this.autoscalerFor(slot, replicas), { force: true }));
    else await this.removeOurs(slot, 'HorizontalPodAutoscaler', this.autoscalerPath(slot));
    await this.call(`apply the ${slot} Deployment`, () => this.client.apply(this.deploymentPath(slot), deployment!, { force: true }));
    await this.call(`apply the ${slot} Service`, () => this.client.apply(this.servicePath(slot), service!, { force: true }));
    // No traffic moves to a Deployment that is not available with this version.
    await this.waitAvailable(slot, version.name, 0);
  }

  /** Waits until a slot's Deployment is available with its current spec and at least `atLeast` replicas. */
  private async waitAvailable(slot: Slot, versionName: string, atLeast: number): Promise<void> {
    const deadline = Date.now() + this.o.readyTimeoutMs;
    let why = 'not read yet';
    for (;;) {
      const live = await this.call(`read the ${slot} Deployment`, () => this.client.get(this.deploymentPath(slot)));
      why = live === null ? 'it was deleted' : (notAvailable(live) ?? ((live.spec?.replicas ?? 1) < atLeast ? `${live.spec?.replicas ?? 1} of ${atLeast} replicas wanted so far` : ''));
      if (why === '') return;
      if (Date.now() >= deadline) {
        throw new TargetUnavailableError(`Deployment ${this.o.namespace}/${this.o.name}-${slot} did not become available with ${versionName}${atLeast > 1 ? ` at ${atLeast} replicas` : ''} within ${Math.round(this.o.readyTimeoutMs / 1000)} s: ${why}`);
      }
      await new Promise((resolve) => setTimeout(resolve, this.o.pollIntervalMs));
    }
  }

  /** Deletes one of our objects (labelled managed-by ferry) if it exists; another tool's is left alone. */
  private async removeOurs(slot: Slot, kind: string, path: string): Promise<void> {
    const live = await this.call(`read the ${slot} ${kind}`, () => this.readUnlessForbidden(kind, path));
    if (live === null || live.metadata.labels?.['app.kubernetes.io/managed-by'] !== 'ferry') return;
    await this.call(`delete the ${slot} ${kind}`, () => this.client.delete(path));
  }

  async setRouting(weights: Weights, routing: Routing): Promise<void> {
    if (routing.kind !== 'weighted') {
      throw new InputError(`${this.description} cannot apply ${routing.kind} routing: ${routing.kind === 'sticky' ? UNSUPPORTED.ab : UNSUPPORTED.shadow}`, { subject: 'strategy' });
    }
    // A proportional canary grows (and is available) before its share rises, and shrinks after it fell.
    const resize = this.o.canaryReplicas === 'proportional' ? await this.canaryResize(weights.canary) : undefined;
    if (resize && resize.wanted > resize.current) {
      await resize.apply();
      await this.waitAvailable('canary', resize.version, resize.wanted);
    }
    await this.call('apply the HTTPRoute weights', () => this.client.apply(this.routePath(), this.routeFor(weights), { force: true }));
    if (resize && resize.wanted < resize.current) await resize.apply();
  }

  /** How the canary's size would change for `canaryShare`, or undefined when there is no canary Deployment. */
  private async canaryResize(canaryShare: number): Promise<{ current: number; wanted: number; version: string; apply: () => Promise<unknown> } | undefined> {
    const live = await this.call('read the canary Deployment', () => this.client.get(this.deploymentPath('canary')));
    const version = live === null ? null : versionOf(live);
    if (live === null || version === null) return undefined;
    const wanted = this.replicasFor('canary', canaryShare);
    if (this.autoscaled) {
      const hpa = await this.call('read the canary HorizontalPodAutoscaler', () => this.client.get(this.autoscalerPath('canary')));
      const current = (hpa?.spec?.minReplicas as number | undefined) ?? 0;
      return { current, wanted, version: version.name, apply: () => this.call('resize the canary HorizontalPodAutoscaler', () => this.client.apply(this.autoscalerPath('canary'), this.autoscalerFor('canary', wanted), { force: true })) };
    }
    const current = (live.spec?.replicas as number | undefined) ?? 1;
    const [deployment] = this.manifestsFor('canary', version, wanted);
    return { current, wanted, version: version.name, apply: () => this.call('resize the canary Deployment', () => this.client.apply(this.deploymentPath('canary'), deployment!, { force: true })) };
  }

  /**
   * After a verified promote or rollback, the canary slot serves nothing and runs a version the
   * stable slot runs too: its Deployment and autoscaler go, so they hold no capacity. The Service
   * and the route's backendRef (weight 0) stay; the next canary-deploy recreates the Deployment.
   */
  async retireCanary(): Promise<void> {
    await this.removeOurs('canary', 'HorizontalPodAutoscaler', this.autoscalerPath('canary'));
    await this.removeOurs('canary', 'Deployment', this.deploymentPath('canary'));
  }

  /**
   * A GET; without max-replicas, credentials that may not read autoscalers (a Role from before
   * autoscaling) cannot have made one either, so a 403 there reads as "none".
   */
  private async readUnlessForbidden(kind: string, path: string): Promise<KubeObject | null> {
    try {
      return await this.client.get(path);
    } catch (error) {
      if (kind === 'HorizontalPodAutoscaler' && !this.autoscaled && error instanceof KubeApiError && error.status === 403) return null;
      throw error;
    }
  }

  async plannedObjects(move: PlannedMove): Promise<PlannedChange[]> {
    const changes: PlannedChange[] = [];
    const slot: Slot = move.step === 'canary-deploy' ? 'canary' : 'stable';
    const version = move.step === 'canary-deploy' ? move.canary : move.to;
    const share = move.step === 'canary-deploy' ? move.weights.canary : 0;
    const replicas = this.replicasFor(slot, share);
    const [deployment, service] = this.manifestsFor(slot, version, replicas);
    if (this.autoscaled) changes.push({ path: this.autoscalerPath(slot), object: this.autoscalerFor(slot, replicas) });
    else if (await this.isOurs(this.autoscalerPath(slot), 'HorizontalPodAutoscaler')) changes.push({ path: this.autoscalerPath(slot), delete: true, kind: 'HorizontalPodAutoscaler', name: `${this.o.namespace}/${this.o.name}-${slot}` });
    changes.push({ path: this.deploymentPath(slot), object: deployment! }, { path: this.servicePath(slot), object: service! });
    changes.push({ path: this.routePath(), object: this.routeFor(move.step === 'canary-deploy' ? move.weights : { stable: 100, canary: 0 }) });
    if (move.step !== 'canary-deploy') {
      for (const [kind, path] of [['HorizontalPodAutoscaler', this.autoscalerPath('canary')], ['Deployment', this.deploymentPath('canary')]] as const) {
        if (await this.isOurs(path, kind)) changes.push({ path, delete: true, kind, name: `${this.o.namespace}/${this.o.name}-canary` });
      }
    }
    return changes;
  }

  private async isOurs(path: string, kind = 'Deployment'): Promise<boolean> {
    const live = await this.call('read the live objects', () => this.readUnlessForbidden(kind, path));
    return live !== null && live.metadata.labels?.['app.kubernetes.io/managed-by'] === 'ferry';
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
    return versionOf(deployment);
  }

  private async call<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw kubeStepError(error, what, this.description, 'Deployments, Services, HTTPRoutes, HorizontalPodAutoscalers, Leases');
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

/** The version a Deployment of ours was applied with, from its annotations. */
function versionOf(deployment: KubeObject): VersionRef | null {
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
