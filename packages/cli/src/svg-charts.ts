// Inline SVG charts for the HTML pipeline report, drawn from plain numbers so the page needs no
// script, font or stylesheet from anywhere. Every text is escaped. Each data mark (a bar, a point, an
// interval) has class "mark", so a reader (or a test) can count what was drawn against the data.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for HTML content and attribute values (double- or single-quoted). */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const WIDTH = 600;
const MARGIN = { left: 58, right: 18, top: 30, bottom: 42 } as const;

/** Rounded for SVG coordinates: short attributes, no exponent notation. */
const px = (v: number): string => (Math.round(v * 10) / 10).toString();

/** Compact axis label for a value. */
export function tickLabel(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 10_000) return `${(v / 1000).toFixed(0)}k`;
  if (a >= 100) return v.toFixed(0);
  return Number(v.toPrecision(3)).toString();
}

/** About `count` round values spanning [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max <= min) max = min + (Math.abs(min) || 1);
  const span = max - min;
  const magnitude = 10 ** Math.floor(Math.log10(span / count));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => span / s <= count) ?? 10 * magnitude;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

type Scale = (v: number) => number;

function linear(d0: number, d1: number, r0: number, r1: number): Scale {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

function svg(name: string, title: string, height: number, body: string, width = WIDTH): string {
  return (
    `<figure class="chart"><svg class="chart" data-chart="${escapeHtml(name)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(title)}" xmlns="http://www.w3.org/2000/svg">` +
    `<title>${escapeHtml(title)}</title>${body}</svg><figcaption>${escapeHtml(title)}</figcaption></figure>`
  );
}

interface Axes {
  readonly x: Scale;
  readonly y: Scale;
  readonly height: number;
  readonly svg: string;
}

/** Plot area, y grid with labels, x axis with the given ticks, axis titles. */
function axes(opts: { height?: number; xDomain: [number, number]; yDomain: [number, number]; xTicks: readonly { value: number; label: string }[]; xLabel: string; yLabel: string }): Axes {
  const height = opts.height ?? 240;
  const [x0, x1] = [MARGIN.left, WIDTH - MARGIN.right];
  const [y0, y1] = [height - MARGIN.bottom, MARGIN.top];
  const x = linear(opts.xDomain[0], opts.xDomain[1], x0, x1);
  const y = linear(opts.yDomain[0], opts.yDomain[1], y0, y1);
  const parts: string[] = [];
  for (const t of niceTicks(opts.yDomain[0], opts.yDomain[1], 4)) {
    parts.push(`<line class="grid" x1="${x0}" x2="${x1}" y1="${px(y(t))}" y2="${px(y(t))}"/><text class="tick" x="${x0 - 6}" y="${px(y(t) + 4)}" text-anchor="end">${escapeHtml(tickLabel(t))}</text>`);
  }
  parts.push(`<line class="axis" x1="${x0}" x2="${x1}" y1="${y0}" y2="${y0}"/><line class="axis" x1="${x0}" x2="${x0}" y1="${y0}" y2="${y1}"/>`);
  for (const t of opts.xTicks) {
    parts.push(`<text class="tick" x="${px(x(t.value))}" y="${y0 + 16}" text-anchor="middle">${escapeHtml(t.label)}</text>`);
  }
  parts.push(`<text class="axis-title" x="${(x0 + x1) / 2}" y="${height - 6}" text-anchor="middle">${escapeHtml(opts.xLabel)}</text>`);
  parts.push(`<text class="axis-title" x="14" y="${(y0 + y1) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(y0 + y1) / 2})">${escapeHtml(opts.yLabel)}</text>`);
  return { x, y, height, svg: parts.join('') };
}

function legend(items: readonly { label: string; cls: string }[]): string {
  let x = MARGIN.left;
  return items
    .map((it) => {
      const out = `<rect class="legend-key ${it.cls}" x="${x}" y="8" width="12" height="12"/><text class="legend" x="${x + 16}" y="18">${escapeHtml(it.label)}</text>`;
      x += 28 + it.label.length * 7;
      return out;
    })
    .join('');
}

export interface HistogramBin {
  readonly low: number;
  readonly high: number;
  readonly count: number;
}

