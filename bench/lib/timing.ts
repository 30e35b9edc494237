// Repeated timing: every contender runs N times, interleaved round by round so that a burst of other
// work on the machine lands on all of them alike; each keeps its samples, median and min.

export interface Summary {
  readonly runs: number;
  readonly medianMs: number;
  readonly minMs: number;
  readonly samplesMs: readonly number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(samplesMs: readonly number[]): Summary {
  return { runs: samplesMs.length, medianMs: median(samplesMs), minMs: Math.min(...samplesMs), samplesMs: [...samplesMs] };
}

/** One run of one contender: its wall time and, when it was a child process, its peak RSS. */
export interface Sample {
  readonly ms: number;
  readonly peakRssBytes?: number | undefined;
}

export interface Contender {
  readonly id: string;
  readonly label: string;
  /** Runs once and throws when the output is wrong (a fast wrong answer is not a result). */
  run(): Promise<Sample>;
}

export interface ContenderResult {
  readonly id: string;
  readonly label: string;
  readonly time?: Summary | undefined;
  /** Median over the runs that reported one. */
  readonly peakRssBytes?: number | undefined;
  readonly error?: string | undefined;
}

/** Times an in-process async call. */
export async function timeCall(fn: () => Promise<unknown>): Promise<Sample> {
  const t0 = performance.now();
  await fn();
  return { ms: performance.now() - t0 };
}

/**
 * Runs `warmups` uncounted rounds, then `runs` counted rounds; each round runs every contender once,
 * starting from a different one each round. A contender that throws is dropped with its error.
 */
export async function measureInterleaved(
  contenders: readonly Contender[],
  options: { runs: number; warmups?: number; onSample?: (c: Contender, round: number, s: Sample) => void },
): Promise<ContenderResult[]> {
  const samples = new Map<string, Sample[]>(contenders.map((c) => [c.id, []]));
  const errors = new Map<string, string>();
  const warmups = options.warmups ?? 0;
  for (let round = 0; round < warmups + options.runs; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(round + k) % contenders.length]!;
      if (errors.has(c.id)) continue;
      try {
        const s = await c.run();
        if (round >= warmups) {
          samples.get(c.id)!.push(s);
          options.onSample?.(c, round - warmups + 1, s);
        }
      } catch (err: unknown) {
        errors.set(c.id, err instanceof Error ? err.message : String(err));
      }
    }
  }
  return contenders.map((c) => {
    const got = samples.get(c.id)!;
    const error = errors.get(c.id);
    if (error !== undefined || got.length === 0) return { id: c.id, label: c.label, error: error ?? 'no runs' };
    const rss = got.map((s) => s.peakRssBytes).filter((v): v is number => v !== undefined);
    return {
      id: c.id,
      label: c.label,
      time: summarize(got.map((s) => s.ms)),
      peakRssBytes: rss.length > 0 ? median(rss) : undefined,
    };
  });
}
