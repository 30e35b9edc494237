// The streaming LLM metrics of one request, recorded into its window. Definitions (also in
// packages/bench/METRICS.md): TTFT from the actual send to the first chunk carrying generated text;
// TPOT = (E2E − TTFT) / (output tokens − 1); chunk ITL = every gap between consecutive content
// chunks; token ITL = each gap divided by the tokens its chunk carried, recorded once per token.
import type { StreamOutcome } from '../protocols/types.js';
import type { LlmSlo } from './messages.js';
import type { WindowStats } from './window.js';

/** Tokens carried by each content chunk: reported per chunk, else `usage` shared out by text length, else one per chunk. */
export function chunkTokens(outcome: StreamOutcome): number[] {
  const n = outcome.contentTimes.length;
  if (outcome.tokensPerChunk && outcome.tokensPerChunk.length === n) return [...outcome.tokensPerChunk];
  const total = outcome.completionTokens;
  if (total === undefined || total === n) return new Array<number>(n).fill(1);
  // Largest-remainder apportionment of `total` by characters, so the counts are whole and add up.
  const chars = outcome.charsPerChunk;
  const sum = chars.reduce((a, b) => a + b, 0);
  const weights = sum > 0 ? chars : chars.map(() => 1);
  const exact = weights.map((w) => (total * w) / (sum > 0 ? sum : n));
  const out = exact.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0]);
  for (let j = 0; left > 0 && j < order.length; j++, left--) out[order[j]![1]]!++;
  return out;
}

export function recordStream(llm: NonNullable<WindowStats['llm']>, outcome: StreamOutcome, t: { intended: number; sentAt: number; endAt: number }, slo: LlmSlo | undefined): void {
  const h = llm.histograms;
  const c = llm.counters;
  c.streams++;
  const e2e = t.endAt - t.sentAt;
  h.e2e.record(e2e);
  const times = outcome.contentTimes;
  const outputTokens = outcome.completionTokens ?? times.length;
  c.outputTokens += outputTokens;
  c.promptTokens += outcome.promptTokens ?? 0;
  if (outcome.completionTokens !== undefined) c.withUsage++;
  let ttft: number | undefined;
  let tpot: number | undefined;
  if (times.length > 1 && times[times.length - 1] === times[0]) c.bunched++;
  if (times.length > 0) {
    ttft = times[0]! - t.sentAt;
    h.ttft.record(ttft);
    h.ttftFromIntended.record(times[0]! - t.intended);
    if (outputTokens > 1) {
      tpot = (e2e - ttft) / (outputTokens - 1);
      h.tpot.record(tpot);
    }
    const tokens = chunkTokens(outcome);
    for (let i = 1; i < times.length; i++) {
      const gap = times[i]! - times[i - 1]!;
      h.itlChunk.record(gap);
      const k = tokens[i]!;
      if (k > 0) h.itlToken.record(gap / k, k);
    }
  }
  const good =
    (slo?.ttftMs === undefined || (ttft !== undefined && ttft <= slo.ttftMs)) &&
    (slo?.tpotMs === undefined || tpot === undefined || tpot <= slo.tpotMs) &&
    (slo?.e2eMs === undefined || e2e <= slo.e2eMs);
  if (good) c.good++;
}