/** Bars of counts over value ranges, with labelled vertical markers (percentiles, a limit). */
export function histogramChart(opts: { name: string; title: string; xLabel: string; yLabel: string; bins: readonly HistogramBin[]; markers?: readonly { value: number; label: string; cls?: string }[] }): string {
  const markers = opts.markers ?? [];
  const lo = Math.min(...opts.bins.map((b) => b.low), ...markers.map((m) => m.value));
  const hi = Math.max(...opts.bins.map((b) => b.high), ...markers.map((m) => m.value));
  const top = Math.max(1, ...opts.bins.map((b) => b.count));
  const a = axes({ xDomain: [lo, hi], yDomain: [0, top * 1.15], xTicks: niceTicks(lo, hi, 6).map((v) => ({ value: v, label: tickLabel(v) })), xLabel: opts.xLabel, yLabel: opts.yLabel, height: 250 });
  const bars = opts.bins.map((b) => {
    const x = a.x(b.low);
    const w = Math.max(1, a.x(b.high) - x - 1);
    const yTop = a.y(b.count);
    return `<rect class="mark bar" data-low="${b.low}" data-high="${b.high}" data-count="${b.count}" x="${px(x)}" y="${px(yTop)}" width="${px(w)}" height="${px(a.y(0) - yTop)}"><title>${escapeHtml(`${tickLabel(b.low)}–${tickLabel(b.high)}: ${b.count}`)}</title></rect>`;
  });
  const marks = markers.map((m, i) => {
    const x = px(a.x(m.value));
    return `<line class="marker ${m.cls ?? ''}" x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${a.y(0)}"/><text class="marker-label" x="${x}" y="${MARGIN.top - 4 - (i % 2) * 10}" text-anchor="middle">${escapeHtml(m.label)}</text>`;
  });
  return svg(opts.name, opts.title, a.height, a.svg + bars.join('') + marks.join(''));
}

/** One value per category: bars (counts, rates) or points joined by a line (percentiles). */
export function categoryChart(opts: { name: string; title: string; xLabel: string; yLabel: string; kind: 'bars' | 'points'; values: readonly { label: string; value: number; title?: string }[]; limit?: { value: number; label: string } }): string {
  const n = opts.values.length;
  const top = Math.max(...opts.values.map((v) => v.value), opts.limit?.value ?? 0) * 1.15 || 1;
  const a = axes({ xDomain: [-0.5, n - 0.5], yDomain: [0, top], xTicks: opts.values.map((v, i) => ({ value: i, label: v.label })), xLabel: opts.xLabel, yLabel: opts.yLabel });
  const slot = a.x(1) - a.x(0);
  const parts: string[] = [];
  if (opts.kind === 'points' && n > 1) parts.push(`<polyline class="series-line" points="${opts.values.map((v, i) => `${px(a.x(i))},${px(a.y(v.value))}`).join(' ')}"/>`);
  opts.values.forEach((v, i) => {
    const tip = `<title>${escapeHtml(v.title ?? `${v.label}: ${tickLabel(v.value)}`)}</title>`;
    if (opts.kind === 'bars') {
      const w = Math.min(48, slot * 0.7);
      parts.push(`<rect class="mark bar" data-value="${v.value}" x="${px(a.x(i) - w / 2)}" y="${px(a.y(v.value))}" width="${px(w)}" height="${px(a.y(0) - a.y(v.value))}">${tip}</rect>`);
    } else {
      parts.push(`<circle class="mark point" data-value="${v.value}" cx="${px(a.x(i))}" cy="${px(a.y(v.value))}" r="4.5">${tip}</circle>`);
    }
    parts.push(`<text class="value-label" x="${px(a.x(i))}" y="${px(a.y(v.value) - 8)}" text-anchor="middle">${escapeHtml(tickLabel(v.value))}</text>`);
  });
  if (opts.limit) {
    const y = px(a.y(opts.limit.value));
    parts.push(`<line class="marker limit" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y}" y2="${y}"/><text class="marker-label" x="${WIDTH - MARGIN.right}" y="${Number(y) - 4}" text-anchor="end">${escapeHtml(opts.limit.label)}</text>`);
  }
  return svg(opts.name, opts.title, a.height, a.svg + parts.join(''));
}

export interface LineSeries {
  readonly label: string;
  /** CSS class giving the series its colour (stable, canary, util, power). */
  readonly cls: string;
  readonly points: readonly { x: number; y: number; title?: string }[];
}

/** Series over a numeric x (time); `step` holds each value until the next point (traffic weights). */
export function lineChart(opts: { name: string; title: string; xLabel: string; yLabel: string; series: readonly LineSeries[]; yDomain?: [number, number]; step?: boolean }): string {
  const all = opts.series.flatMap((s) => s.points);
  const xs = all.map((p) => p.x);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const yDomain = opts.yDomain ?? [0, Math.max(1, ...all.map((p) => p.y)) * 1.15];
  const a = axes({ xDomain: [x0, x1 > x0 ? x1 : x0 + 1], yDomain, xTicks: niceTicks(x0, x1 > x0 ? x1 : x0 + 1, 6).map((v) => ({ value: v, label: tickLabel(v) })), xLabel: opts.xLabel, yLabel: opts.yLabel });
  const parts: string[] = [legend(opts.series.map((s) => ({ label: s.label, cls: s.cls })))];
  for (const s of opts.series) {
    const d = s.points
      .map((p, i) => {
        const at = `${px(a.x(p.x))},${px(a.y(p.y))}`;
        if (i === 0) return `M${at}`;
        return opts.step ? `H${px(a.x(p.x))}V${px(a.y(p.y))}` : `L${at}`;
      })
      .join('');
    parts.push(`<path class="series-line ${s.cls}" d="${d}"/>`);
    for (const p of s.points) {
      parts.push(`<circle class="mark point ${s.cls}" data-series="${escapeHtml(s.label)}" data-x="${p.x}" data-y="${p.y}" cx="${px(a.x(p.x))}" cy="${px(a.y(p.y))}" r="3.5"><title>${escapeHtml(p.title ?? `${tickLabel(p.x)}: ${tickLabel(p.y)}`)}</title></circle>`);
    }
  }
  return svg(opts.name, opts.title, a.height, a.svg + parts.join(''));
}

