// The benchmark step's inputs, checked before anything starts: which server, which protocol, what
// load, which gates. A bad value exits 2 at once and names the input.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '@ferry/core';
import type { benchmarkDefinition, InputValues, StepContext } from '@ferry/core';
import type { LlmSlo } from '../load/messages.js';
import type { ClosedLoad, OpenLoad, PayloadSource } from '../load/options.js';
import { createProtocol } from '../protocols/index.js';
import type { ProtocolSpec } from '../protocols/types.js';
import type { ServerSpec } from '../server/lifecycle.js';

export type BenchInputs = InputValues<(typeof benchmarkDefinition)['inputs']>;

export interface SloGates {
  readonly maxP95Ms?: number;
  readonly maxP99Ms?: number;
  readonly maxErrorRate?: number;
  readonly minThroughput?: number;
  readonly maxTtftP95Ms?: number;
  readonly maxTimeToReadyMs?: number;
}

export interface BenchPlan {
  /** Merge mode: shard results files to combine; no server, no load. */
  readonly merge: readonly string[] | undefined;
  readonly server: ServerSpec | undefined;
  readonly healthPath: string | undefined;
  readonly protocol: ProtocolSpec;
  /** Payloads: a dataset, or undefined to generate them (oip-v2 from the served signature). */
  readonly dataset: string | undefined;
  readonly load: OpenLoad | ClosedLoad;
  readonly gates: SloGates;
  readonly slo: LlmSlo | undefined;
  readonly resultsPath: string;
  readonly baselinePath: string | undefined;
  readonly shard: { readonly index: number; readonly count: number };
}

function numberList(values: readonly string[] | undefined, input: string, integer: boolean): number[] | undefined {
  if (!values || values.length === 0) return undefined;
  return values.map((raw) => {
    const v = Number(raw.trim());
    if (raw.trim() === '' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
      throw new InputError(`${input}: "${raw}" is not a positive ${integer ? 'whole number' : 'number'}`, { subject: input });
    }
    return v;
  });
}

function protocolSpec(inputs: BenchInputs): ProtocolSpec {
  const model = inputs['model-name'];
  const version = inputs['model-version'] || undefined;
  switch (inputs.protocol) {
    case 'oip-v2':
    case 'kserve-v1':
    case 'torchserve':
      return { kind: inputs.protocol, model, ...(version ? { version } : {}) };
    case 'openai':
    case 'openai-chat':
      return { kind: inputs.protocol === 'openai' ? 'openai-completions' : 'openai-chat', model, maxTokens: inputs['max-tokens'], stream: true };
    case 'http-template':
      return {
        kind: 'http',
        method: inputs['request-method'].toUpperCase(),
        path: inputs['request-path'].startsWith('/') ? inputs['request-path'] : `/${inputs['request-path']}`,
        ...(inputs['request-body'] ? { body: inputs['request-body'], headers: { 'content-type': 'application/json' } } : {}),
      };
    default:
      throw new InputError(`protocol ${JSON.stringify(inputs.protocol)} is not known`, { subject: 'protocol' });
  }
}

