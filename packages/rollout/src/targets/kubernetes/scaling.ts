// Scaling settings both Kubernetes targets pass through to what users already run: KServe's
// minReplicas/maxReplicas/scaleTarget/scaleMetric, and a HorizontalPodAutoscaler per Deployment for
// the gateway-api target. Unset fields are left to the platform's defaults.
import { InputError } from '@ferry/core';
import type { KubeObject } from './client.js';

/** The scaling inputs; a field left out is not set on the cluster. */
export interface ScalingOptions {
  readonly minReplicas?: number;
  readonly maxReplicas?: number;
  readonly scaleTarget?: number;
  readonly scaleMetric?: 'concurrency' | 'rps' | 'cpu' | 'memory';
}

/** Average utilisation (percent of the pods' requests) a HorizontalPodAutoscaler aims for when scale-target is unset. */
export const DEFAULT_UTILISATION_PERCENT = 80;

/** The resource a HorizontalPodAutoscaler follows; concurrency and rps are refused (they need request metrics). */
export function autoscalerMetric(scaling: ScalingOptions): 'cpu' | 'memory' {
  const metric = scaling.scaleMetric ?? 'cpu';
  if (metric === 'concurrency' || metric === 'rps') {
    throw new InputError(
      `scale-metric ${metric} cannot drive the gateway-api target's HorizontalPodAutoscalers, which follow cpu or memory utilisation: ${metric} needs KServe or a custom-metrics adapter (target: kserve, or prometheus-adapter with an autoscaler of your own)`,
      { subject: 'scale-metric' },
    );
  }
  return metric;
}

export interface AutoscalerSpec {
  readonly namespace: string;
  /** The Deployment it scales; the HorizontalPodAutoscaler has the same name. */
  readonly deployment: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly metric: 'cpu' | 'memory';
  readonly utilisationPercent: number;
}

/** An autoscaling/v2 HorizontalPodAutoscaler for one Deployment. */
export function horizontalPodAutoscaler(s: AutoscalerSpec): KubeObject {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: s.deployment, namespace: s.namespace, labels: { ...s.labels } },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: s.deployment },
      minReplicas: Math.min(s.minReplicas, s.maxReplicas),
      maxReplicas: s.maxReplicas,
      metrics: [{ type: 'Resource', resource: { name: s.metric, target: { type: 'Utilization', averageUtilization: s.utilisationPercent } } }],
    },
  };
}

/** Canary replicas for its share of traffic: as many as stable (full), or stable's times the share, at least 1. */
export function canaryReplicaCount(stableReplicas: number, canaryShare: number, mode: 'full' | 'proportional'): number {
  if (mode === 'full') return stableReplicas;
  return Math.max(1, Math.ceil((stableReplicas * canaryShare) / 100));
}
