// Rollback latency on the Kubernetes targets (gateway-api, and kserve in Serverless mode) against a
// real kube-apiserver with etcd: from the
// abort decision to a verified 100% on stable (applyAndVerify, what canary-deploy reports as
// rollback-ms): a server-side apply of the HTTPRoute, then reads until the gateway has accepted the
// new generation. No gateway runs here: the tests' status-patching controller plays it (and the
// Deployment controller) in-process, polling every 100 ms, so the figure includes up to one
// controller period, as a real gateway's reconcile delay would. For kserve the stand-in is the
// tests' KServe/Knative controller (canaryTrafficPercent to 0, read back from
// status.components.predictor.traffic), with the same period.
import { readFileSync } from 'node:fs';
import { registerHooks, stripTypeScriptTypes } from 'node:module';
import { fileURLToPath } from 'node:url';
import { applyAndVerify, weightsFor } from '@ferry/rollout';
import { formatMs } from '../lib/format.ts';
import { errorRow, infoRow, type Row } from '../lib/report.ts';
import type { Suite, SuiteContext, SuiteResult } from '../lib/suite.ts';
import { measureInterleaved, type Contender } from '../lib/timing.ts';

const SUITE = 'rollback-k8s';
const MEASUREMENT = 'rollback to 100% stable, verified (gateway-api on kube-apiserver)';
const MEASUREMENT_KSERVE = 'rollback to 100% stable, verified (kserve Serverless on kube-apiserver)';

// The test support modules import each other as .js (as tsc wants) and use parameter properties,
// which node's type stripping refuses: resolve .js to .ts there and transform those sources.
let hooked = false;
function resolveTestSupport(): void {
  if (hooked) return;
  hooked = true;
  registerHooks({
    resolve(specifier, context, next) {
      try {
        return next(specifier, context);
      } catch (error) {
        if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.includes('/test/support/')) return next(specifier.replace(/\.js$/, '.ts'), context);
        throw error;
      }
    },
    load(url, context, next) {
      if (!url.includes('/test/support/') || !url.endsWith('.ts')) return next(url, context);
      const source = stripTypeScriptTypes(readFileSync(fileURLToPath(url), 'utf8'), { mode: 'transform', sourceUrl: url });
      return { format: 'module', source, shortCircuit: true };
    },
  });
}

function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

