// The options of `ferry serve`, declared once: the CLI's flags, its help and the typed settings the
// server runs with all come from this table.
import { basename, extname } from 'node:path';
import { InputError, type InputDeclarations, type InputValues } from '@ferry/core';

/** Section titles for help, in order. */
export const OPTION_GROUPS = ['model', 'network', 'limits', 'test knobs'] as const;
export type OptionGroup = (typeof OPTION_GROUPS)[number];

const MODEL_NAME = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$';

export const SERVE_OPTIONS = {
  'model-path': { type: 'path', required: true, description: 'The ONNX model file (or a directory holding exactly one .onnx file).' },
  'model-name': { type: 'string', pattern: MODEL_NAME, description: 'Name clients use in /v2/models/<name>. Default: the file name without .onnx.' },
  'model-version': { type: 'string', pattern: MODEL_NAME, default: '1', description: 'Version reported in metadata and in the "version" label of every metric (tell a canary from stable).' },
  host: { type: 'string', default: '127.0.0.1', description: 'Address to listen on (0.0.0.0 for every interface).' },
  port: { type: 'integer', min: 0, max: 65535, default: 8080, description: 'Port to listen on; 0 picks a free one, announced in the ready line.' },
  workers: {
    type: 'integer',
    min: 0,
    max: 256,
    default: 1,
    description: 'Inference threads, each with its own onnxruntime session (and its own copy of the weights); they run one inference each at once. 0 runs inference on the HTTP thread: least overhead for tiny models, but nothing else is answered while a run lasts.',
  },
  threads: { type: 'integer', min: 0, max: 1024, default: 0, description: 'onnxruntime intra-op threads per session; 0 shares the cores among the workers.' },
  'max-body-bytes': { type: 'integer', min: 1024, default: 16 * 1024 * 1024, description: 'Largest request body accepted; larger ones get 413.' },
  'max-queue': { type: 'integer', min: 0, max: 1_000_000, default: 256, description: 'Inferences that may wait for a free worker; beyond that the server answers 503 at once.' },
  'request-timeout': { type: 'duration', default: '30s', description: 'Longest an inference request may take, queue included; then 504.' },
  'drain-timeout': { type: 'duration', default: '30s', description: 'On SIGTERM/SIGINT, how long in-flight requests may take to finish before their connections are closed.' },
  'shutdown-delay': { type: 'duration', default: '0s', description: 'On SIGTERM/SIGINT, how long readiness reports 503 while still serving, before the listener closes (lets load balancers notice).' },
  'inject-latency-ms': { type: 'number', min: 0, default: 0, description: 'Milliseconds added to every inference request (it does not hold an inference slot).' },
  'inject-latency-jitter-ms': { type: 'number', min: 0, default: 0, description: 'Extra latency drawn uniformly from [0, this) milliseconds, seeded.' },
  'inject-error-rate': { type: 'number', min: 0, max: 1, default: 0, description: 'Fraction of inference requests answered 500, drawn with --inject-seed.' },
  'inject-seed': { type: 'integer', min: 0, max: 4_294_967_295, default: 1, description: 'Seed of the injected errors and jitter, so a run repeats exactly.' },
} as const satisfies InputDeclarations;

export const OPTION_GROUP: Readonly<Record<keyof typeof SERVE_OPTIONS, OptionGroup>> = {
  'model-path': 'model',
  'model-name': 'model',
  'model-version': 'model',
  workers: 'model',
  threads: 'model',
  host: 'network',
  port: 'network',
  'max-body-bytes': 'limits',
  'max-queue': 'limits',
  'request-timeout': 'limits',
  'drain-timeout': 'limits',
  'shutdown-delay': 'limits',
  'inject-latency-ms': 'test knobs',
  'inject-latency-jitter-ms': 'test knobs',
  'inject-error-rate': 'test knobs',
  'inject-seed': 'test knobs',
};

export type ServeOptionValues = InputValues<typeof SERVE_OPTIONS>;

/** Settings the server runs with; durations in milliseconds. */
export interface ServeSettings {
  readonly modelPath: string;
  readonly modelName: string;
  readonly modelVersion: string;
  readonly host: string;
  readonly port: number;
  readonly threads: number;
  readonly maxBodyBytes: number;
  readonly workers: number;
  readonly maxQueue: number;
  readonly requestTimeoutMs: number;
  readonly drainTimeoutMs: number;
  readonly shutdownDelayMs: number;
  readonly faults: {
    readonly latencyMs: number;
    readonly jitterMs: number;
    readonly errorRate: number;
    readonly seed: number;
  };
}

/** The name a model gets when none is given: its file name without .onnx (or its directory's name). */
export function defaultModelName(modelPath: string): string {
  const base = basename(modelPath.replace(/[/\\]+$/, ''));
  const stem = extname(base) === '.onnx' ? base.slice(0, -'.onnx'.length) : base;
  const cleaned = stem.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return cleaned === '' ? 'model' : cleaned.slice(0, 128);
}

export function serveSettings(values: ServeOptionValues): ServeSettings {
  const modelName = values['model-name'] ?? defaultModelName(values['model-path']);
  if (values['request-timeout'] <= 0) throw new InputError('--request-timeout must be more than 0', { subject: 'request-timeout' });
  return {
    modelPath: values['model-path'],
    modelName,
    modelVersion: values['model-version'],
    host: values.host,
    port: values.port,
    threads: values.threads,
    maxBodyBytes: values['max-body-bytes'],
    workers: values.workers,
    maxQueue: values['max-queue'],
    requestTimeoutMs: values['request-timeout'],
    drainTimeoutMs: values['drain-timeout'],
    shutdownDelayMs: values['shutdown-delay'],
    faults: {
      latencyMs: values['inject-latency-ms'],
      jitterMs: values['inject-latency-jitter-ms'],
      errorRate: values['inject-error-rate'],
      seed: values['inject-seed'],
    },
  };
}
