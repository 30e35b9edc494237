// The envtest-style control plane the Kubernetes targets are tested on: a real kube-apiserver with
// etcd, the real KServe and Gateway API CRDs, and the API server's own schema validation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeApiserver, type KubeApiserverComponent } from '../support/components/index.js';

let kube: KubeApiserverComponent;

beforeAll(async () => {
  kube = await startKubeApiserver();
}, 180_000);

afterAll(async () => {
  await kube?.stop();
});

const APPLY = 'application/apply-patch+yaml';

describe('kube-apiserver on loopback', () => {
  it('answers as the version it was built at, with the admin token and only with it', async () => {
    const version = await kube.request('GET', '/version');
    expect(version.status).toBe(200);
    expect(version.body.gitVersion).toBe(kube.version);
    const namespaces = await kube.request('GET', '/api/v1/namespaces');
    expect(namespaces.body.items.map((n: { metadata: { name: string } }) => n.metadata.name)).toContain('default');
    expect((await kube.request('GET', '/api/v1/namespaces', { token: 'not-a-token' })).status).toBe(401);
    // RBAC is on: a user with no bindings is authenticated but may not list anything.
    expect((await kube.request('GET', '/api/v1/namespaces', { token: kube.userToken })).status).toBe(403);
  });

  it.each([
    ['inferenceservices.serving.kserve.io', 'v1beta1'],
    ['httproutes.gateway.networking.k8s.io', 'v1'],
    ['gateways.gateway.networking.k8s.io', 'v1'],
  ])('has the %s CRD established and served at %s', async (name, version) => {
    const crd = await kube.request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    expect(crd.status).toBe(200);
    const established = crd.body.status.conditions.find((c: { type: string }) => c.type === 'Established');
    expect(established.status).toBe('True');
    expect(crd.body.spec.versions.filter((v: { served: boolean }) => v.served).map((v: { name: string }) => v.name)).toContain(version);
    const [plural, ...group] = name.split('.');
    const list = await kube.request('GET', `/apis/${group.join('.')}/${version}/namespaces/default/${plural}`);
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([]);
  });

  it('stores an InferenceService applied server-side, with its canary weight', async () => {
    const isvc = {
      apiVersion: 'serving.kserve.io/v1beta1',
      kind: 'InferenceService',
      metadata: { name: 'env-check', namespace: 'default' },
      spec: { predictor: { canaryTrafficPercent: 10, model: { modelFormat: { name: 'onnx' }, storageUri: 's3://models/v2' } } },
    };
    const applied = await kube.request('PATCH', '/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/env-check', {
      body: isvc,
      contentType: APPLY,
      query: { fieldManager: 'ferry', fieldValidation: 'Strict' },
    });
    expect(applied.status).toBe(201);
    expect(applied.body.spec.predictor.canaryTrafficPercent).toBe(10);
    expect(applied.body.metadata.managedFields.map((f: { manager: string }) => f.manager)).toContain('ferry');
  });

  it.each([
    ['an InferenceService', '/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/typo', { apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata: { name: 'typo' }, spec: { predictor: { canaryTrafficPercnt: 10 } } }, 'canaryTrafficPercnt'],
    ['an HTTPRoute', '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/typo', { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'typo' }, spec: { rules: [{ backendRefs: [{ name: 'svc', port: 80, wieght: 5 }] }] } }, 'wieght'],
  ])('rejects %s with an unknown field under Strict server-side apply', async (_what, path, body, field) => {
    const applied = await kube.request('PATCH', path, { body, contentType: APPLY, query: { fieldManager: 'ferry', fieldValidation: 'Strict' } });
    // Server-side apply refuses it while building the typed patch, which kube-apiserver reports as a 500.
    expect(applied.status).toBe(500);
    expect(applied.body.message).toMatch(new RegExp(`failed to create typed patch object .*\\.${field}: field not declared in schema`));
    expect((await kube.request('GET', path)).status).toBe(404);
  });

  it('rejects a value the CRD schema forbids', async () => {
    const applied = await kube.request('PATCH', '/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/too-much', {
      body: { apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata: { name: 'too-much' }, spec: { predictor: { canaryTrafficPercent: 'ten' } } },
      contentType: APPLY,
      query: { fieldManager: 'ferry', fieldValidation: 'Strict' },
    });
    expect(applied.status).toBe(500);
    expect(applied.body.message).toContain('.spec.predictor.canaryTrafficPercent: expected numeric (int or float), got string');
    // The same object by create (not apply) is checked by the CRD's OpenAPI schema: a 422 naming the field.
    const created = await kube.request('POST', '/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices', {
      body: { apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata: { name: 'too-much' }, spec: { predictor: { canaryTrafficPercent: 'ten' } } },
      query: { fieldValidation: 'Strict' },
    });
    expect(created.status).toBe(422);
    expect(created.body.message).toContain('spec.predictor.canaryTrafficPercent');
  });
});
