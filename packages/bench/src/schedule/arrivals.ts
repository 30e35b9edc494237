// Open-loop arrival processes: when each request is meant to be sent, as milliseconds from the
// start of a run. One global schedule is drawn from one seed; worker thread i of W takes arrivals
// i, i+W, i+2W…, so the threads together send exactly the schedule one thread would have sent.
import { SeededRandom } from './random.js';

export type ArrivalProcess = 'constant' | 'poisson' | 'gamma';

export interface ArrivalSpec {
  readonly process: ArrivalProcess;
  /** Requests per second offered, over all threads. */
  readonly rate: number;
  /**
   * Gamma shape k ("burstiness", as vLLM's benchmark calls it): inter-arrival gaps are
   * Gamma(k, 1/(rate·k)), mean 1/rate, coefficient of variation 1/√k. k = 1 is Poisson; k < 1 is
   * burstier, k > 1 smoother. Only for `gamma`.
   */
  readonly burstiness?: number;
  readonly seed?: number;
}

export const DEFAULT_SEED = 0x5eed;

/** An endless, deterministic sequence of intended send times (ms from the run's start), increasing. */
export interface ArrivalSequence {
  next(): number;
}

export function arrivalSequence(spec: ArrivalSpec): ArrivalSequence {
  const { rate } = spec;
  if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate must be a positive number of requests per second, got ${rate}`);
  const meanGapMs = 1000 / rate;
  if (spec.process === 'constant') {
    let k = 0;
    // t_k = k/rate computed from k, so rounding never accumulates.
    return { next: () => (k++ * 1000) / rate };
  }
  const random = new SeededRandom(spec.seed ?? DEFAULT_SEED);
  let t = 0;
  if (spec.process === 'poisson') {
    return {
      next: () => {
        t += random.exponential(meanGapMs);
        return t;
      },
    };
  }
  const k = spec.burstiness ?? 1;
  if (!(k > 0) || !Number.isFinite(k)) throw new RangeError(`burstiness (gamma shape) must be a positive number, got ${k}`);
  return {
    next: () => {
      t += random.gamma(k, meanGapMs / k);
      return t;
    },
  };
}

/** The share of a schedule that worker `index` of `count` sends: every count-th arrival from `index`. */
export function shareOf(sequence: ArrivalSequence, index: number, count: number): ArrivalSequence {
  let first = true;
  return {
    next: () => {
      const skip = first ? index : count - 1;
      first = false;
      for (let i = 0; i < skip; i++) sequence.next();
      return sequence.next();
    },
  };
}
