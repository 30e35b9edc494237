// The JSON result of a load run: per load point, the merged measurement, its per-window series,
// its validity, confidence intervals over repeats, and the histograms themselves (serialised, so
// shards and baselines can be merged and compared exactly).
import type { ErrorCounts } from '../errors.js';
import { totalErrors } from '../errors.js';
import type { HistogramSummary, SerializedHistogram } from '../histogram/histogram.js';
import type { LoadPoint } from './options.js';
import { LLM_HISTOGRAMS, type LlmHistogramName, type WindowAggregate } from './window.js';

export interface LlmSummary {
  readonly streams: number;
  readonly outputTokens: number;
  readonly promptTokens: number;
  /** Streams whose token counts came from `usage`. */
  readonly streamsWithUsage: number;
  /** Streams whose content chunks all arrived in one read (buffered): their ITL is 0 and TTFT is their end-to-end time. */
  readonly streamsBunched: number;
  readonly outputTokensPerSecond: number;
  /** Requests per second that met every SLO (all successful streams when no SLO is set). */
  readonly goodput: number;
  readonly goodRequests: number;
  readonly ttftMs: HistogramSummary;
  readonly ttftFromIntendedMs: HistogramSummary;
  readonly tpotMs: HistogramSummary;
  readonly itlChunkMs: HistogramSummary;
  readonly itlTokenMs: HistogramSummary;
  readonly e2eMs: HistogramSummary;
}

export interface MeasurementSummary {
  readonly durationMs: number;
  readonly requests: { readonly scheduled: number; readonly sent: number; readonly ok: number; readonly failed: number; readonly dropped: number };
  /** Successful responses per second (requests assigned to the measured windows by intended send time). */
  readonly throughput: number;
  /** Requests sent per second. */
  readonly achievedRate: number;
  /** Requests the schedule called for per second (open loop: close to the target rate, exactly so for `constant`). */
  readonly scheduledRate: number;
  readonly errorRate: number;
  readonly errors: ErrorCounts;
  readonly statuses: Record<string, number>;
  readonly errorSamples: readonly string[];
  readonly latencyMs: { readonly corrected: HistogramSummary; readonly raw: HistogramSummary };
  readonly sendLagMs: HistogramSummary;
  readonly connectionWaitMs: HistogramSummary;
  /** Requests that waited for a free connection before going out. */
  readonly connectionWaits: number;
  readonly bytesIn: number;
  readonly llm?: LlmSummary;
}

export interface SerializedHistograms {
  readonly corrected: SerializedHistogram;
  readonly raw: SerializedHistogram;
  readonly sendLag: SerializedHistogram;
  readonly connectionWait: SerializedHistogram;
  readonly llm?: Record<LlmHistogramName, SerializedHistogram>;
}

export interface WindowSummary {
  readonly index: number;
  /** From the start of the measurement (after the warm-up), by intended send time. */
  readonly startMs: number;
  readonly durationMs: number;
  readonly summary: MeasurementSummary;
  readonly histograms: Pick<SerializedHistograms, 'corrected' | 'raw'>;
}

export interface ValidityReason {
  readonly code: 'send-lag' | 'rate-shortfall' | 'generator-cpu' | 'dropped' | 'aborted' | 'stalled';
  readonly message: string;
}

export interface Validity {
  readonly valid: boolean;
  /** Why the generator's figures cannot be trusted: the run is invalid, never a server regression. */
  readonly reasons: readonly ValidityReason[];
  /** Worth knowing, not invalidating (for example requests that waited for a connection). */
  readonly warnings: readonly string[];
  readonly checks: {
    readonly sendLagP50Ms: number | undefined;
    readonly sendLagP99Ms: number | undefined;
    /** Sent ÷ scheduled (open loop). */
    readonly sentOverScheduled: number | undefined;
    readonly maxThreadCpu: number | undefined;
    readonly maxEventLoopUtilization: number | undefined;
    readonly dropped: number;
  };
}

export interface ThreadUsage {
  readonly thread: number;
  readonly cpuFraction: number | undefined;
  readonly eventLoopUtilization: number;
  readonly peakConnections: number;
  readonly connectionsOpened: number;
}

