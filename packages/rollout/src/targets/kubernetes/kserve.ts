// The kserve rollout target: a KServe InferenceService (serving.kserve.io/v1beta1) whose predictor
// carries the versions, in the form the service's deployment mode supports.
//
// - Serverless (Knative): the canary's share goes in spec.predictor.canaryTrafficPercent. KServe
//   then splits between the latest ready revision (the canary) and the previously rolled-out one
//   (stable), and reports the split in status.components.predictor.traffic, which is what counts
//   as live. Promote removes the field (the latest revision takes everything); an abort sets it to 0
//   and then restores the previous predictor spec, keeping the field at 0 until the restored
//   revision is ready, since Knative sends "latest" traffic to the latest *ready* revision, which
//   would otherwise be the rejected canary for a moment.
// - RawDeployment / Standard: KServe ignores canaryTrafficPercent there, so Ferry never uses it. It
//   uses spec.canary (KServe 0.20+: a named canary predictor with trafficPercent, reported in
//   status.canaryStatuses) where the cluster's CRD has it, and otherwise fails with exit 2 before
//   touching anything.
//
// Ferry owns only the fields it applies (server-side apply, field manager `ferry`): the model's
// storageUri and modelFormat (or the serving container's image), the canary fields and the
// scaling settings given as inputs. Everything else in the predictor stays the user's.
//
// The rollout record and what each slot serves are kept on a ConfigMap `ferry-<name>` owned by the
// InferenceService, not on the InferenceService itself: KServe copies the service's annotations
// into the predictor's pod template, so every record write would start a new revision (Serverless)
// or roll the pods (RawDeployment).
import { InputError } from '@ferry/core';
import type { StateStore } from '../../state/store.js';
import { TargetUnavailableError } from '../../target/types.js';
import type { LiveRouting, Routing, Slot, Strategy, Target, VersionRef, Weights } from '../../target/types.js';
import { KubeApiError, KubeClient, kubeStepError, translatedStore, type KubeCredentials, type KubeObject } from './client.js';
import type { ScalingOptions } from './scaling.js';
import type { PlannedChange, PlannedMove } from './dry-run.js';
import { AnnotationStateStore } from './state.js';

export interface KServeTargetOptions {
  readonly credentials?: KubeCredentials;
  readonly namespace: string;
  /** Name of the InferenceService. */
  readonly name: string;
  /** Where a version's model is stored; {version} is replaced by the version's name. Else the image runs. */
  readonly storageUri?: string;
  /** modelFormat name for storageUri. Default onnx. */
  readonly modelFormat?: string;
  /** Image repository of the serving image (build-serving-image): <image>@<digest>, or <image>:<version>. */
  readonly image?: string;
  /** Port the serving image listens on. Default 8080. */
  readonly port?: number;
  /** How long the predictor may take to become ready with a new version. Default 300 s. */
  readonly readyTimeoutMs?: number;
  /** How often readiness is polled. Default 1 s. */
  readonly pollIntervalMs?: number;
  readonly scaling?: ScalingOptions;
}

export type KServeMode = 'serverless' | 'raw';

const MODE_ANNOTATION = 'serving.kserve.io/deploymentMode';
const SLOTS_ANNOTATION = 'ferry.dev/kserve-slots';
const CONTAINER = 'kserve-container';

/** What a slot serves: the version, and where KServe runs it (a revision, or a canary predictor name). */
interface SlotState {
  readonly version: VersionRef;
  /** Serverless: the Knative revision; raw: the predictor's name. Empty until it is ready. */
  readonly revision: string;
  /**
   * The predictor fields as they were before Ferry's first rollout here, when the stable version
   * was not applied by Ferry (its storage URI or image is then not derivable from its name).
   */
  readonly predictor?: Record<string, unknown>;
}

interface Slots {
  stable: SlotState | null;
  canary: SlotState | null;
}

interface TrafficEntry {
  revisionName?: string;
  latestRevision?: boolean;
  percent?: number;
  tag?: string;
}

