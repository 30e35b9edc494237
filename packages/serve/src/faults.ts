// Test and demo knobs, never for production: added latency (with jitter) and a seeded fraction of
// 500s, so rollout and benchmark tests can run a real `ferry serve` as a slow or failing canary.
// Seeded so a test run repeats exactly; errors and jitter draw from separate streams, so changing
// one knob does not reshuffle the other.

/** xorshift32 over a scrambled seed: uniform in [0, 1), plenty for Bernoulli draws and jitter. */
export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    // Scramble so that nearby seeds (1, 2, 3) start far apart; xorshift must not start at 0.
    let s = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
    s = Math.imul(s ^ (s >>> 13), 0xc2b2ae35) >>> 0;
    this.state = (s ^ (s >>> 16)) >>> 0 || 0x6d2b79f5;
    for (let i = 0; i < 8; i++) this.next();
  }
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.state = x;
    return x / 4294967296;
  }
}

export interface FaultOptions {
  /** Added to every inference request, in milliseconds. */
  readonly latencyMs: number;
  /** Uniform extra latency in [0, jitterMs). */
  readonly jitterMs: number;
  /** Fraction of inference requests answered 500, in [0, 1]. */
  readonly errorRate: number;
  readonly seed: number;
}

export interface FaultDecision {
  readonly delayMs: number;
  readonly fail: boolean;
}

export class FaultInjector {
  private readonly errors: SeededRandom;
  private readonly jitter: SeededRandom;
  constructor(readonly options: FaultOptions) {
    this.errors = new SeededRandom(options.seed);
    this.jitter = new SeededRandom(options.seed ^ 0x5bd1e995);
  }

  get active(): boolean {
    return this.options.latencyMs > 0 || this.options.jitterMs > 0 || this.options.errorRate > 0;
  }

  /** One decision per inference request, in arrival order. */
  decide(): FaultDecision {
    const { latencyMs, jitterMs, errorRate } = this.options;
    const delayMs = latencyMs + (jitterMs > 0 ? this.jitter.next() * jitterMs : 0);
    const fail = errorRate > 0 && this.errors.next() < errorRate;
    return { delayMs, fail };
  }
}