export interface RepeatResult {
  readonly repeat: number;
  /** System monotonic clock (ms) at the start of window 0, to line the run up with server-side or GPU samples. */
  readonly measureStartMonotonicMs: number;
  readonly stopReason: 'stable' | 'max-windows' | 'aborted';
  readonly warmup: { readonly durationMs: number; readonly ok: number; readonly failed: number } | undefined;
  readonly windows: readonly WindowSummary[];
  readonly summary: MeasurementSummary;
  readonly threads: readonly ThreadUsage[];
  readonly validity: Validity;
}

export interface Interval {
  readonly mean: number;
  readonly low: number;
  readonly high: number;
  readonly n: number;
}

export interface LoadPointResult {
  readonly load: LoadPoint;
  readonly repeats: readonly RepeatResult[];
  /** All repeats merged. */
  readonly summary: MeasurementSummary;
  /** 95% t-intervals over the repeats' values (with 2 or more repeats). */
  readonly confidence?: { readonly level: number; readonly throughput: Interval; readonly meanMs: Interval; readonly p50Ms: Interval; readonly p99Ms: Interval };
  readonly validity: Validity;
  readonly histograms: SerializedHistograms;
}

export interface LoadResult {
  readonly schema: 'ferry-load/1';
  readonly target: string;
  readonly protocol: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly generator: { readonly threads: number; readonly node: string; readonly shard: { readonly index: number; readonly count: number } };
  readonly points: readonly LoadPointResult[];
  /** Every point valid. */
  readonly valid: boolean;
}

export function summarize(a: WindowAggregate, durationMs: number): MeasurementSummary {
  const failed = totalErrors(a.errors);
  const seconds = durationMs / 1000;
  const rate = (n: number): number => (seconds > 0 ? n / seconds : 0);
  const settled = a.ok + failed;
  return {
    durationMs,
    requests: { scheduled: a.intended, sent: a.sent, ok: a.ok, failed, dropped: a.dropped },
    throughput: rate(a.ok),
    achievedRate: rate(a.sent),
    scheduledRate: rate(a.intended),
    errorRate: settled > 0 ? failed / settled : 0,
    errors: { ...a.errors },
    statuses: { ...a.statuses },
    errorSamples: [...a.errorSamples],
    latencyMs: { corrected: a.corrected.summary(), raw: a.raw.summary() },
    sendLagMs: a.sendLag.summary(),
    connectionWaitMs: a.connectionWait.summary(),
    connectionWaits: a.connectionWaits,
    bytesIn: a.bytesIn,
    ...(a.llm
      ? {
          llm: {
            streams: a.llm.counters.streams,
            outputTokens: a.llm.counters.outputTokens,
            promptTokens: a.llm.counters.promptTokens,
            streamsWithUsage: a.llm.counters.withUsage,
            streamsBunched: a.llm.counters.bunched,
            outputTokensPerSecond: rate(a.llm.counters.outputTokens),
            goodput: rate(a.llm.counters.good),
            goodRequests: a.llm.counters.good,
            ttftMs: a.llm.histograms.ttft.summary(),
            ttftFromIntendedMs: a.llm.histograms.ttftFromIntended.summary(),
            tpotMs: a.llm.histograms.tpot.summary(),
            itlChunkMs: a.llm.histograms.itlChunk.summary(),
            itlTokenMs: a.llm.histograms.itlToken.summary(),
            e2eMs: a.llm.histograms.e2e.summary(),
          },
        }
      : {}),
  };
}

export function serializeHistograms(a: WindowAggregate): SerializedHistograms {
  return {
    corrected: a.corrected.toJSON(),
    raw: a.raw.toJSON(),
    sendLag: a.sendLag.toJSON(),
    connectionWait: a.connectionWait.toJSON(),
    ...(a.llm ? { llm: Object.fromEntries(LLM_HISTOGRAMS.map((n) => [n, a.llm!.histograms[n].toJSON()])) as Record<LlmHistogramName, SerializedHistogram> } : {}),
  };
}
