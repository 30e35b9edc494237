// The gateway-api target's manifests and the dry-run diff, without a cluster: what a user's
// scaling inputs turn into, and how a planned change reads.
import { describe, expect, it } from 'vitest';
import { GatewayApiTarget } from '../../packages/rollout/src/targets/kubernetes/index.js';
import { comparableYaml, unifiedDiff } from '../../packages/rollout/src/targets/kubernetes/dry-run.js';
import { canaryReplicaCount } from '../../packages/rollout/src/targets/kubernetes/scaling.js';
import type { ScalingOptions } from '../../packages/rollout/src/targets/kubernetes/scaling.js';

const base = { credentials: { kubeconfig: '{}' }, namespace: 'models', name: 'classifier', gateway: 'gw', image: 'registry.example/classifier' };
const v2 = { name: 'v2', endpoints: ['http://10.0.0.2:8080'], digest: 'sha256:' + 'b'.repeat(64) };

describe('canary replicas', () => {
  it.each([
    [4, 0, 'proportional', 1],
    [4, 10, 'proportional', 1],
    [4, 50, 'proportional', 2],
    [5, 50, 'proportional', 3],
    [4, 100, 'proportional', 4],
    [4, 10, 'full', 4],
  ] as const)('stable %i at canary %i%% (%s) → %i', (stable, share, mode, expected) => {
    expect(canaryReplicaCount(stable, share, mode)).toBe(expected);
  });
});

describe('gateway-api autoscalers', () => {
  it.each([
    [{ maxReplicas: 6 }, 'cpu', 80, 3],
    [{ maxReplicas: 6, minReplicas: 2, scaleMetric: 'memory', scaleTarget: 65 }, 'memory', 65, 2],
    [{ maxReplicas: 2, minReplicas: 2, scaleMetric: 'cpu' }, 'cpu', 80, 2],
  ] as const)('%j → %s at %i%%, min %i', (scaling, metric, percent, min) => {
    const target = new GatewayApiTarget({ ...base, replicas: 3, scaling: scaling as ScalingOptions });
    const hpa = target.autoscalerFor('stable', target.replicasFor('stable', 0));
    expect(hpa).toMatchObject({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'classifier-stable', namespace: 'models' } });
    expect(hpa.spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'classifier-stable' },
      minReplicas: min,
      maxReplicas: scaling.maxReplicas,
      metrics: [{ type: 'Resource', resource: { name: metric, target: { type: 'Utilization', averageUtilization: percent } } }],
    });
    // The autoscaler owns replicas: the Deployment's apply leaves them out.
    expect(target.manifestsFor('stable', v2)[0]!.spec.replicas).toBeUndefined();
  });

  it('without max-replicas the Deployment carries replicas itself', () => {
    const target = new GatewayApiTarget({ ...base, replicas: 4, canaryReplicas: 'proportional' });
    expect(target.manifestsFor('stable', v2)[0]!.spec.replicas).toBe(4);
    expect(target.manifestsFor('canary', v2, target.replicasFor('canary', 50))[0]!.spec.replicas).toBe(2);
  });

  it.each(['concurrency', 'rps'] as const)('scale-metric %s is refused naming the input', (metric) => {
    expect(() => new GatewayApiTarget({ ...base, scaling: { maxReplicas: 3, scaleMetric: metric } })).toThrow(/KServe or a custom-metrics adapter/);
    try {
      new GatewayApiTarget({ ...base, scaling: { maxReplicas: 3, scaleMetric: metric } });
    } catch (error) {
      expect((error as { subject?: string }).subject).toBe('scale-metric');
    }
  });
});

describe('dry-run diff', () => {
  it('strips what the API server owns and shows changed lines with context', () => {
    const live = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', uid: 'u', resourceVersion: '7', generation: 2, creationTimestamp: 't', managedFields: [{}] }, spec: { a: 1, b: 2, c: 3 }, status: { x: 1 } };
    const would = { ...live, metadata: { ...live.metadata, resourceVersion: '8' }, spec: { a: 1, b: 5, c: 3 } };
    expect(comparableYaml(live)).not.toMatch(/uid|resourceVersion|generation|creationTimestamp|managedFields|status/);
    expect(unifiedDiff(comparableYaml(live), comparableYaml(would))).toBe(['    name: s', '  spec:', '    a: 1', '-   b: 2', '+   b: 5', '    c: 3'].join('\n'));
    // A new object is shown whole.
    expect(unifiedDiff('', 'a: 1\nb: 2\n')).toBe('+ a: 1\n+ b: 2');
  });
});
