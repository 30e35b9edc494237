// The benchmark report: what ran, the figures per load point (corrected and raw), charts in
// mermaid `xychart-beta` (GitHub and GitLab both render it), streaming metrics with their
// definitions, GPU use and cost, gates, the baseline comparison, and why a run is invalid.
import type { ReportBlock, ReportSection } from '@ferry/core';
import type { HistogramSummary } from '../histogram/histogram.js';
import type { LoadPointResult, LoadResult } from '../load/result.js';
import { fmtMs, money, num, pct, pointLabel } from './format.js';

const METRICS_DOC = "packages/bench/METRICS.md in Ferry's repository";

function chartNumber(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '0' : num(x, 4);
}

/** A mermaid xychart with one or more lines over shared x labels; mermaid has no legends, so the title names the lines. */
export function xyChart(title: string, xTitle: string, xs: readonly string[], yTitle: string, lines: readonly (readonly (number | undefined)[])[], bar = false): string {
  const top = Math.max(1e-9, ...lines.flat().filter((v): v is number => v !== undefined && Number.isFinite(v)));
  const quoted = (s: string): string => `"${s.replace(/"/g, "'")}"`;
  return [
    'xychart-beta',
    `    title ${quoted(title)}`,
    `    x-axis ${quoted(xTitle)} [${xs.map(quoted).join(', ')}]`,
    `    y-axis ${quoted(yTitle)} 0 --> ${num(top * 1.1, 3)}`,
    ...lines.map((line) => `    ${bar ? 'bar' : 'line'} [${line.map(chartNumber).join(', ')}]`),
  ].join('\n');
}

function latencyRow(label: string, kind: string, h: HistogramSummary): string[] {
  return [label, kind, fmtMs(h.p50), fmtMs(h.p90), fmtMs(h.p95), fmtMs(h.p99), fmtMs(h.p999), fmtMs(h.max)];
}

