// What one measurement window collects: request counts, errors by class, and the histograms
// (corrected, raw, send lag, connection wait, and the LLM stream metrics). Threads fill their own
// and send them serialised; the coordinator adds them up exactly, counter by counter.
import { addErrorCounts, emptyErrorCounts, type ErrorCounts } from '../errors.js';
import { LatencyHistogram, type HistogramConfig, type SerializedHistogram } from '../histogram/histogram.js';

export const LLM_HISTOGRAMS = ['ttft', 'ttftFromIntended', 'tpot', 'itlChunk', 'itlToken', 'e2e'] as const;
export type LlmHistogramName = (typeof LLM_HISTOGRAMS)[number];

export interface LlmCounters {
  /** Streams that completed without error. */
  streams: number;
  outputTokens: number;
  promptTokens: number;
  /** Streams whose token counts came from `usage` (the rest count one token per content chunk). */
  withUsage: number;
  /** Streams that met every SLO given (all of them when none is). */
  good: number;
  /** Streams of two or more content chunks that all arrived at once (in one read): no ITL to measure. */
  bunched: number;
}

export interface WindowRecord {
  /** -1 is the warm-up. */
  readonly index: number;
  readonly intended: number;
  readonly sent: number;
  readonly ok: number;
  readonly dropped: number;
  readonly connectionWaits: number;
  readonly errors: ErrorCounts;
  readonly statuses: Record<string, number>;
  readonly errorSamples: string[];
  readonly bytesIn: number;
  readonly histograms: Record<'corrected' | 'raw' | 'sendLag' | 'connectionWait', SerializedHistogram>;
  readonly llm?: { readonly counters: LlmCounters; readonly histograms: Record<LlmHistogramName, SerializedHistogram> };
}

const MAX_ERROR_SAMPLES = 5;

export class WindowStats {
  intended = 0;
  sent = 0;
  ok = 0;
  dropped = 0;
  connectionWaits = 0;
  bytesIn = 0;
  /** Requests dispatched (or scheduled) for this window and not yet settled. */
  outstanding = 0;
  readonly errors: ErrorCounts = emptyErrorCounts();
  readonly statuses: Record<string, number> = {};
  readonly errorSamples: string[] = [];
  readonly corrected: LatencyHistogram;
  readonly raw: LatencyHistogram;
  readonly sendLag: LatencyHistogram;
  readonly connectionWait: LatencyHistogram;
  readonly llm: { counters: LlmCounters; histograms: Record<LlmHistogramName, LatencyHistogram> } | undefined;

  constructor(
    readonly index: number,
    config: HistogramConfig,
    streaming: boolean,
  ) {
    this.corrected = new LatencyHistogram(config);
    this.raw = new LatencyHistogram(config);
    this.sendLag = new LatencyHistogram(config);
    this.connectionWait = new LatencyHistogram(config);
    this.llm = streaming
      ? {
          counters: { streams: 0, outputTokens: 0, promptTokens: 0, withUsage: 0, good: 0, bunched: 0 },
          histograms: Object.fromEntries(LLM_HISTOGRAMS.map((n) => [n, new LatencyHistogram(config)])) as Record<LlmHistogramName, LatencyHistogram>,
        }
      : undefined;
  }

  noteError(message: string): void {
    if (this.errorSamples.length < MAX_ERROR_SAMPLES && !this.errorSamples.includes(message)) this.errorSamples.push(message);
  }

  toRecord(): WindowRecord {
    return {
      index: this.index,
      intended: this.intended,
      sent: this.sent,
      ok: this.ok,
      dropped: this.dropped,
      connectionWaits: this.connectionWaits,
      errors: this.errors,
      statuses: this.statuses,
      errorSamples: this.errorSamples,
      bytesIn: this.bytesIn,
      histograms: {
        corrected: this.corrected.toJSON(),
        raw: this.raw.toJSON(),
        sendLag: this.sendLag.toJSON(),
        connectionWait: this.connectionWait.toJSON(),
      },
      ...(this.llm
        ? {
            llm: {
              counters: this.llm.counters,
              histograms: Object.fromEntries(LLM_HISTOGRAMS.map((n) => [n, this.llm!.histograms[n].toJSON()])) as Record<LlmHistogramName, SerializedHistogram>,
            },
          }
        : {}),
    };
  }
}