/** Files named by the `merge` input: paths, or globs with `*` / `?` in the file name part. */
export function expandMergeInputs(patterns: readonly string[], cwd: string): string[] {
  const files: string[] = [];
  for (const pattern of patterns) {
    const full = resolve(cwd, pattern.trim());
    const name = basename(full);
    if (!/[*?]/.test(name)) {
      if (!existsSync(full)) throw new InputError(`merge: results file ${pattern} does not exist`, { subject: 'merge' });
      files.push(full);
      continue;
    }
    const dir = dirname(full);
    if (/[*?]/.test(dir)) throw new InputError(`merge: "${pattern}" has a wildcard in a directory name; only the file name may have one`, { subject: 'merge' });
    const re = new RegExp(`^${name.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
    const matched = existsSync(dir) ? readdirSync(dir).filter((f) => re.test(f) && statSync(join(dir, f)).isFile()) : [];
    if (matched.length === 0) throw new InputError(`merge: no file matches ${pattern}`, { subject: 'merge' });
    files.push(...matched.sort().map((f) => join(dir, f)));
  }
  return [...new Set(files)];
}

function httpUrl(value: string, input: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(`${input} ${JSON.stringify(value)} is not a URL`, { subject: input });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InputError(`${input} must be an http:// or https:// URL, got ${JSON.stringify(value)}`, { subject: input });
}

export function planBenchmark(ctx: StepContext, inputs: BenchInputs): BenchPlan {
  const { cwd } = ctx;
  const merge = inputs.merge && inputs.merge.length > 0 ? expandMergeInputs(inputs.merge, cwd) : undefined;
  const sources = [inputs.endpoint && 'endpoint', inputs.image && 'image', inputs.command && 'command'].filter(Boolean) as string[];
  if (merge && sources.length > 0) throw new InputError(`merge combines results files and starts nothing: leave ${sources.join(' and ')} empty`, { subject: 'merge' });
  if (!merge && sources.length === 0) {
    throw new InputError('nothing to benchmark: give endpoint (a running server), image (a container to start) or command (a server command to run)', { subject: 'endpoint' });
  }
  if (sources.length > 1) throw new InputError(`give only one of endpoint, image and command (got ${sources.join(', ')})`, { subject: sources[1] });

  let server: ServerSpec | undefined;
  if (inputs.endpoint) {
    httpUrl(inputs.endpoint, 'endpoint');
    server = { kind: 'endpoint', url: inputs.endpoint };
  } else if (inputs.image) {
    server = { kind: 'container', image: inputs.image, runtime: inputs['container-runtime'] as 'auto' | 'docker' | 'podman', containerPort: inputs['container-port'], args: inputs['container-args'] ?? [], command: inputs['container-command'] ?? [], gpus: false };
  } else if (inputs.command) {
    server = { kind: 'command', command: inputs.command, port: inputs['server-port'], cwd };
  }

  const protocol = protocolSpec(inputs);
  const adapter = createProtocol(protocol);
  const healthPath = inputs['health-path'] ? (inputs['health-path'].startsWith('/') ? inputs['health-path'] : `/${inputs['health-path']}`) : adapter.readyPath;

  const dataset = inputs.dataset ? resolve(cwd, inputs.dataset) : undefined;
  if (dataset && !existsSync(dataset)) throw new InputError(`dataset ${inputs.dataset} does not exist`, { subject: 'dataset' });
  if (!dataset && !merge && (protocol.kind === 'kserve-v1' || protocol.kind === 'torchserve')) {
    throw new InputError(`the ${inputs.protocol} protocol has no signature to generate requests from: give dataset (a JSONL file of request payloads)`, { subject: 'dataset' });
  }

  const rates = numberList(inputs.rates, 'rates', false);
  const concurrencies = numberList(inputs.concurrencies, 'concurrencies', true);
  if (rates && concurrencies) throw new InputError('give rates (open loop) or concurrencies (closed loop), not both', { subject: 'concurrencies' });
  const open = rates !== undefined || (inputs.rate > 0 && concurrencies === undefined);
  const load: OpenLoad | ClosedLoad = open
    ? {
        mode: 'open',
        process: inputs.arrival as 'constant' | 'poisson' | 'gamma',
        ...(rates ? { rates } : { rate: inputs.rate }),
        ...(inputs.arrival === 'gamma' ? { burstiness: inputs.burstiness } : {}),
      }
    : { mode: 'closed', ...(concurrencies ? { concurrencies } : { concurrency: inputs.concurrency }) };

  if (inputs['shard-index'] >= inputs['shard-count']) {
    throw new InputError(`shard-index ${inputs['shard-index']} must be below shard-count ${inputs['shard-count']}`, { subject: 'shard-index' });
  }
  if (inputs['shard-count'] > 1 && !open) {
    throw new InputError('sharded load needs an open-loop schedule to share (set rate or rates); closed-loop concurrency does not split into one exact schedule', { subject: 'shard-count' });
  }
  if (inputs['gpu-sample-interval'] > 200 || inputs['gpu-sample-interval'] < 20) {
    throw new InputError(`gpu-sample-interval must be between 20ms and 200ms, got ${inputs['gpu-sample-interval']}ms`, { subject: 'gpu-sample-interval' });
  }
  if (inputs['dcgm-url']) httpUrl(inputs['dcgm-url'], 'dcgm-url');
  if (inputs.window < 100) throw new InputError(`window must be at least 100ms, got ${inputs.window}ms`, { subject: 'window' });
  if (inputs.duration < inputs.window) throw new InputError(`duration (${inputs.duration}ms) is shorter than one window (${inputs.window}ms)`, { subject: 'duration' });

  const slo: LlmSlo = {
    ...(inputs['slo-ttft-ms'] !== undefined ? { ttftMs: inputs['slo-ttft-ms'] } : {}),
    ...(inputs['slo-tpot-ms'] !== undefined ? { tpotMs: inputs['slo-tpot-ms'] } : {}),
  };
  const baselinePath = inputs.baseline ? resolve(cwd, inputs.baseline) : undefined;
  if (baselinePath && !existsSync(baselinePath)) {
    throw new InputError(`baseline ${inputs.baseline} does not exist (restore it from the default branch's cache or artifact first, or leave baseline empty)`, { subject: 'baseline' });
  }

  return {
    merge,
    server,
    healthPath,
    protocol,
    dataset,
    load,
    gates: {
      ...(inputs['max-p95-ms'] !== undefined ? { maxP95Ms: inputs['max-p95-ms'] } : {}),
      ...(inputs['max-p99-ms'] !== undefined ? { maxP99Ms: inputs['max-p99-ms'] } : {}),
      ...(inputs['max-error-rate'] !== undefined ? { maxErrorRate: inputs['max-error-rate'] } : {}),
      ...(inputs['min-throughput'] !== undefined ? { minThroughput: inputs['min-throughput'] } : {}),
      ...(inputs['max-ttft-p95-ms'] !== undefined ? { maxTtftP95Ms: inputs['max-ttft-p95-ms'] } : {}),
      ...(inputs['max-time-to-ready'] !== undefined ? { maxTimeToReadyMs: inputs['max-time-to-ready'] } : {}),
    },
    slo: Object.keys(slo).length > 0 ? slo : undefined,
    resultsPath: resolve(cwd, inputs.results),
    baselinePath,
    shard: { index: inputs['shard-index'], count: inputs['shard-count'] },
  };
}

/** Payload source for runLoad: the dataset, or the signature the server reports (oip-v2). */
export async function payloadSource(plan: BenchPlan, serverUrl: string, signal: AbortSignal): Promise<PayloadSource | undefined> {
  if (plan.dataset) return { kind: 'jsonl', path: plan.dataset };
  if (plan.protocol.kind !== 'oip-v2') return undefined;
  const { model, version } = plan.protocol;
  const url = `${serverUrl}/v2/models/${encodeURIComponent(model)}${version ? `/versions/${encodeURIComponent(version)}` : ''}`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]) });
  } catch (err) {
    throw new InputError(`could not read the model signature from ${url} (${(err as Error).message}): give dataset instead`, { subject: 'dataset' });
  }
  if (!response.ok) {
    await response.arrayBuffer();
    throw new InputError(`the server has no model ${JSON.stringify(model)}: GET ${url} answered HTTP ${response.status} (check model-name, or give dataset)`, { subject: 'model-name' });
  }
  const meta = (await response.json().catch(() => undefined)) as { inputs?: { name?: unknown; datatype?: unknown; shape?: unknown }[] } | undefined;
  const inputs = meta?.inputs;
  if (!Array.isArray(inputs) || inputs.length === 0 || !inputs.every((t) => typeof t.name === 'string' && typeof t.datatype === 'string' && Array.isArray(t.shape))) {
    throw new InputError(`the model metadata at ${url} lists no usable inputs (name, datatype, shape): give dataset instead`, { subject: 'dataset' });
  }
  return {
    kind: 'signature',
    inputs: inputs.map((t) => ({ name: t.name as string, dtype: t.datatype as string, shape: (t.shape as unknown[]).map((d) => (typeof d === 'number' && d >= 0 ? d : String(d))) })),
  };
}