export function loadSection(load: LoadResult): ReportSection {
  const blocks: ReportBlock[] = [];
  blocks.push({
    kind: 'table',
    columns: ['load', 'throughput', 'sent / scheduled', 'errors', 'windows', 'valid'],
    rows: load.points.map((pt) => {
      const s = pt.summary;
      const repeats = pt.repeats.length;
      const windows = pt.repeats.reduce((n, r) => n + r.windows.length, 0);
      return [
        pointLabel(pt.load),
        `${s.throughput.toFixed(1)} req/s`,
        `${s.requests.sent} / ${s.requests.scheduled}`,
        s.requests.failed === 0 ? '0' : `${s.requests.failed} (${pct(s.errorRate)})`,
        `${windows}${repeats > 1 ? ` in ${repeats} repeats` : ''} (${pt.repeats.map((r) => r.stopReason).join(', ')})`,
        pt.validity.valid ? 'yes' : 'NO',
      ];
    }),
  });
  blocks.push({
    kind: 'table',
    columns: ['load', 'latency', 'p50', 'p90', 'p95', 'p99', 'p99.9', 'max'],
    rows: load.points.flatMap((pt) => [latencyRow(pointLabel(pt.load), 'corrected', pt.summary.latencyMs.corrected), latencyRow('', 'raw', pt.summary.latencyMs.raw)]),
  });
  blocks.push({
    kind: 'paragraph',
    text: 'Corrected latency runs from the intended send time of each request, so time a request spent waiting behind a slow one counts (no coordinated omission); raw latency runs from the actual send. Warm-up requests are left out.',
  });
  const withCi = load.points.filter((pt) => pt.confidence);
  if (withCi.length > 0) {
    blocks.push({
      kind: 'table',
      columns: ['load', 'repeats', 'throughput (95% CI)', 'p50 (95% CI)', 'p99 (95% CI)'],
      rows: withCi.map((pt) => {
        const c = pt.confidence!;
        return [pointLabel(pt.load), String(c.throughput.n), `${c.throughput.mean.toFixed(1)} [${c.throughput.low.toFixed(1)}, ${c.throughput.high.toFixed(1)}]`, `${fmtMs(c.p50Ms.mean)} [${fmtMs(c.p50Ms.low)}, ${fmtMs(c.p50Ms.high)}]`, `${fmtMs(c.p99Ms.mean)} [${fmtMs(c.p99Ms.low)}, ${fmtMs(c.p99Ms.high)}]`];
      }),
    });
  }
  const errorClasses = new Map<string, number>();
  for (const pt of load.points) for (const [k, v] of Object.entries(pt.summary.errors)) if (v > 0) errorClasses.set(k, (errorClasses.get(k) ?? 0) + v);
  if (errorClasses.size > 0) {
    blocks.push({ kind: 'table', columns: ['error class', 'requests'], rows: [...errorClasses.entries()].map(([k, v]) => [k, String(v)]) });
    const samples = [...new Set(load.points.flatMap((pt) => pt.summary.errorSamples))].slice(0, 5);
    if (samples.length > 0) blocks.push({ kind: 'list', items: samples });
  }
  if (load.points.length > 1) {
    const xs = load.points.map((pt) => pointLabel(pt.load).replace(/ req\/s.*$/, '').replace(/^concurrency /, ''));
    const c = load.points.map((pt) => pt.summary.latencyMs.corrected);
    const xTitle = load.points[0]!.load.mode === 'open' ? 'request rate (req/s)' : 'concurrency';
    blocks.push({ kind: 'chart', title: 'Latency by load', mermaid: xyChart('Corrected latency p50, p95, p99 (ms) by load', xTitle, xs, 'ms', [c.map((h) => h.p50), c.map((h) => h.p95), c.map((h) => h.p99)]) });
    blocks.push({ kind: 'chart', title: 'Throughput by load', mermaid: xyChart('Successful requests per second by load', xTitle, xs, 'req/s', [load.points.map((pt) => pt.summary.throughput)], true) });
  } else {
    const pt = load.points[0]!;
    const windows = pt.repeats.flatMap((r) => r.windows);
    if (windows.length > 1) {
      const xs = windows.map((_, i) => `${i + 1}`);
      blocks.push({
        kind: 'chart',
        title: 'Latency per window',
        mermaid: xyChart('Corrected latency p50, p99 (ms) per measurement window', 'window', xs, 'ms', [windows.map((w) => w.summary.latencyMs.corrected.p50), windows.map((w) => w.summary.latencyMs.corrected.p99)]),
      });
    }
  }
  return { heading: 'Load and latency', blocks };
}

export function llmSection(points: readonly LoadPointResult[]): ReportSection | undefined {
  const llm = points.filter((pt) => pt.summary.llm);
  if (llm.length === 0) return undefined;
  const rows: string[][] = [];
  for (const pt of llm) {
    const l = pt.summary.llm!;
    const label = pointLabel(pt.load);
    const metric = (name: string, h: HistogramSummary): string[] => [label, name, fmtMs(h.p50), fmtMs(h.p90), fmtMs(h.p99), String(h.count)];
    rows.push(metric('TTFT', l.ttftMs), metric('TPOT', l.tpotMs), metric('ITL (chunk gaps)', l.itlChunkMs), metric('ITL (per token)', l.itlTokenMs), metric('end to end', l.e2eMs));
  }
  return {
    heading: 'Streaming (LLM) metrics',
    blocks: [
      { kind: 'table', columns: ['load', 'metric', 'p50', 'p90', 'p99', 'samples'], rows },
      {
        kind: 'table',
        columns: ['load', 'streams', 'output tokens/s', 'goodput', 'tokens from usage'],
        rows: llm.map((pt) => {
          const l = pt.summary.llm!;
          return [pointLabel(pt.load), String(l.streams), l.outputTokensPerSecond.toFixed(1), `${l.goodput.toFixed(2)} req/s (${l.goodRequests} good)`, `${l.streamsWithUsage} of ${l.streams} streams`];
        }),
      },
      {
        kind: 'list',
        items: [
          'TTFT: first chunk that carries generated text, minus the send time.',
          'TPOT: per request with 2 or more output tokens, (end to end − TTFT) ÷ (output tokens − 1).',
          'ITL (chunk gaps): the gaps between content chunks, one sample per gap. ITL (per token): each gap divided by the tokens its chunk carried.',
          'Goodput: requests per second that met every SLO given (slo-ttft-ms, slo-tpot-ms); all successful streams when none is given.',
          `Token counts come from the final usage chunk when the server sends one, else from the chunks. Full definitions: ${METRICS_DOC}`,
        ],
      },
    ],
  };
}