export interface IntervalRow {
  readonly label: string;
  /** The estimate drawn as a point; null draws none. */
  readonly point: number | null;
  /** Interval ends; null is unbounded on that side (drawn to the edge with an arrow). */
  readonly lower: number | null;
  readonly upper: number | null;
  readonly hasInterval: boolean;
  /** Reference lines: the effect floor (± threshold), an absolute limit, zero. */
  readonly refs: readonly { value: number; label: string; cls: 'floor' | 'limit' | 'zero' }[];
  readonly outcome: string;
  readonly format: (v: number) => string;
}

/** One band per check, each on its own scale: the interval and estimate against its floor or limit. */
export function intervalChart(opts: { name: string; title: string; rows: readonly IntervalRow[] }): string {
  const labelWidth = 180;
  const band = 50;
  const height = 24 + band * opts.rows.length + 8;
  const [x0, x1] = [labelWidth, WIDTH - MARGIN.right - 60];
  const parts: string[] = [];
  opts.rows.forEach((row, i) => {
    const top = 24 + i * band;
    const mid = top + band / 2 - 4;
    const finite = [row.point, row.lower, row.upper, ...row.refs.map((r) => r.value)].filter((v): v is number => v !== null && Number.isFinite(v));
    let lo = Math.min(...finite);
    let hi = Math.max(...finite);
    if (!(hi > lo)) [lo, hi] = [lo - (Math.abs(lo) || 1) * 0.5, hi + (Math.abs(hi) || 1) * 0.5];
    const pad = (hi - lo) * 0.12;
    const x = linear(lo - pad, hi + pad, x0, x1);
    parts.push(`<g class="mark interval-row outcome-${escapeHtml(row.outcome)}" data-check="${escapeHtml(row.label)}" data-outcome="${escapeHtml(row.outcome)}">`);
    parts.push(`<line class="axis" x1="${x0}" x2="${x1}" y1="${mid + 12}" y2="${mid + 12}"/>`);
    parts.push(`<text class="row-label" x="${labelWidth - 10}" y="${mid + 4}" text-anchor="end">${escapeHtml(row.label)}</text>`);
    parts.push(`<text class="tick" x="${x0}" y="${mid + 24}" text-anchor="start">${escapeHtml(row.format(lo - pad))}</text><text class="tick" x="${x1}" y="${mid + 24}" text-anchor="end">${escapeHtml(row.format(hi + pad))}</text>`);
    for (const r of row.refs) {
      const rx = px(x(r.value));
      parts.push(`<line class="ref ${r.cls}" x1="${rx}" x2="${rx}" y1="${top + 4}" y2="${mid + 12}"><title>${escapeHtml(r.label)}</title></line>`);
      if (r.cls !== 'zero') parts.push(`<text class="ref-label ${r.cls}" x="${rx}" y="${top + 6}" text-anchor="middle">${escapeHtml(r.label)}</text>`);
    }
    if (row.hasInterval) {
      const l = row.lower === null ? x0 : x(row.lower);
      const u = row.upper === null ? x1 : x(row.upper);
      const ends = [row.lower === null ? `<path class="arrow" d="M${x0},${mid} l8,-5 v10 z"/>` : `<line class="whisker" x1="${px(l)}" x2="${px(l)}" y1="${mid - 6}" y2="${mid + 6}"/>`, row.upper === null ? `<path class="arrow" d="M${x1},${mid} l-8,-5 v10 z"/>` : `<line class="whisker" x1="${px(u)}" x2="${px(u)}" y1="${mid - 6}" y2="${mid + 6}"/>`];
      parts.push(`<line class="interval" x1="${px(l)}" x2="${px(u)}" y1="${mid}" y2="${mid}"/>${ends.join('')}`);
    }
    if (row.point !== null) parts.push(`<circle class="estimate" cx="${px(x(row.point))}" cy="${mid}" r="4"><title>${escapeHtml(row.format(row.point))}</title></circle>`);
    parts.push(`<text class="outcome-label" x="${WIDTH - MARGIN.right}" y="${mid + 4}" text-anchor="end">${escapeHtml(row.outcome)}</text></g>`);
  });
  return svg(opts.name, opts.title, height, parts.join(''));
}
