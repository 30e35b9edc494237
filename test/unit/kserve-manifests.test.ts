// What the kserve target applies for a version: only the fields Ferry owns, in the shape KServe's
// CRD takes (checked against the real API server in rollout-kserve.test.ts).
import { describe, expect, it } from 'vitest';
import { KServeTarget } from '../../packages/rollout/src/targets/kubernetes/kserve.js';

const base = { namespace: 'models', name: 'classifier', credentials: { kubeconfig: 'apiVersion: v1\nkind: Config\n' } };

describe('kserve target manifests', () => {
  it('a storage-uri version names its model location, with the scaling inputs that were set and no others', () => {
    const target = new KServeTarget({ ...base, storageUri: 's3://models/classifier/{version}', scaling: { maxReplicas: 4, scaleMetric: 'rps' } });
    expect(target.predictorFor({ name: 'v2', endpoints: [] })).toEqual({ model: { modelFormat: { name: 'onnx' }, storageUri: 's3://models/classifier/v2' }, maxReplicas: 4, scaleMetric: 'rps' });
    // A RawDeployment canary runs at fixed replicas: KServe refuses autoscaling fields there.
    expect(target.predictorFor({ name: 'v2', endpoints: [] }, { rawCanary: true })).toEqual({ model: { name: 'kserve-container', modelFormat: { name: 'onnx' }, storageUri: 's3://models/classifier/v2' } });
  });

  it('an image version runs the digest build-serving-image reported, else the version tag', () => {
    const target = new KServeTarget({ ...base, image: 'registry.example/models/classifier', port: 9000 });
    const digest = `sha256:${'b'.repeat(64)}`;
    expect(target.predictorFor({ name: 'v2', endpoints: [], digest })).toEqual({ containers: [{ name: 'kserve-container', image: `registry.example/models/classifier@${digest}`, ports: [{ containerPort: 9000, protocol: 'TCP' }] }] });
    expect((target.predictorFor({ name: 'v3', endpoints: [] }).containers as { image: string }[])[0]!.image).toBe('registry.example/models/classifier:v3');
  });

  it('canaryTrafficPercent sits in the predictor; a canary list replaces nothing else', () => {
    const target = new KServeTarget({ ...base, storageUri: 's3://m/{version}' });
    const manifest = target.manifest(target.predictorFor({ name: 'v2', endpoints: [] }), { canaryTrafficPercent: 25 });
    expect(manifest).toEqual({
      apiVersion: 'serving.kserve.io/v1beta1',
      kind: 'InferenceService',
      metadata: { name: 'classifier', namespace: 'models' },
      spec: { predictor: { model: { modelFormat: { name: 'onnx' }, storageUri: 's3://m/v2' }, canaryTrafficPercent: 25 } },
    });
  });

  it('canary predictor names are DNS labels derived from the version', () => {
    expect(KServeTarget.canaryName('v2')).toBe('v2');
    expect(KServeTarget.canaryName('1.4.0')).toBe('v-1-4-0');
    expect(KServeTarget.canaryName('Release_2024.11')).toBe('release-2024-11');
    expect(KServeTarget.canaryName('x'.repeat(80))).toHaveLength(40);
  });

  it('refuses a target with neither a storage URI nor an image, naming the inputs', () => {
    expect(() => new KServeTarget({ ...base })).toThrow(/storage-uri or image/);
    expect(() => new KServeTarget({ ...base, name: '', storageUri: 's3://m/{version}' })).toThrow(/inference-service/);
  });
});
