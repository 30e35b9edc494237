// Plays the controllers that do not run on the test API server, the way envtest-based controller
// tests do: status follows spec a moment after each change. Deployments become available (unless
// named in `neverReady`), the gateway accepts each HTTPRoute generation, and, as the
// HorizontalPodAutoscaler controller would, a Deployment with an autoscaler is kept between its
// minReplicas and maxReplicas through the scale subresource.
import type { KubeApiserverComponent } from './components/index.js';

export interface KubeControllerOptions {
  readonly namespace: string;
  /** The Gateway named in the HTTPRoutes' parent status. */
  readonly gateway: string;
  /** Deployments (by name) that never become available; the set may change while it runs. */
  readonly neverReady?: Set<string>;
  /** Play the HorizontalPodAutoscaler controller (replicas within min..max, no load). Default true. */
  readonly autoscalers?: boolean;
}

export interface KubeController {
  stop(): Promise<void>;
}

export function startKubeController(kube: KubeApiserverComponent, o: KubeControllerOptions): KubeController {
  const NS = o.namespace;
  const GATEWAY = o.gateway;
  const neverReady = o.neverReady ?? new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        await reconcile();
      } catch (error) {
        // The API server going away at the end of the run; anything else shows in the steps' results.
        if (running) console.warn(`test controller: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  async function reconcile(): Promise<void> {
    if (o.autoscalers !== false) await autoscale();
    const deployments = await kube.request('GET', `/apis/apps/v1/namespaces/${NS}/deployments`, { query: { labelSelector: 'app.kubernetes.io/managed-by=ferry' } });
    for (const d of deployments.body?.items ?? []) {
      if ((d.status?.observedGeneration ?? 0) >= d.metadata.generation) continue;
      const replicas = d.spec.replicas ?? 1;
      const ready = !neverReady.has(d.metadata.name);
      await kube.request('PATCH', `/apis/apps/v1/namespaces/${NS}/deployments/${d.metadata.name}/status`, {
        body: {
          status: {
            observedGeneration: d.metadata.generation,
            replicas,
            updatedReplicas: replicas,
            readyReplicas: ready ? replicas : 0,
            availableReplicas: ready ? replicas : 0,
            unavailableReplicas: ready ? 0 : replicas,
            conditions: [{ type: 'Available', status: ready ? 'True' : 'False', reason: ready ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', message: ready ? 'ok' : 'readiness probe failed' }],
          },
        },
      });
    }
    const routes = await kube.request('GET', `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes`);
    for (const r of routes.body?.items ?? []) {
      const accepted = r.status?.parents?.[0]?.conditions?.find((c: { type: string }) => c.type === 'Accepted');
      if ((accepted?.observedGeneration ?? 0) >= r.metadata.generation) continue;
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      await kube.request('PATCH', `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes/${r.metadata.name}/status`, {
        body: {
          status: {
            parents: [
              {
                parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: GATEWAY },
                controllerName: 'example.com/test-gateway',
                conditions: [
                  { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'accepted by the test gateway', observedGeneration: r.metadata.generation, lastTransitionTime: now },
                  { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'ok', observedGeneration: r.metadata.generation, lastTransitionTime: now },
                ],
              },
            ],
          },
        },
      });
    }
  }
  async function autoscale(): Promise<void> {
    const hpas = await kube.request('GET', `/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers`);
    for (const h of hpas.body?.items ?? []) {
      const ref = h.spec?.scaleTargetRef;
      if (ref?.kind !== 'Deployment') continue;
      const scalePath = `/apis/apps/v1/namespaces/${NS}/deployments/${ref.name}/scale`;
      const scale = await kube.request('GET', scalePath);
      if (scale.status !== 200) continue;
      const current = scale.body.spec?.replicas ?? 1;
      const wanted = Math.min(Math.max(current, h.spec.minReplicas ?? 1), h.spec.maxReplicas);
      if (wanted === current) continue;
      await kube.request('PATCH', scalePath, { body: { spec: { replicas: wanted } }, query: { fieldManager: 'test-horizontal-pod-autoscaler' } });
    }
  }
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

