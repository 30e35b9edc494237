// The local router's Prometheus metrics, labelled by slot and version so the judge (through a
// Prometheus scrape or directly) can compare canary with stable over the same window.
import { MetricsRegistry, type Counter, type Gauge, type Histogram } from '@ferry/core';
import type { Slot } from '../../target/types.js';
import { SLOTS, type RouterConfig } from './config.js';

/**
 * 0.5 ms to 60 s in 30 geometric steps (ratio 120000^(1/30) ≈ 1.477), rounded to three
 * significant digits. Fine buckets matter here: the judge reads latency distributions from them,
 * and coarse ones (1-2.5-5) hide a 20 % shift inside one bucket.
 */
export const ROUTER_LATENCY_BUCKETS: readonly number[] = (() => {
  const lo = 0.0005;
  const hi = 60;
  const steps = 30;
  const out: number[] = [];
  for (let i = 0; i <= steps; i++) out.push(Number((lo * (hi / lo) ** (i / steps)).toPrecision(3)));
  return out;
})();

/** Status label for a request whose client went away before any answer (nginx's convention). */
export const CLIENT_CLOSED = '499';

export class RouterMetrics {
  readonly registry = new MetricsRegistry();
  private readonly requests: Counter;
  private readonly duration: Histogram;
  private readonly mirrored: Counter;
  private readonly mirroredDuration: Histogram;
  private readonly mirrorSkipped: Counter;
  private readonly weight: Gauge;
  /** Every (slot, version) the weight gauge has shown, so a version that leaves reads 0, not its old weight. */
  private readonly weightSeries = new Map<string, { slot: Slot; version: string }>();

  constructor() {
    const r = this.registry;
    this.requests = r.counter('ferry_router_requests', 'Requests answered by the router, by the slot and version that answered and the status code (502: upstream refused or reset; 499: client went away first).', ['slot', 'version', 'code']);
    this.duration = r.histogram('ferry_router_request_duration_seconds', 'Time from receiving a request to the end of its response (whole stream for SSE).', ['slot', 'version'], ROUTER_LATENCY_BUCKETS);
    this.mirrored = r.counter('ferry_router_mirrored_requests', 'Copies of requests sent to the canary under mirror routing; their answers are never returned to clients.', ['version', 'code']);
    this.mirroredDuration = r.histogram('ferry_router_mirrored_request_duration_seconds', 'Time the canary took to answer a mirrored copy.', ['version'], ROUTER_LATENCY_BUCKETS);
    this.mirrorSkipped = r.counter('ferry_router_mirror_skipped', 'Requests picked for mirroring but not copied (reason: busy, body-too-large).', ['version', 'reason']);
    this.weight = r.gauge('ferry_router_weight', 'Share of traffic (percent) each slot and version receives now.', ['slot', 'version']);
  }

  request(slot: Slot, version: string, code: number | string, seconds: number): void {
    this.requests.inc({ slot, version, code: String(code) });
    this.duration.observe({ slot, version }, seconds);
  }

  mirror(version: string, code: number | string, seconds: number): void {
    this.mirrored.inc({ version, code: String(code) });
    this.mirroredDuration.observe({ version }, seconds);
  }

  skipped(version: string, reason: 'busy' | 'body-too-large'): void {
    this.mirrorSkipped.inc({ version, reason });
  }

  /**
   * Brings the labelled series in line with `config`: a version's series exist at zero from the
   * moment it is in a slot, so a rate over a fresh window reads 0 instead of no data.
   */
  apply(config: RouterConfig): void {
    for (const s of this.weightSeries.values()) this.weight.set(s, 0);
    for (const slot of SLOTS) {
      const version = config.versions[slot]?.name;
      if (version === undefined) continue;
      this.requests.touch({ slot, version, code: '200' });
      this.duration.touch({ slot, version });
      if (slot === 'canary') {
        this.mirrored.touch({ version, code: '200' });
        this.mirroredDuration.touch({ version });
      }
      this.weightSeries.set(`${slot}\u0000${version}`, { slot, version });
      this.weight.set({ slot, version }, config.weights[slot]);
    }
  }
}
