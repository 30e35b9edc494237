// Shadow rollouts judge model quality on the requests users really sent: the router copies them
// to the canary and keeps both answers. This source takes the paired outputs from the router's
// mirror log and everything else (latency, errors) from the source it wraps, so a shadow canary is
// compared on live inputs, never answering a user.
import type { JudgeWindow, PairedOutput } from '../judge/types.js';
import { AnalysisUnavailableError, PAIRED_KEY, type AnalysisSource, type AnalysisVersions, type TimeWindow } from './types.js';

/** What the source needs from a target that mirrors: its log of paired outputs since a time. */
export interface MirrorLog {
  readonly description: string;
  mirrorPairs(sinceMs: number): Promise<readonly { readonly t: number; readonly stable: PairedOutput; readonly canary: PairedOutput }[]>;
}

export class MirroredPairsSource implements AnalysisSource {
  readonly kind: string;
  readonly description: string;

  constructor(
    private readonly inner: AnalysisSource,
    private readonly log: MirrorLog,
  ) {
    this.kind = inner.kind;
    this.description = `${inner.description}; model quality from requests mirrored by ${log.description}`;
  }

  start(versions: AnalysisVersions, signal: AbortSignal): Promise<void> {
    return this.inner.start(versions, signal);
  }

  async collect(versions: AnalysisVersions, window: TimeWindow, signal: AbortSignal): Promise<JudgeWindow> {
    const base = await this.inner.collect(versions, window, signal);
    let pairs;
    try {
      pairs = (await this.log.mirrorPairs(window.startMs)).filter((p) => p.t <= window.endMs);
    } catch (error) {
      throw new AnalysisUnavailableError(`cannot read the mirrored pairs from ${this.log.description}: ${(error as Error).message}`);
    }
    // No mirrored pair yet is missing data for the quality metric, never agreement.
    const paired = pairs.length === 0 ? undefined : { stable: pairs.map((p) => p.stable), canary: pairs.map((p) => p.canary) };
    return { ...base, paired: { ...base.paired, [PAIRED_KEY]: paired } };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