export const rollbackK8sSuite: Suite = {
  name: SUITE,
  title: 'Rollback on the Kubernetes targets (real kube-apiserver): decision to verified 100% stable',
  async run(ctx: SuiteContext): Promise<SuiteResult> {
    resolveTestSupport();
    let kube: { stop(): Promise<void>; kubeconfig: string } | undefined;
    let controller: { stop(): Promise<void> } | undefined;
    let kserveController: { stop(): Promise<void> } | undefined;
    try {
      const { startKubeApiserver } = (await import('../../test/support/components/kube-apiserver.ts')) as typeof import('../../test/support/components/kube-apiserver.ts');
      const { startKubeController } = (await import('../../test/support/kube-controller.ts')) as typeof import('../../test/support/kube-controller.ts');
      const { startKServeController } = (await import('../../test/support/kserve-controller.ts')) as typeof import('../../test/support/kserve-controller.ts');
      const { GatewayApiTarget, KServeTarget } = (await import('../../packages/rollout/dist/targets/kubernetes/index.js')) as unknown as typeof import('../../packages/rollout/src/targets/kubernetes/index.ts');
      const started = await startKubeApiserver();
      kube = started;
      controller = startKubeController(started, { namespace: 'default', gateway: 'bench-gateway' });
      const target = new GatewayApiTarget({ credentials: { kubeconfig: started.kubeconfig }, namespace: 'default', name: 'bench', gateway: 'bench-gateway', image: 'registry.example/bench', readyTimeoutMs: 30_000, pollIntervalMs: 100 });
      await target.setVersion('stable', { name: 'v1', endpoints: ['http://127.0.0.1:9/v1'] });
      await applyAndVerify(target, weightsFor(0), { kind: 'weighted' }, 30_000);
      await target.setVersion('canary', { name: 'v2', endpoints: ['http://127.0.0.1:9/v2'] });
      kserveController = startKServeController(started, { namespace: 'default' });
      const created = await started.request('POST', '/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices', {
        body: { apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata: { name: 'bench', annotations: { 'serving.kserve.io/deploymentMode': 'Serverless' } }, spec: { predictor: { model: { modelFormat: { name: 'onnx' }, storageUri: 's3://bench/v1' } } } },
      });
      if (created.status !== 201) throw new Error(`creating the bench InferenceService: HTTP ${created.status}`);
      const kserve = new KServeTarget({ credentials: { kubeconfig: started.kubeconfig }, namespace: 'default', name: 'bench', storageUri: 's3://bench/{version}', readyTimeoutMs: 30_000, pollIntervalMs: 100 });
      for (const deadline = Date.now() + 30_000; ; ) {
        const isvc = await started.request('GET', '/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservices/bench');
        if (isvc.body?.status?.components?.predictor?.latestRolledoutRevision) break;
        if (Date.now() > deadline) throw new Error('the stand-in KServe controller never rolled out the bench InferenceService');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await kserve.setVersion('canary', { name: 'v2', endpoints: ['http://127.0.0.1:9/v2'] });
      // One measurement for either target: put the canary at 50%, then time the way back to 0.
      const rollbackOn = (on: Parameters<typeof applyAndVerify>[0], id: string, label: string): Contender => ({
        id,
        label,
        async run() {
          await applyAndVerify(on, weightsFor(50), { kind: 'weighted' }, 30_000);
          const t0 = performance.now();
          await applyAndVerify(on, weightsFor(0), { kind: 'weighted' }, 30_000);
          return { ms: performance.now() - t0 };
        },
      });
      const contenders: Contender[] = [
        rollbackOn(target, 'ferry', 'Ferry (server-side apply, read back until accepted)'),
        rollbackOn(kserve, 'kserve', 'Ferry kserve (canaryTrafficPercent, read back from the traffic status)'),
      ];
      const runs = ctx.quick ? 5 : 20;
      ctx.log(`rollback-k8s: ${runs} rollbacks on each of the gateway-api and kserve targets`);
      const [ferry, kserveResult] = await measureInterleaved(contenders, { runs, warmups: 1 });
      const figures = (samplesMs: readonly number[]): [number, number] => [percentile(samplesMs, 50), percentile(samplesMs, 95)];
      const samples = ferry!.time?.samplesMs ?? [];
      const [p50, p95] = figures(samples);
      const kSamples = kserveResult!.time?.samplesMs ?? [];
      const [k50, k95] = figures(kSamples);
      const rows: Row[] = [
        infoRow({ suite: SUITE, measurement: MEASUREMENT, ferry: ferry!, format: () => `p50 ${formatMs(p50)}, p95 ${formatMs(p95)}` }),
        infoRow({ suite: SUITE, measurement: MEASUREMENT_KSERVE, ferry: kserveResult!, format: () => `p50 ${formatMs(k50)}, p95 ${formatMs(k95)}` }),
      ];
      return {
        rows,
        details: [],
        notes: [
          `gateway-api: ${runs} rollbacks from 50/50, p50 ${formatMs(p50)}, p95 ${formatMs(p95)}, max ${formatMs(Math.max(...samples))}; the HTTPRoute's status is written by a stand-in gateway polling every 100 ms, so most of the figure is that period (the HAProxy row above has no such delay).`,
          `kserve (Serverless): ${runs} rollbacks from 50/50, p50 ${formatMs(k50)}, p95 ${formatMs(k95)}, max ${formatMs(Math.max(...kSamples))}; the same 100 ms stand-in controller period applies.`,
        ],
        data: { ferrySamplesMs: samples, p50Ms: p50, p95Ms: p95, kserveSamplesMs: kSamples, kserveP50Ms: k50, kserveP95Ms: k95 },
      };
    } catch (error) {
      return { rows: [errorRow(SUITE, MEASUREMENT, (error as Error).message)], details: [], notes: [], data: {} };
    } finally {
      await controller?.stop();
      await kserveController?.stop();
      await kube?.stop();
    }
  },
};