interface CanaryStatus {
  name: string;
  ready: boolean;
  trafficPercent: number;
}

const UNSUPPORTED: Partial<Record<Strategy, string>> = {
  ab: 'the kserve target splits by weight only; header- or cookie-sticky A/B routing needs the local target',
  shadow: 'the kserve target does not mirror requests; shadow runs need the local target',
};

export class KServeTarget implements Target {
  readonly kind = 'kserve';
  readonly description: string;
  readonly state: StateStore;
  readonly client: KubeClient;
  private readonly o: Required<Omit<KServeTargetOptions, 'credentials' | 'storageUri' | 'image'>> & Pick<KServeTargetOptions, 'storageUri' | 'image'>;
  private mode: KServeMode | undefined;

  constructor(options: KServeTargetOptions) {
    for (const key of ['namespace', 'name'] as const) {
      if (!options[key]) throw new InputError(`the kserve target needs ${key === 'name' ? 'inference-service' : key}`, { subject: key === 'name' ? 'inference-service' : key });
    }
    if (!options.storageUri && !options.image) throw new InputError('the kserve target needs storage-uri or image: what the predictor runs for a version', { subject: 'storage-uri' });
    this.o = { modelFormat: 'onnx', port: 8080, readyTimeoutMs: 300_000, pollIntervalMs: 1_000, scaling: {}, ...options };
    this.client = new KubeClient(options.credentials ?? {});
    this.description = `InferenceService ${options.namespace}/${options.name}`;
    const store = new AnnotationStateStore(this.client, this.configMapPath(), `ConfigMap ${options.namespace}/ferry-${options.name} (of ${this.description})`, options.namespace, `ferry-${options.name}`, () =>
      this.createConfigMap(),
    );
    this.state = translatedStore(store, (what, work) => this.call(what, work));
  }

  private isvcPath(): string {
    return `/apis/serving.kserve.io/v1beta1/namespaces/${this.o.namespace}/inferenceservices/${this.o.name}`;
  }

  private configMapPath(): string {
    return `/api/v1/namespaces/${this.o.namespace}/configmaps/ferry-${this.o.name}`;
  }

  supports(strategy: Strategy): true | string {
    return UNSUPPORTED[strategy] ?? true;
  }

  /**
   * The predictor fields Ferry owns for a version (without canary fields). A raw-mode canary
   * predictor gets no scaling fields: KServe runs it at fixed replicas sized to its traffic share.
   */
  predictorFor(version: VersionRef, o: { rawCanary?: boolean } = {}): Record<string, unknown> {
    const s = o.rawCanary ? {} : this.o.scaling;
    const scaling = {
      ...(s.minReplicas !== undefined ? { minReplicas: s.minReplicas } : {}),
      ...(s.maxReplicas !== undefined ? { maxReplicas: s.maxReplicas } : {}),
      ...(s.scaleTarget !== undefined ? { scaleTarget: s.scaleTarget } : {}),
      ...(s.scaleMetric !== undefined ? { scaleMetric: s.scaleMetric } : {}),
    };
    if (this.o.storageUri) {
      // A raw canary's model is a container in KServe 0.20's CRD, whose name is required there.
      const model = { ...(o.rawCanary ? { name: CONTAINER } : {}), modelFormat: { name: this.o.modelFormat }, storageUri: this.o.storageUri.replaceAll('{version}', version.name) };
      return { model, ...scaling };
    }
    const image = version.digest ? `${this.o.image}@${version.digest}` : `${this.o.image}:${version.name}`;
    return { containers: [{ name: CONTAINER, image, ports: [{ containerPort: this.o.port, protocol: 'TCP' }] }], ...scaling };
  }

  /** Name of a version's canary predictor (raw mode): a DNS label derived from the version. */
  static canaryName(version: string): string {
    const cleaned = version.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
    const name = /^[a-z]/.test(cleaned) ? cleaned : `v-${cleaned}`;
    return name.slice(0, 40).replace(/-+$/, '') || 'canary';
  }

