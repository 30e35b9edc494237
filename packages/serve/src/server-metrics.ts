// The metrics `ferry serve` exports on /metrics. Inference series carry the served model's name and
// version, so Prometheus can tell a canary from the stable version it runs beside; the route label
// is the path template, never the raw path, so clients cannot grow the series without bound.
import type { FailureReason } from './errors.js';
import { MetricsRegistry, type Counter, type Gauge, type Histogram, type Labels } from './metrics.js';

/** Seconds, from a sub-millisecond model to a request timeout. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface ServerMetricsInfo {
  readonly model: string;
  readonly version: string;
  readonly ferryVersion: string;
  readonly onnxruntimeVersion: string;
}

export class ServerMetrics {
  readonly registry = new MetricsRegistry();
  readonly model: Labels;
  readonly inferenceRequests: Counter;
  readonly inferenceErrors: Counter;
  readonly inferenceDuration: Histogram;
  readonly computeDuration: Histogram;
  readonly inFlight: Gauge;
  readonly queued: Gauge;
  readonly modelReady: Gauge;
  readonly modelLoad: Gauge;
  readonly httpRequests: Counter;

  constructor(info: ServerMetricsInfo) {
    const r = this.registry;
    const modelLabels = ['model', 'version'];
    this.model = { model: info.model, version: info.version };
    this.inferenceRequests = r.counter('ferry_serve_inference_requests', 'Inference requests answered, by HTTP status code.', [...modelLabels, 'code']);
    this.inferenceErrors = r.counter('ferry_serve_inference_errors', 'Inference requests that failed, by reason (bad_request, payload_too_large, overloaded, timeout, injected, internal, ...).', [...modelLabels, 'reason']);
    this.inferenceDuration = r.histogram('ferry_serve_inference_request_duration_seconds', 'Time from receiving an inference request to the end of its response, in seconds, all outcomes.', modelLabels, LATENCY_BUCKETS);
    this.computeDuration = r.histogram('ferry_serve_inference_compute_duration_seconds', 'Time onnxruntime spent running the model for one request, in seconds.', modelLabels, LATENCY_BUCKETS);
    this.inFlight = r.gauge('ferry_serve_inference_in_flight', 'Inference requests received and not yet answered (queued ones included).', modelLabels);
    this.queued = r.gauge('ferry_serve_inference_queued', 'Inference requests waiting for a free inference slot.', modelLabels);
    this.modelReady = r.gauge('ferry_serve_model_ready', '1 while the model is loaded and the server takes requests; 0 while it drains.', modelLabels);
    this.modelLoad = r.gauge('ferry_serve_model_load_duration_seconds', 'Time onnxruntime took to load the model, in seconds.', modelLabels);
    this.httpRequests = r.counter('ferry_serve_http_requests', 'HTTP requests answered, by route template and status code.', ['route', 'code']);
    const build = r.gauge('ferry_serve_build_info', 'Always 1: the Ferry and onnxruntime versions serving.', ['ferry_version', 'onnxruntime_version']);
    build.set({ ferry_version: info.ferryVersion, onnxruntime_version: info.onnxruntimeVersion }, 1);

    const start = r.gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch, in seconds.');
    start.set({}, Math.round((Date.now() - process.uptime() * 1000) / 1000));
    const cpu = r.counter('process_cpu_seconds', 'User and system CPU time spent, in seconds.');
    const rss = r.gauge('process_resident_memory_bytes', 'Resident memory size, in bytes.');
    let cpuSeen = 0;
    r.onCollect(() => {
      const { user, system } = process.cpuUsage();
      const total = (user + system) / 1e6;
      cpu.inc({}, Math.max(0, total - cpuSeen));
      cpuSeen = Math.max(cpuSeen, total);
      rss.set({}, process.memoryUsage.rss());
    });

    // Series exist at zero from the start, so the first rate() after a request is not missing.
    for (const m of [this.inferenceDuration, this.computeDuration, this.inFlight, this.queued, this.modelReady, this.modelLoad]) m.touch(this.model);
    this.inferenceRequests.touch({ ...this.model, code: '200' });
  }

  answered(code: number, seconds: number, reason: FailureReason | undefined): void {
    this.inferenceRequests.inc({ ...this.model, code: String(code) });
    this.inferenceDuration.observe(this.model, seconds);
    if (reason !== undefined) this.inferenceErrors.inc({ ...this.model, reason });
  }
}