export function validitySection(load: LoadResult): ReportSection | undefined {
  const items: string[] = [];
  for (const pt of load.points) {
    for (const r of pt.validity.reasons) items.push(`INVALID at ${pointLabel(pt.load)}: ${r.message}`);
    for (const w of pt.validity.warnings) items.push(`${pointLabel(pt.load)}: ${w}`);
  }
  if (items.length === 0) return undefined;
  const invalid = !load.valid;
  // A stalled closed loop is the server's doing (no answers to measure), not the generator's.
  const codes = new Set(load.points.flatMap((pt) => pt.validity.reasons.map((r) => r.code)));
  const stalledOnly = codes.size === 1 && codes.has('stalled');
  const why = stalledOnly
    ? 'No answer came back within the measurement, so there is nothing to judge: the run is inconclusive, never a pass. Check the server log below, or raise timeout and duration if one request takes longer than the measurement.'
    : 'These figures describe the runner, not the server: the run is marked invalid and is never reported as a server regression. Give the runner more CPU, lower the rate, or shard the load over more runners.';
  return {
    heading: !invalid ? 'Load generator notes' : stalledOnly ? 'Inconclusive run: the server answered nothing to measure' : 'Invalid run: the load generator could not keep its schedule',
    blocks: [
      ...(invalid ? [{ kind: 'paragraph' as const, text: why }] : []),
      { kind: 'list', items },
    ],
  };
}

export interface CostFigures {
  readonly hourlyPrice: number;
  readonly measuredSeconds: number;
  readonly perThousandRequests: number | undefined;
  readonly perMillionTokens: number | undefined;
}

export function costFigures(hourlyPrice: number | undefined, points: readonly LoadPointResult[]): CostFigures | undefined {
  if (hourlyPrice === undefined) return undefined;
  const seconds = points.reduce((n, pt) => n + pt.summary.durationMs / 1000, 0);
  const ok = points.reduce((n, pt) => n + pt.summary.requests.ok, 0);
  const tokens = points.reduce((n, pt) => n + (pt.summary.llm?.outputTokens ?? 0), 0);
  const spent = (hourlyPrice * seconds) / 3600;
  return {
    hourlyPrice,
    measuredSeconds: seconds,
    perThousandRequests: ok > 0 ? (spent / ok) * 1000 : undefined,
    perMillionTokens: tokens > 0 ? (spent / tokens) * 1_000_000 : undefined,
  };
}

export function costBlock(cost: CostFigures): ReportBlock {
  return {
    kind: 'keyvalue',
    entries: [
      ['price per hour', money(cost.hourlyPrice)],
      ['measured time', `${cost.measuredSeconds.toFixed(1)} s`],
      ['cost per 1k requests', money(cost.perThousandRequests)],
      ...(cost.perMillionTokens !== undefined ? [['cost per 1M output tokens', money(cost.perMillionTokens)] as const] : []),
    ],
  };
}

export function serverLogBlock(lines: readonly string[]): ReportBlock {
  return { kind: 'code', language: 'text', text: lines.length > 0 ? lines.join('\n') : '(the server wrote nothing)' };
}