  /** The InferenceService manifest Ferry applies: only the fields it owns. */
  manifest(predictor: Record<string, unknown>, extra: { canaryTrafficPercent?: number; canary?: unknown[] } = {}): KubeObject {
    const spec: Record<string, unknown> = {
      predictor: { ...predictor, ...(extra.canaryTrafficPercent !== undefined ? { canaryTrafficPercent: extra.canaryTrafficPercent } : {}) },
      ...(extra.canary ? { canary: extra.canary } : {}),
    };
    return { apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata: { name: this.o.name, namespace: this.o.namespace }, spec };
  }

  /** The live InferenceService; it must exist (Ferry changes a served model, it does not create the service). */
  private async live(): Promise<KubeObject> {
    const isvc = await this.call('read', () => this.client.get(this.isvcPath()));
    if (isvc === null) {
      throw new InputError(`${this.description} does not exist: create it serving the stable version first; Ferry changes the model an existing service runs`, { subject: 'inference-service' });
    }
    return isvc;
  }

  /** The deployment mode, from the annotation or the controller's status; anything unclear is refused. */
  async deploymentMode(isvc?: KubeObject): Promise<KServeMode> {
    if (this.mode) return this.mode;
    const object = isvc ?? (await this.live());
    const declared = object.metadata.annotations?.[MODE_ANNOTATION] ?? (object.status?.deploymentMode as string | undefined);
    if (declared === 'Serverless') this.mode = 'serverless';
    else if (declared === 'RawDeployment' || declared === 'Standard') this.mode = 'raw';
    else if (declared === 'ModelMesh') {
      throw new InputError(`${this.description} runs in ModelMesh mode, where KServe has no per-service traffic split; use a Serverless or RawDeployment service, or the gateway-api target`, { subject: 'inference-service' });
    } else if (declared === undefined) {
      throw new InputError(
        `${this.description} names no deployment mode (no ${MODE_ANNOTATION} annotation, and the controller has not reported status.deploymentMode): Ferry will not guess, because canaryTrafficPercent is silently ignored in RawDeployment mode`,
        { subject: 'inference-service', hint: `set the ${MODE_ANNOTATION} annotation (Serverless, RawDeployment or Standard)` },
      );
    } else {
      throw new InputError(`${this.description} has deployment mode "${declared}", which this build of Ferry does not know (Serverless, RawDeployment, Standard)`, { subject: 'inference-service' });
    }
    return this.mode;
  }

