// A small metrics registry with Prometheus text exposition (format 0.0.4) and OpenMetrics 1.0.0
// output: counters, gauges and fixed-bucket histograms with labels. Hand-written because the servers
// (ferry serve, the local rollout router) need a few dozen lines of it, not a dependency.

export type Labels = Readonly<Record<string, string>>;
export type ExpositionFormat = 'prometheus' | 'openmetrics';

export const CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = {
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

/** OpenMetrics only when the scraper asks for it (Prometheus does, by default), else the classic text. */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  return accept !== undefined && /application\/openmetrics-text/i.test(accept) ? 'openmetrics' : 'prometheus';
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string, format: ExpositionFormat): string {
  const s = v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return format === 'openmetrics' ? s.replace(/"/g, '\\"') : s;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Bucket bounds as OpenMetrics wants them (`1.0`, not `1`); the text format reads both. */
function formatBound(v: number): string {
  if (v === Infinity) return '+Inf';
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}

function labelText(names: readonly string[], values: readonly string[], extra?: readonly [string, string]): string {
  const parts = names.map((n, i) => `${n}="${escapeLabelValue(values[i] ?? '')}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

interface MetricFamily {
  readonly name: string;
  render(format: ExpositionFormat): string[];
}

abstract class Family<S> implements MetricFamily {
  protected readonly series = new Map<string, { values: string[]; state: S }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    if (!NAME.test(name)) throw new Error(`invalid metric name ${name}`);
    for (const l of labelNames) if (!LABEL.test(l) || l === 'le') throw new Error(`invalid label name ${l} on ${name}`);
  }

  protected abstract initial(): S;

  protected get(labels: Labels): S {
    const values = this.labelNames.map((n) => labels[n] ?? '');
    const key = values.join('\u0000');
    let entry = this.series.get(key);
    if (!entry) {
      entry = { values, state: this.initial() };
      this.series.set(key, entry);
    }
    return entry.state;
  }

  /** Makes the series exist (at zero) before the first event, so rates start from a sample. */
  touch(labels: Labels): void {
    this.get(labels);
  }

  abstract render(format: ExpositionFormat): string[];
}

export class Counter extends Family<{ value: number }> {
  protected initial(): { value: number } {
    return { value: 0 };
  }
  inc(labels: Labels = {}, by = 1): void {
    if (by < 0) throw new Error(`${this.name}: a counter only goes up`);
    this.get(labels).value += by;
  }
  value(labels: Labels = {}): number {
    return this.get(labels).value;
  }
  render(format: ExpositionFormat): string[] {
    // OpenMetrics names the family without the _total suffix its samples carry.
    const family = format === 'openmetrics' ? this.name : `${this.name}_total`;
    const lines = [`# HELP ${family} ${escapeHelp(this.help, format)}`, `# TYPE ${family} counter`];
    for (const { values, state } of this.series.values()) lines.push(`${this.name}_total${labelText(this.labelNames, values)} ${formatValue(state.value)}`);
    return lines;
  }
}

export class Gauge extends Family<{ value: number }> {
  protected initial(): { value: number } {
    return { value: 0 };
  }
  set(labels: Labels, value: number): void {
    this.get(labels).value = value;
  }
  inc(labels: Labels = {}, by = 1): void {
    this.get(labels).value += by;
  }
  dec(labels: Labels = {}, by = 1): void {
    this.get(labels).value -= by;
  }
  value(labels: Labels = {}): number {
    return this.get(labels).value;
  }
  render(format: ExpositionFormat): string[] {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help, format)}`, `# TYPE ${this.name} gauge`];
    for (const { values, state } of this.series.values()) lines.push(`${this.name}${labelText(this.labelNames, values)} ${formatValue(state.value)}`);
    return lines;
  }
}

interface HistogramState {
  /** Per-bucket (non-cumulative) counts; the last is the +Inf overflow. */
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Family<HistogramState> {
  readonly buckets: readonly number[];
  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, labelNames);
    const sorted = [...buckets].sort((a, b) => a - b);
    if (sorted.length === 0 || sorted.some((b, i) => !Number.isFinite(b) || (i > 0 && b === sorted[i - 1]))) throw new Error(`${name}: buckets must be distinct finite numbers`);
    this.buckets = sorted;
  }
  protected initial(): HistogramState {
    return { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }
  observe(labels: Labels, value: number): void {
    const s = this.get(labels);
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]!) i++;
    s.counts[i]! += 1;
    s.sum += value;
    s.count += 1;
  }
  count(labels: Labels = {}): number {
    return this.get(labels).count;
  }
  render(format: ExpositionFormat): string[] {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help, format)}`, `# TYPE ${this.name} histogram`];
    for (const { values, state } of this.series.values()) {
      let cumulative = 0;
      const bounds = [...this.buckets, Infinity];
      bounds.forEach((b, i) => {
        cumulative += state.counts[i]!;
        lines.push(`${this.name}_bucket${labelText(this.labelNames, values, ['le', formatBound(b)])} ${cumulative}`);
      });
      lines.push(`${this.name}_sum${labelText(this.labelNames, values)} ${formatValue(state.sum)}`);
      lines.push(`${this.name}_count${labelText(this.labelNames, values)} ${state.count}`);
    }
    return lines;
  }
}

export class MetricsRegistry {
  private readonly families: MetricFamily[] = [];
  private readonly collectors: (() => void)[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }
  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }
  /** Runs before every render: for values read at scrape time (memory, CPU). */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  private add<F extends MetricFamily>(family: F): F {
    if (this.families.some((f) => f.name === family.name)) throw new Error(`metric ${family.name} is registered twice`);
    this.families.push(family);
    return family;
  }

  render(format: ExpositionFormat): string {
    for (const c of this.collectors) c();
    const lines = this.families.flatMap((f) => f.render(format));
    if (format === 'openmetrics') lines.push('# EOF');
    return `${lines.join('\n')}\n`;
  }
}
