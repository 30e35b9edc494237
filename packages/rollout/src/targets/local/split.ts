// How the local router picks a slot for each request. Deterministic on purpose: a rollout step at
// 5 % must send 5 % of requests to the canary in every window, not 5 % on average over many runs,
// so the judge's sample sizes and the split tests hold exactly.
import type { Routing, Slot, Weights } from '../../target/types.js';

/**
 * Smooth weighted round-robin (nginx's upstream algorithm) over the two slots: each pick adds
 * every slot's weight to its running credit, takes the slot with the most credit and charges it
 * the total. Over any run of N picks a slot's count is within one of N × weight / 100, and the
 * picks interleave (5 % is one canary request in every twenty, not twenty in a row).
 */
export class SmoothWeightedChooser {
  private stableCredit = 0;
  private canaryCredit = 0;

  constructor(private readonly weights: Weights) {}

  next(): Slot {
    const { stable, canary } = this.weights;
    this.stableCredit += stable;
    this.canaryCredit += canary;
    // Ties go to stable, so a 50/50 split starts on the known-good version.
    if (this.canaryCredit > this.stableCredit) {
      this.canaryCredit -= stable + canary;
      return 'canary';
    }
    this.stableCredit -= stable + canary;
    return 'stable';
  }
}

/**
 * Decides which requests are copied to the canary: an accumulator that fires exactly `percent`
 * times in every hundred requests (fractions carry over), evenly spread.
 */
export class MirrorSampler {
  private credit = 0;

  constructor(private readonly percent: number) {}

  next(): boolean {
    this.credit += this.percent;
    if (this.credit >= 100) {
      this.credit -= 100;
      return true;
    }
    return false;
  }
}

/**
 * 32-bit FNV-1a over the UTF-8 bytes, finished with murmur3's avalanche step: FNV alone leaves the
 * low bits of near-identical keys (user-1, user-2, …) correlated, which would skew `% 100`.
 */
export function stickyBucket(key: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % 100;
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** What the data plane does with one request. */
export interface Decision {
  /** The slot whose answer the client gets. */
  readonly slot: Slot;
  /** Also send a copy to the canary (mirror routing). */
  readonly mirror: boolean;
}

/** Per-routing request chooser; a new one is built whenever the routing or weights change. */
export class SlotChooser {
  private readonly weighted: SmoothWeightedChooser;
  private readonly sampler: MirrorSampler | undefined;
  private readonly header: string | undefined;
  private readonly cookie: string | undefined;

  constructor(
    private readonly weights: Weights,
    private readonly routing: Routing,
  ) {
    this.weighted = new SmoothWeightedChooser(weights);
    this.sampler = routing.kind === 'mirror' ? new MirrorSampler(routing.percent) : undefined;
    // Node lower-cases incoming header names; match the configured one the same way.
    this.header = routing.kind === 'sticky' ? routing.header?.toLowerCase() : undefined;
    this.cookie = routing.kind === 'sticky' ? routing.cookie : undefined;
  }

  choose(headers: Readonly<Record<string, string | string[] | undefined>>): Decision {
    switch (this.routing.kind) {
      case 'weighted':
        return { slot: this.weighted.next(), mirror: false };
      case 'mirror':
        return { slot: 'stable', mirror: this.sampler!.next() };
      case 'sticky': {
        const key = this.stickyKey(headers);
        // No key, no identity to keep stable: such requests stay on the known-good version.
        if (key === undefined || key === '') return { slot: 'stable', mirror: false };
        return { slot: stickyBucket(key) < this.weights.canary ? 'canary' : 'stable', mirror: false };
      }
    }
  }

  private stickyKey(headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined {
    if (this.header !== undefined) {
      const v = headers[this.header];
      const value = Array.isArray(v) ? v[0] : v;
      if (value !== undefined && value !== '') return value;
    }
    if (this.cookie !== undefined) {
      const c = headers.cookie;
      return cookieValue(Array.isArray(c) ? c.join('; ') : c, this.cookie);
    }
    return undefined;
  }
}
