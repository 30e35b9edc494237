// Plays the KServe controller (and Knative under it) on the test API server, as envtest-based
// controller tests do: no controller runs there, so status follows spec a moment after each change,
// by the rules KServe itself applies (pkg/controller/v1beta1/inferenceservice/reconcilers/knative
// and InferenceServiceStatus.PropagateStatus, KServe 0.16–0.20):
// - Serverless: a change of the predictor's pod template (anything but canaryTrafficPercent, and
//   the service's annotations, which KServe copies into the template) creates a new revision. With
//   canaryTrafficPercent set and a rolled-out revision, traffic is split between the latest ready
//   revision (that percent) and the last rolled-out one ("prev"); without it, the latest ready
//   revision takes 100%. A revision is rolled out once it has 100% as the latest revision.
// - RawDeployment/Standard with spec.canary: status.canaryStatuses reports each canary's readiness
//   and its share (0 while not ready).
// Revisions or canaries whose model matches `neverReady` never become ready.
import { createHash } from 'node:crypto';
import type { KubeApiserverComponent } from './components/index.js';

export interface KServeControllerOptions {
  readonly namespace: string;
  /** A predictor (its JSON) matching this never becomes ready. */
  readonly neverReady?: (predictorJson: string) => boolean;
  /** Services (by name) the controller leaves alone, as before it first reconciles them. */
  readonly ignore?: ReadonlySet<string>;
}

export interface KServeController {
  stop(): Promise<void>;
  /** Every revision created so far for a service, oldest first. */
  revisions(isvc: string): string[];
}

interface Revision {
  name: string;
  hash: string;
  ready: boolean;
}

interface ServiceState {
  revisions: Revision[];
  latestRolledout: string;
  previousRolledout: string;
}

interface Traffic {
  revisionName: string;
  latestRevision: boolean;
  percent: number;
  tag?: string;
}

const DISALLOWED_ANNOTATIONS = ['kubectl.kubernetes.io/last-applied-configuration', 'autoscaling.knative.dev/min-scale', 'autoscaling.knative.dev/max-scale'];

