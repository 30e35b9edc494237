// benchmark-on-gpu-runner: how fast and how costly is the model to serve, and did it regress?
import { defineStep } from './common.js';

export const PROTOCOLS = ['oip-v2', 'kserve-v1', 'torchserve', 'openai', 'openai-chat', 'http-template'] as const;

export const benchmarkDefinition = defineStep({
  name: 'benchmark-on-gpu-runner',
  title: 'Benchmark on GPU runner',
  summary: 'Measure latency, throughput, errors and GPU cost of serving the model, and compare with a baseline.',
  branding: { icon: 'activity', color: 'green' },
  inputs: {
    endpoint: { type: 'string', description: 'URL of an already running server. Empty: start one from image or command.' },
    image: { type: 'string', description: 'Container image to start and benchmark.' },
    command: { type: 'string', description: 'Command that starts the server on this runner.' },
    protocol: { type: 'string', description: 'Inference protocol.', options: PROTOCOLS, default: 'oip-v2' },
    'model-name': { type: 'string', description: 'Model name used in request paths.', default: 'model' },
    rate: { type: 'number', description: 'Open-loop request rate per second (0: closed loop).', default: 0, min: 0 },
    concurrency: { type: 'integer', description: 'Closed-loop concurrency.', default: 8, min: 1 },
    duration: { type: 'duration', description: 'Measurement duration, for example 30s.', default: '30s' },
    'require-gpu': { type: 'boolean', description: 'Fail with exit 2 when no usable GPU is present.', default: false },
    baseline: { type: 'path', description: 'Baseline result file to compare against.' },
  },
  outputs: {
    'p50-ms': { description: 'Median latency in milliseconds.' },
    'p95-ms': { description: '95th percentile latency in milliseconds.' },
    'p99-ms': { description: '99th percentile latency in milliseconds.' },
    'throughput-rps': { description: 'Achieved successful requests per second.' },
    'error-rate': { description: 'Fraction of requests that failed.' },
  },
});
