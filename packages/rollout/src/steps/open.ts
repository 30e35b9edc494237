// From step inputs to the parts the engine drives: the target the inputs name, and the analysis
// source. Missing or contradictory inputs are refused here, naming the input.
import { InputError, type Logger } from '@ferry/core';
import { resolve } from 'node:path';
import { PrometheusSource, SyntheticPairedSource } from '../analysis/index.js';
import type { AnalysisSource } from '../analysis/types.js';
import { HaproxyTarget } from '../targets/haproxy/index.js';
import { GatewayApiTarget, KServeTarget, type KubeCredentials, type ScalingOptions } from '../targets/kubernetes/index.js';
import { LocalRouterTarget } from '../targets/local/index.js';
import type { Target, VersionRef } from '../target/types.js';

export interface TargetInputs {
  readonly target: string;
  readonly 'router-url': string;
  readonly 'router-token': string;
  readonly 'haproxy-runtime': string;
  readonly 'haproxy-backend': string;
  readonly 'state-file': string;
  readonly kubeconfig: string;
  readonly 'kube-context': string;
  readonly namespace: string;
  readonly route: string;
  readonly gateway: string;
  readonly image: string;
  readonly 'container-port': number;
  readonly replicas: number;
  readonly 'ready-timeout': number;
  readonly 'inference-service': string;
  readonly 'storage-uri': string;
  readonly 'model-format': string;
  readonly 'min-replicas': number;
  readonly 'max-replicas': number;
  readonly 'scale-target': number;
  readonly 'scale-metric': string;
  readonly 'canary-replicas': string;
}

function scalingOf(i: TargetInputs): ScalingOptions {
  if (i['max-replicas'] > 0 && i['min-replicas'] > i['max-replicas']) {
    throw new InputError(`min-replicas (${i['min-replicas']}) is above max-replicas (${i['max-replicas']})`, { subject: 'min-replicas' });
  }
  return {
    ...(i['min-replicas'] > 0 ? { minReplicas: i['min-replicas'] } : {}),
    ...(i['max-replicas'] > 0 ? { maxReplicas: i['max-replicas'] } : {}),
    ...(i['scale-target'] > 0 ? { scaleTarget: i['scale-target'] } : {}),
    ...(i['scale-metric'] && i['scale-metric'] !== 'auto' ? { scaleMetric: i['scale-metric'] as ScalingOptions['scaleMetric'] } : {}),
  };
}

function kubeCredentials(i: TargetInputs, logger: Logger): KubeCredentials {
  if (i.kubeconfig) logger.setSecret(i.kubeconfig);
  return i.kubeconfig ? { kubeconfig: i.kubeconfig, ...(i['kube-context'] ? { context: i['kube-context'] } : {}) } : i['kube-context'] ? { context: i['kube-context'] } : {};
}

export function openTarget(i: TargetInputs, cwd: string, logger: Logger): Target {
  switch (i.target) {
    case 'local': {
      if (!i['router-url']) throw new InputError('the local target needs router-url: the admin URL `ferry router` printed when it started', { subject: 'router-url' });
      let url: URL;
      try {
        url = new URL(i['router-url']);
      } catch {
        throw new InputError(`router-url "${i['router-url']}" is not a URL`, { subject: 'router-url' });
      }
      if (i['router-token']) logger.setSecret(i['router-token']);
      return new LocalRouterTarget({ adminUrl: url.toString().replace(/\/$/, ''), ...(i['router-token'] ? { token: i['router-token'] } : {}) });
    }
    case 'haproxy': {
      if (!i['haproxy-runtime']) throw new InputError('the haproxy target needs haproxy-runtime: the runtime API socket path or host:port', { subject: 'haproxy-runtime' });
      if (!i['state-file']) throw new InputError('the haproxy target needs state-file: where the rollout record lives next to HAProxy', { subject: 'state-file' });
      return new HaproxyTarget({ runtime: i['haproxy-runtime'], backend: i['haproxy-backend'], stateFile: resolve(cwd, i['state-file']) });
    }
    case 'gateway-api': {
      for (const input of ['route', 'gateway', 'image'] as const) {
        if (!i[input]) throw new InputError(`the gateway-api target needs ${input}`, { subject: input });
      }
      return new GatewayApiTarget({
        credentials: kubeCredentials(i, logger),
        namespace: i.namespace || 'default',
        name: i.route,
        gateway: i.gateway,
        image: i.image,
        port: i['container-port'],
        replicas: i.replicas,
        readyTimeoutMs: i['ready-timeout'],
        scaling: scalingOf(i),
        canaryReplicas: i['canary-replicas'] === 'proportional' ? 'proportional' : 'full',
      });
    }
    case 'kserve': {
      if (!i['inference-service']) throw new InputError('the kserve target needs inference-service: the name of the InferenceService', { subject: 'inference-service' });
      if (!i['storage-uri'] && !i.image) throw new InputError('the kserve target needs storage-uri (where each version\'s model is stored) or image (the serving image)', { subject: 'storage-uri' });
      return new KServeTarget({
        credentials: kubeCredentials(i, logger),
        namespace: i.namespace || 'default',
        name: i['inference-service'],
        ...(i['storage-uri'] ? { storageUri: i['storage-uri'] } : {}),
        modelFormat: i['model-format'] || 'onnx',
        ...(i.image ? { image: i.image } : {}),
        port: i['container-port'],
        readyTimeoutMs: i['ready-timeout'],
        scaling: scalingOf(i),
      });
    }
    default:
      throw new InputError(`the ${i.target} target is not included in this build of Ferry`, { subject: 'target' });
  }
}

export function versionRef(name: string, endpoints: readonly string[], digest: string, input: string): VersionRef {
  const list = endpoints.flatMap((e) => e.split(',')).map((e) => e.trim()).filter((e) => e !== '');
  if (list.length === 0) throw new InputError(`${input} is empty: give the base URL of each server of ${name}`, { subject: input });
  for (const e of list) {
    let u: URL;
    try {
      u = new URL(e);
    } catch {
      throw new InputError(`${input}: "${e}" is not a URL such as http://10.0.0.7:8080`, { subject: input });
    }
    if (u.protocol !== 'http:') throw new InputError(`${input}: ${e} must be an http:// URL (the router speaks plain HTTP to its servers)`, { subject: input });
  }
  return { name, endpoints: list.map((e) => e.replace(/\/$/, '')), ...(digest ? { digest } : {}) };
}

export interface SourceInputs {
  readonly analysis: 'synthetic' | 'prometheus';
  readonly 'prometheus-url': string;
  readonly 'prometheus-metrics': string;
  readonly 'model-name': string;
  readonly dataset: string;
  readonly 'synthetic-rate': number;
}

export function openSource(i: SourceInputs, cwd: string): AnalysisSource {
  if (i.analysis === 'prometheus') {
    if (!i['prometheus-url']) throw new InputError('analysis: prometheus needs prometheus-url', { subject: 'prometheus-url' });
    return new PrometheusSource({ url: i['prometheus-url'], preset: i['prometheus-metrics'] === 'ferry-router' ? 'ferry-router' : 'ferry-serve' });
  }
  return new SyntheticPairedSource({
    rate: i['synthetic-rate'],
    model: i['model-name'],
    ...(i.dataset ? { dataset: resolve(cwd, i.dataset) } : {}),
  });
}
