// Sharded runs: several runners each send a share of one schedule (LoadOptions.shard); their
// results merge here point by point, histogram counter by histogram counter, so the merged
// percentiles are exactly those of one run that recorded every request.
import { InputError } from '@ferry/core';
import { emptyErrorCounts } from '../errors.js';
import type { HistogramConfig, SerializedHistogram } from '../histogram/histogram.js';
import { serializeHistograms, summarize, type LoadPointResult, type LoadResult, type MeasurementSummary, type WindowSummary } from './result.js';
import { WindowAggregate, type WindowRecord } from './window.js';

function layoutOf(h: SerializedHistogram): HistogramConfig {
  return { significantDigits: h.significantDigits, highestMicros: h.highestMicros };
}

function record(s: MeasurementSummary, histograms: WindowRecord['histograms'], llm: WindowRecord['llm']): WindowRecord {
  return {
    index: 0,
    intended: s.requests.scheduled,
    sent: s.requests.sent,
    ok: s.requests.ok,
    dropped: s.requests.dropped,
    connectionWaits: s.connectionWaits,
    errors: { ...emptyErrorCounts(), ...s.errors },
    statuses: s.statuses,
    errorSamples: [...s.errorSamples],
    bytesIn: s.bytesIn,
    histograms,
    ...(llm ? { llm } : {}),
  };
}

function pointRecord(pt: LoadPointResult): WindowRecord {
  const s = pt.summary;
  const { llm: llmHistograms, ...core } = pt.histograms;
  const llm =
    llmHistograms && s.llm
      ? { counters: { streams: s.llm.streams, outputTokens: s.llm.outputTokens, promptTokens: s.llm.promptTokens, withUsage: s.llm.streamsWithUsage, good: s.llm.goodRequests, bunched: s.llm.streamsBunched ?? 0 }, histograms: llmHistograms }
      : undefined;
  return record(s, core, llm);
}

export function mergeLoadResults(results: readonly LoadResult[]): LoadResult {
  if (results.length === 0) throw new InputError('no load results to merge', { subject: 'results' });
  const first = results[0]!;
  const seen = new Set<number>();
  for (const r of results) {
    if (r.schema !== 'ferry-load/1') throw new InputError(`not a Ferry load result (schema ${String(r.schema)})`, { subject: 'results' });
    if (r.points.length !== first.points.length) throw new InputError('the shards ran different numbers of load points', { subject: 'results' });
    const { index, count } = r.generator.shard;
    if (count !== results.length) {
      throw new InputError(`shard ${index + 1} of ${count} was given with ${results.length} results: every shard of the run must be merged, once`, { subject: 'results' });
    }
    if (seen.has(index)) throw new InputError(`shard ${index + 1} of ${count} was given twice`, { subject: 'results' });
    seen.add(index);
    r.points.forEach((p, i) => {
      if (JSON.stringify(p.load) !== JSON.stringify(first.points[i]!.load)) {
        throw new InputError(`shard ${index + 1} ran a different load at point ${i + 1} (${JSON.stringify(p.load)} vs ${JSON.stringify(first.points[i]!.load)})`, { subject: 'results' });
      }
    });
    if (r.protocol !== first.protocol) throw new InputError(`shard ${index + 1} used protocol ${r.protocol}, not ${first.protocol}`, { subject: 'results' });
  }
  const points: LoadPointResult[] = first.points.map((p0, i) => {
    const parts = results.map((r) => r.points[i]!);
    const config = layoutOf(p0.histograms.corrected);
    const total = new WindowAggregate(config);
    for (const pt of parts) total.addRecord(pointRecord(pt));
    const durationMs = Math.max(...parts.map((pt) => pt.summary.durationMs));
    // Window series: counts and corrected/raw histograms add up by window index.
    const byIndex = new Map<number, { agg: WindowAggregate; durationMs: number }>();
    for (const pt of parts) {
      for (const w of pt.repeats[0]?.windows ?? []) {
        const empty = new WindowAggregate(config);
        const e = byIndex.get(w.index) ?? { agg: empty, durationMs: w.durationMs };
        e.agg.addRecord(record(w.summary, { ...w.histograms, sendLag: empty.sendLag.toJSON(), connectionWait: empty.connectionWait.toJSON() }, undefined));
        byIndex.set(w.index, e);
      }
    }
    const windows: WindowSummary[] = [...byIndex.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([index, e]) => ({ index, startMs: index * e.durationMs, durationMs: e.durationMs, summary: summarize(e.agg, e.durationMs), histograms: { corrected: e.agg.corrected.toJSON(), raw: e.agg.raw.toJSON() } }));
    const summary = summarize(total, durationMs);
    const reasons = parts.flatMap((pt, shard) => pt.validity.reasons.map((x) => ({ ...x, message: `shard ${shard + 1}: ${x.message}` })));
    const warnings = parts.flatMap((pt, shard) => pt.validity.warnings.map((w) => `shard ${shard + 1}: ${w}`));
    return {
      load: p0.load,
      repeats: [{ repeat: 0, measureStartMonotonicMs: Math.min(...parts.map((pt) => pt.repeats[0]?.measureStartMonotonicMs ?? 0)), stopReason: p0.repeats[0]?.stopReason ?? 'max-windows', warmup: undefined, windows, summary, threads: parts.flatMap((pt) => pt.repeats.flatMap((r) => r.threads)), validity: { ...p0.validity, valid: reasons.length === 0, reasons, warnings } }],
      summary,
      validity: { ...p0.validity, valid: reasons.length === 0, reasons, warnings },
      histograms: serializeHistograms(total),
    };
  });
  return {
    ...first,
    durationMs: Math.max(...results.map((r) => r.durationMs)),
    generator: { ...first.generator, shard: { index: 0, count: results.length } },
    points,
    valid: points.every((p) => p.validity.valid),
  };
}