  private async createConfigMap(): Promise<void> {
    const isvc = await this.live();
    try {
      await this.client.create(`/api/v1/namespaces/${this.o.namespace}/configmaps`, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: `ferry-${this.o.name}`,
          labels: { 'app.kubernetes.io/managed-by': 'ferry', 'app.kubernetes.io/name': this.o.name },
          // Deleted with the InferenceService, never blocking its deletion.
          ownerReferences: [{ apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', name: this.o.name, uid: isvc.metadata.uid as string, blockOwnerDeletion: false }],
        },
        data: { README: `Ferry's rollout record for ${this.description}: see the ferry.dev/* annotations.` },
      });
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 409)) throw this.translate('create the ConfigMap for the rollout record', error);
    }
  }

  private async readSlots(): Promise<Slots> {
    const cm = await this.call('read the slots', () => this.client.get(this.configMapPath()));
    const text = cm?.metadata.annotations?.[SLOTS_ANNOTATION];
    if (!text) return { stable: null, canary: null };
    try {
      const parsed = JSON.parse(text) as Slots;
      return { stable: parsed.stable ?? null, canary: parsed.canary ?? null };
    } catch {
      throw new TargetUnavailableError(`annotation ${SLOTS_ANNOTATION} of ConfigMap ${this.o.namespace}/ferry-${this.o.name} is not valid JSON; remove it to start over`);
    }
  }

  private async writeSlots(slots: Slots): Promise<void> {
    if ((await this.client.get(this.configMapPath())) === null) await this.createConfigMap();
    await this.call('record the slots', () => this.client.mergePatch(this.configMapPath(), { metadata: { annotations: { [SLOTS_ANNOTATION]: JSON.stringify(slots) } } }));
  }

  private async apply(what: string, object: KubeObject): Promise<KubeObject> {
    return this.call(what, () => this.client.apply(this.isvcPath(), object, { force: true }));
  }

  async setVersion(slot: Slot, version: VersionRef): Promise<void> {
    const isvc = await this.live();
    const mode = await this.deploymentMode(isvc);
    const slots = await this.readSlots();
    if (slot === 'canary') return mode === 'serverless' ? this.serverlessCanary(isvc, slots, version) : this.rawCanary(isvc, slots, version);
    // The stable slot is only re-pointed while the canary carries everything (promote, or a
    // rollback through the canary slot): the version must be the one in the canary slot.
    if (!slots.canary || slots.canary.version.name !== version.name || slots.canary.revision === '') {
      throw new TargetUnavailableError(`${this.description} cannot make ${version.name} stable: it is not the ready canary (canary slot: ${slots.canary ? slots.canary.version.name : 'empty'})`);
    }
    if (mode === 'serverless') {
      // Promote: without canaryTrafficPercent the latest revision (the canary's) takes everything.
      await this.apply('promote the canary revision', this.manifest(this.predictorFor(version)));
      await this.writeSlots({ stable: { version, revision: slots.canary.revision }, canary: null });
      return;
    }
    // Raw: the stable predictor takes the canary's name, so KServe retargets it to the canary's
    // Deployment without a restart, and the canary entry goes away.
    await this.apply('promote the canary predictor', this.manifest({ name: slots.canary.revision, ...this.predictorFor(version) }));
    await this.writeSlots({ stable: { version, revision: slots.canary.revision }, canary: null });
  }

  private async serverlessCanary(isvc: KubeObject, slots: Slots, version: VersionRef): Promise<void> {
    const predictorStatus = isvc.status?.components?.predictor ?? {};
    const stable: SlotState = slots.stable ?? { version: { name: '', endpoints: [] }, revision: (predictorStatus.latestRolledoutRevision as string | undefined) ?? '', predictor: this.snapshot(isvc) };
    if (!stable.revision) throw new TargetUnavailableError(`${this.description} has no rolled-out revision yet (status.components.predictor.latestRolledoutRevision is empty): wait until the stable version serves`);
    // Intent first, so a job killed after the apply finds the canary slot not ready and re-points it.
    await this.writeSlots({ stable, canary: { version, revision: '' } });
    const applied = await this.apply(`point the canary at ${version.name}`, this.manifest(this.predictorFor(version), { canaryTrafficPercent: 0 }));
    const generation = applied.metadata.generation ?? 0;
    try {
      const revision = await this.waitFor(`the predictor revision of ${version.name} to become ready`, (live) => {
        const p = live.status?.components?.predictor ?? {};
        if ((live.status?.observedGeneration ?? 0) < generation) return { wait: `the controller has not seen generation ${generation} yet` };
        const created = p.latestCreatedRevision as string | undefined;
        if (!created || created === stable.revision) return { wait: 'no new revision yet' };
        if (p.latestReadyRevision === created) return { done: created };
        return { wait: `revision ${created} is not ready${conditionText(live, ['PredictorReady', 'LatestDeploymentReady', 'PredictorConfigurationReady'])}` };
      });
      await this.writeSlots({ stable, canary: { version, revision } });
    } catch (error) {
      // Never ready: the spec goes back to stable. The canary revision never became ready, so the
      // latest ready revision is still stable's and nothing moves.
      await this.restoreStableSpec(stable, { keepZero: false }).catch(() => undefined);
      throw error;
    }
  }

  private async rawCanary(isvc: KubeObject, slots: Slots, version: VersionRef): Promise<void> {
    const stable: SlotState = slots.stable ?? { version: { name: '', endpoints: [] }, revision: (isvc.spec?.predictor?.name as string | undefined) ?? '', predictor: this.snapshot(isvc) };
    const name = KServeTarget.canaryName(version.name);
    if (name === stable.revision) throw new InputError(`version ${version.name} maps to the canary predictor name "${name}", which the stable predictor already has; give the version a different name`, { subject: 'version' });
    await this.writeSlots({ stable, canary: { version, revision: '' } });
    let applied: KubeObject;
    try {
      applied = await this.apply(`add the canary predictor for ${version.name}`, this.manifest(this.stablePredictor(stable), { canary: [{ trafficPercent: 0, predictor: { name, ...this.predictorFor(version, { rawCanary: true }) } }] }));
    } catch (error) {
      if (error instanceof InputError && /canary/.test(error.message) && /not declared|unknown field/.test(error.message)) {
        await this.writeSlots({ stable, canary: null });
        throw new InputError(
          `${this.description} runs in RawDeployment mode, where KServe ignores canaryTrafficPercent, and this cluster's InferenceService CRD has no spec.canary (KServe 0.20 or newer): Ferry cannot split its traffic, and changed nothing`,
          { subject: 'target', hint: 'upgrade KServe to 0.20+, run the service in Serverless mode, or use the gateway-api target' },
        );
      }
      throw error;
    }
    const generation = applied.metadata.generation ?? 0;
    try {
      await this.waitFor(`canary predictor ${name} (${version.name}) to become ready`, (live) => {
        if ((live.status?.observedGeneration ?? 0) < generation) return { wait: `the controller has not seen generation ${generation} yet` };
        const found = ((live.status?.canaryStatuses ?? []) as CanaryStatus[]).find((c) => c.name === name);
        if (found?.ready) return { done: name };
        return { wait: found ? `canary ${name} is not ready${conditionText(live, ['CanaryReady'])}` : `no status for canary ${name} yet` };
      });
      await this.writeSlots({ stable, canary: { version, revision: name } });
    } catch (error) {
      await this.apply('remove the canary predictor that never became ready', this.manifest(this.stablePredictor(stable))).catch(() => undefined);
      await this.writeSlots({ stable, canary: null }).catch(() => undefined);
      throw error;
    }
  }

  /** Stable's predictor fields as Ferry applies them (raw mode: with its predictor name). */
  private stablePredictor(stable: SlotState): Record<string, unknown> {
    const fields = stable.predictor ?? this.predictorFor(stable.version);
    return this.mode === 'raw' && stable.revision ? { name: stable.revision, ...fields } : fields;
  }

  /** The live predictor's model location (storageUri or image), as it is before Ferry's first change. */
  private snapshot(isvc: KubeObject): Record<string, unknown> {
    const predictor = (isvc.spec?.predictor ?? {}) as { model?: { modelFormat?: unknown; storageUri?: string }; containers?: { name: string; image?: string }[] };
    if (predictor.model?.storageUri) return { model: { modelFormat: predictor.model.modelFormat, storageUri: predictor.model.storageUri } };
    const container = predictor.containers?.find((c) => c.name === CONTAINER) ?? predictor.containers?.[0];
    if (container?.image) return { containers: [{ name: container.name, image: container.image }] };
    throw new InputError(`${this.description}'s predictor has neither model.storageUri nor a container image, so Ferry could not put it back after a rollback; give it one of them`, { subject: 'inference-service' });
  }

  async setRouting(weights: Weights, routing: Routing): Promise<void> {
    if (routing.kind !== 'weighted') {
      throw new InputError(`${this.description} cannot apply ${routing.kind} routing: ${routing.kind === 'sticky' ? UNSUPPORTED.ab : UNSUPPORTED.shadow}`, { subject: 'strategy' });
    }
    const mode = await this.deploymentMode();
    const slots = await this.readSlots();
    if (!slots.canary || slots.canary.revision === '') {
      if (weights.canary !== 0) throw new TargetUnavailableError(`${this.description} has no ready canary to send ${weights.canary}% to`);
      return;
    }
    if (mode === 'serverless') {
      await this.apply(`set canaryTrafficPercent to ${weights.canary}`, this.manifest(this.predictorFor(slots.canary.version), { canaryTrafficPercent: weights.canary }));
      return;
    }
    const stable = slots.stable!;
    await this.apply(`set the canary's trafficPercent to ${weights.canary}`, this.manifest(this.stablePredictor(stable), { canary: [{ trafficPercent: weights.canary, predictor: { name: slots.canary.revision, ...this.predictorFor(slots.canary.version, { rawCanary: true }) } }] }));
  }

  async readRouting(): Promise<LiveRouting> {
    const isvc = await this.live();
    const mode = await this.deploymentMode(isvc);
    const slots = await this.readSlots();
    if ((isvc.status?.observedGeneration ?? 0) < (isvc.metadata.generation ?? 0)) {
      throw new TargetUnavailableError(`the KServe controller has not reconciled generation ${isvc.metadata.generation} of ${this.description} yet`);
    }
    const canaryReady = slots.canary && slots.canary.revision !== '' ? slots.canary : null;
    let canary = 0;
    if (mode === 'serverless') {
      const traffic = (isvc.status?.components?.predictor?.traffic ?? []) as TrafficEntry[];
      const total = traffic.reduce((sum, t) => sum + (t.percent ?? 0), 0);
      if (traffic.length === 0 || total !== 100) {
        throw new TargetUnavailableError(`${this.description} reports no complete traffic split in status.components.predictor.traffic (${JSON.stringify(traffic)})`);
      }
      const known = [slots.stable?.revision, canaryReady?.revision].filter((r): r is string => !!r);
      const elsewhere = traffic.filter((t) => (t.percent ?? 0) > 0 && !known.includes(t.revisionName ?? ''));
      if (slots.stable && elsewhere.length > 0) {
        throw new TargetUnavailableError(`${this.description} sends ${elsewhere.map((t) => `${t.percent}% to revision ${t.revisionName}`).join(', ')}, which is neither stable's (${slots.stable.revision}) nor the canary's (${canaryReady?.revision ?? 'none'})`);
      }
      if (canaryReady) canary = traffic.filter((t) => t.revisionName === canaryReady.revision).reduce((sum, t) => sum + (t.percent ?? 0), 0);
    } else if (canaryReady) {
      const found = ((isvc.status?.canaryStatuses ?? []) as CanaryStatus[]).find((c) => c.name === canaryReady.revision);
      canary = found?.ready ? found.trafficPercent : 0;
    }
    return {
      weights: { stable: 100 - canary, canary },
      routing: { kind: 'weighted' },
      endpoints: { stable: slots.stable?.version.endpoints ?? [], canary: canaryReady?.version.endpoints ?? [] },
      versions: { stable: slots.stable?.version.name ? slots.stable.version : null, canary: canaryReady?.version ?? null },
    };
  }

  /** The InferenceService as the move would leave it, for a dry run (dry-run.ts); reads, never writes. */
  async plannedObjects(move: PlannedMove): Promise<PlannedChange[]> {
    const isvc = await this.live();
    const mode = await this.deploymentMode(isvc);
    const slots = await this.readSlots();
    const path = this.isvcPath();
    if (move.step === 'canary-deploy') {
      if (mode === 'serverless') return [{ path, object: this.manifest(this.predictorFor(move.canary), { canaryTrafficPercent: move.weights.canary }) }];
      const stable = slots.stable ?? { version: { name: '', endpoints: [] }, revision: (isvc.spec?.predictor?.name as string | undefined) ?? '', predictor: this.snapshot(isvc) };
      const canary = { trafficPercent: move.weights.canary, predictor: { name: KServeTarget.canaryName(move.canary.name), ...this.predictorFor(move.canary, { rawCanary: true }) } };
      return [{ path, object: this.manifest(this.stablePredictor(stable), { canary: [canary] }) }];
    }
    const fields = this.predictorFor(move.to);
    return [{ path, object: this.manifest(mode === 'raw' ? { name: KServeTarget.canaryName(move.to.name), ...fields } : fields) }];
  }

  /**
   * After all traffic is verified back on stable (an abort; after promote and rollback the canary
   * slot is already empty): the predictor spec goes back to stable's. Serverless keeps
   * canaryTrafficPercent at 0 until stable's new revision is ready, then removes it; raw removes
   * the canary entry.
   */
  async retireCanary(): Promise<void> {
    const slots = await this.readSlots();
    if (!slots.canary || !slots.stable) return;
    const live = await this.readRouting();
    if (live.weights.canary !== 0) return; // a promotion or a held canary: nothing to tidy
    await this.restoreStableSpec(slots.stable, { keepZero: (await this.deploymentMode()) === 'serverless' });
  }

  private async restoreStableSpec(stable: SlotState, o: { keepZero: boolean }): Promise<void> {
    if (this.mode === 'raw' || !o.keepZero) {
      await this.apply('restore the stable predictor', this.manifest(this.stablePredictor(stable)));
      await this.writeSlots({ stable, canary: null });
      return;
    }
    const applied = await this.apply('restore the stable predictor at 0%', this.manifest(this.stablePredictor(stable), { canaryTrafficPercent: 0 }));
    await this.writeSlots({ stable, canary: { version: stable.version, revision: '' } });
    const generation = applied.metadata.generation ?? 0;
    const revision = await this.waitFor(`the restored stable revision of ${stable.version.name} to become ready`, (isvc) => {
      const p = isvc.status?.components?.predictor ?? {};
      if ((isvc.status?.observedGeneration ?? 0) < generation) return { wait: `the controller has not seen generation ${generation} yet` };
      const created = p.latestCreatedRevision as string | undefined;
      return created && p.latestReadyRevision === created ? { done: created } : { wait: `revision ${created ?? '?'} is not ready` };
    });
    const final = await this.apply('give the restored stable revision all traffic', this.manifest(this.stablePredictor(stable)));
    await this.writeSlots({ stable: { ...stable, revision }, canary: null });
    await this.waitFor(`the restored stable revision ${revision} to take all traffic`, (isvc) => {
      if ((isvc.status?.observedGeneration ?? 0) < (final.metadata.generation ?? 0)) return { wait: 'the controller has not seen the change yet' };
      const traffic = (isvc.status?.components?.predictor?.traffic ?? []) as TrafficEntry[];
      const on = traffic.filter((t) => t.revisionName === revision).reduce((sum, t) => sum + (t.percent ?? 0), 0);
      return on === 100 ? { done: revision } : { wait: `${on}% on ${revision}` };
    });
  }

  /** Polls the live InferenceService until `check` is done; TargetUnavailableError after ready-timeout. */
  private async waitFor(what: string, check: (isvc: KubeObject) => { done: string } | { wait: string }): Promise<string> {
    const deadline = Date.now() + this.o.readyTimeoutMs;
    let why = 'not read yet';
    for (;;) {
      const isvc = await this.live();
      const result = check(isvc);
      if ('done' in result) return result.done;
      why = result.wait;
      if (Date.now() >= deadline) throw new TargetUnavailableError(`waited ${Math.round(this.o.readyTimeoutMs / 1000)} s for ${what} on ${this.description}: ${why}`);
      await new Promise((resolve) => setTimeout(resolve, this.o.pollIntervalMs));
    }
  }

  private translate(what: string, error: unknown): Error {
    return kubeStepError(error, what, this.description, 'InferenceServices, ConfigMaps, Leases') as Error;
  }

  private async call<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw this.translate(what, error);
    }
  }

  async close(): Promise<void> {
    // One request at a time over node:https; nothing stays open.
  }
}

function conditionText(isvc: KubeObject, types: readonly string[]): string {
  const conditions = (isvc.status?.conditions ?? []) as { type: string; status: string; reason?: string; message?: string }[];
  const failing = conditions.filter((c) => types.includes(c.type) && c.status !== 'True');
  return failing.length === 0 ? '' : ` (${failing.map((c) => `${c.type}=${c.status}${c.reason ? ` ${c.reason}` : ''}${c.message ? `: ${c.message}` : ''}`).join('; ')})`;
}