/** Windows (from several threads, shards or repeats) added together. */
export class WindowAggregate {
  intended = 0;
  sent = 0;
  ok = 0;
  dropped = 0;
  connectionWaits = 0;
  bytesIn = 0;
  parts = 0;
  readonly errors: ErrorCounts = emptyErrorCounts();
  readonly statuses: Record<string, number> = {};
  readonly errorSamples: string[] = [];
  readonly corrected: LatencyHistogram;
  readonly raw: LatencyHistogram;
  readonly sendLag: LatencyHistogram;
  readonly connectionWait: LatencyHistogram;
  llm: { counters: LlmCounters; histograms: Record<LlmHistogramName, LatencyHistogram> } | undefined;

  constructor(private readonly config: HistogramConfig) {
    this.corrected = new LatencyHistogram(config);
    this.raw = new LatencyHistogram(config);
    this.sendLag = new LatencyHistogram(config);
    this.connectionWait = new LatencyHistogram(config);
  }

  addRecord(r: WindowRecord): this {
    this.parts++;
    this.intended += r.intended;
    this.sent += r.sent;
    this.ok += r.ok;
    this.dropped += r.dropped;
    this.connectionWaits += r.connectionWaits;
    this.bytesIn += r.bytesIn;
    addErrorCounts(this.errors, r.errors);
    for (const [s, n] of Object.entries(r.statuses)) this.statuses[s] = (this.statuses[s] ?? 0) + n;
    for (const m of r.errorSamples) if (this.errorSamples.length < MAX_ERROR_SAMPLES && !this.errorSamples.includes(m)) this.errorSamples.push(m);
    this.corrected.add(LatencyHistogram.fromJSON(r.histograms.corrected));
    this.raw.add(LatencyHistogram.fromJSON(r.histograms.raw));
    this.sendLag.add(LatencyHistogram.fromJSON(r.histograms.sendLag));
    this.connectionWait.add(LatencyHistogram.fromJSON(r.histograms.connectionWait));
    if (r.llm) {
      const llm = this.ensureLlm();
      for (const k of Object.keys(llm.counters) as (keyof LlmCounters)[]) llm.counters[k] += r.llm.counters[k];
      for (const n of LLM_HISTOGRAMS) llm.histograms[n].add(LatencyHistogram.fromJSON(r.llm.histograms[n]));
    }
    return this;
  }

  addAggregate(a: WindowAggregate): this {
    this.parts += a.parts;
    this.intended += a.intended;
    this.sent += a.sent;
    this.ok += a.ok;
    this.dropped += a.dropped;
    this.connectionWaits += a.connectionWaits;
    this.bytesIn += a.bytesIn;
    addErrorCounts(this.errors, a.errors);
    for (const [s, n] of Object.entries(a.statuses)) this.statuses[s] = (this.statuses[s] ?? 0) + n;
    for (const m of a.errorSamples) if (this.errorSamples.length < MAX_ERROR_SAMPLES && !this.errorSamples.includes(m)) this.errorSamples.push(m);
    this.corrected.add(a.corrected);
    this.raw.add(a.raw);
    this.sendLag.add(a.sendLag);
    this.connectionWait.add(a.connectionWait);
    if (a.llm) {
      const llm = this.ensureLlm();
      for (const k of Object.keys(llm.counters) as (keyof LlmCounters)[]) llm.counters[k] += a.llm.counters[k];
      for (const n of LLM_HISTOGRAMS) llm.histograms[n].add(a.llm.histograms[n]);
    }
    return this;
  }

  private ensureLlm(): NonNullable<WindowAggregate['llm']> {
    this.llm ??= {
      counters: { streams: 0, outputTokens: 0, promptTokens: 0, withUsage: 0, good: 0, bunched: 0 },
      histograms: Object.fromEntries(LLM_HISTOGRAMS.map((n) => [n, new LatencyHistogram(this.config)])) as Record<LlmHistogramName, LatencyHistogram>,
    };
    return this.llm;
  }
}