export function startKServeController(kube: KubeApiserverComponent, o: KServeControllerOptions): KServeController {
  const services = new Map<string, ServiceState>();
  const neverReady = o.neverReady ?? (() => false);
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        await reconcileAll();
      } catch (error) {
        if (running) console.warn(`test KServe controller: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();

  async function reconcileAll(): Promise<void> {
    const list = await kube.request('GET', `/apis/serving.kserve.io/v1beta1/namespaces/${o.namespace}/inferenceservices`);
    for (const isvc of list.body?.items ?? []) {
      if ((isvc.status?.observedGeneration ?? 0) >= isvc.metadata.generation || o.ignore?.has(isvc.metadata.name)) continue;
      const mode = isvc.metadata.annotations?.['serving.kserve.io/deploymentMode'] ?? 'Serverless';
      const status = mode === 'Serverless' ? serverless(isvc) : raw(isvc, mode);
      await kube.request('PATCH', `/apis/serving.kserve.io/v1beta1/namespaces/${o.namespace}/inferenceservices/${isvc.metadata.name}/status`, { body: { status } });
    }
  }

  function condition(type: string, ok: boolean, reason: string, message: string): Record<string, string> {
    return { type, status: ok ? 'True' : 'False', ...(ok ? {} : { reason, message }), lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  function serverless(isvc: any): Record<string, unknown> {
    const name = isvc.metadata.name as string;
    const state = services.get(name) ?? { revisions: [], latestRolledout: '', previousRolledout: '' };
    services.set(name, state);
    const { canaryTrafficPercent, ...template } = isvc.spec.predictor as { canaryTrafficPercent?: number };
    const annotations = Object.fromEntries(Object.entries((isvc.metadata.annotations ?? {}) as Record<string, string>).filter(([k]) => !DISALLOWED_ANNOTATIONS.includes(k)));
    const templateJson = JSON.stringify(template);
    const hash = createHash('sha256').update(JSON.stringify({ template, annotations })).digest('hex');
    const latest = state.revisions[state.revisions.length - 1];
    if (!latest || latest.hash !== hash) {
      state.revisions.push({ name: `${name}-predictor-${String(state.revisions.length + 1).padStart(5, '0')}`, hash, ready: !neverReady(templateJson) });
    }
    const created = state.revisions[state.revisions.length - 1]!;
    const latestReady = [...state.revisions].reverse().find((r) => r.ready)?.name ?? '';
    // KServe reconciles the Knative service from the rolled-out revisions it knows, then reads the
    // rolled-out revisions back from the resulting traffic; a change there reconciles again.
    let traffic: Traffic[] = [];
    for (let pass = 0; pass < 3; pass++) {
      if (canaryTrafficPercent !== undefined && state.latestRolledout !== '') {
        traffic = [{ revisionName: latestReady, latestRevision: true, percent: canaryTrafficPercent, tag: 'latest' }];
        if (canaryTrafficPercent < 100) traffic.push({ revisionName: state.latestRolledout, latestRevision: false, percent: 100 - canaryTrafficPercent, tag: 'prev' });
      } else {
        traffic = [{ revisionName: latestReady, latestRevision: true, percent: 100 }];
      }
      const before = state.latestRolledout;
      const perRevision = new Map<string, number>();
      for (const t of traffic) perRevision.set(t.revisionName, (perRevision.get(t.revisionName) ?? 0) + t.percent);
      for (const t of traffic) {
        if (t.revisionName !== latestReady || !t.latestRevision) continue;
        if (state.latestRolledout !== latestReady) {
          if (t.percent === 100) {
            state.previousRolledout = state.latestRolledout;
            state.latestRolledout = latestReady;
          }
        } else if (latestReady === created.name && t.percent < 100 && perRevision.get(t.revisionName) === 100 && state.previousRolledout !== '') {
          // Rolled out at 100%, then given less: the previous rolled-out revision takes the rest.
          state.latestRolledout = state.previousRolledout;
        }
      }
      if (state.latestRolledout === before) break;
    }
    const ready = created.ready;
    return {
      observedGeneration: isvc.metadata.generation,
      deploymentMode: 'Serverless',
      url: `http://${name}.${o.namespace}.example.com`,
      components: {
        predictor: {
          latestCreatedRevision: created.name,
          latestReadyRevision: latestReady,
          latestRolledoutRevision: state.latestRolledout,
          previousRolledoutRevision: state.previousRolledout,
          traffic,
        },
      },
      conditions: [
        condition('LatestDeploymentReady', ready, 'RevisionMissing', `revision ${created.name} failed its readiness probe`),
        condition('PredictorReady', ready, 'RevisionFailed', `revision ${created.name} failed its readiness probe`),
        condition('Ready', latestReady !== '', 'RevisionFailed', 'no ready revision'),
      ],
    };
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  function raw(isvc: any, mode: string): Record<string, unknown> {
    const canaries = (isvc.spec.canary ?? []) as { trafficPercent: number; predictor: { name: string } }[];
    const canaryStatuses = canaries.map((c) => {
      const ready = !neverReady(JSON.stringify(c.predictor));
      return { name: c.predictor.name, ready, trafficPercent: ready ? c.trafficPercent : 0, modelStatus: { transitionStatus: ready ? 'UpToDate' : 'InProgress' } };
    });
    const allReady = canaryStatuses.every((c) => c.ready);
    return {
      observedGeneration: isvc.metadata.generation,
      deploymentMode: mode,
      canaryStatuses,
      conditions: [
        condition('PredictorReady', true, '', ''),
        ...(canaries.length > 0 ? [condition('CanaryReady', allReady, 'CanaryNotReady', 'a canary Deployment has no available replica')] : []),
        condition('Ready', true, '', ''),
      ],
    };
  }

  return {
    stop: async () => {
      running = false;
      await loop;
    },
    revisions: (isvc) => (services.get(isvc)?.revisions ?? []).map((r) => r.name),
  };
}
