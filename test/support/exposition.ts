// A strict reader of the Prometheus text exposition format (0.0.4) and OpenMetrics 1.0.0, for tests
// that check what a /metrics endpoint serves: it throws on anything a scraper could reject, and
// checks histogram invariants (cumulative buckets, +Inf equal to _count).

export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  /** Family name → type, as declared by # TYPE. */
  readonly types: ReadonlyMap<string, string>;
  readonly samples: readonly MetricSample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+(-?\\d+(?:\\.\\d+)?))?$`);
const SUFFIXES: Readonly<Record<string, readonly string[]>> = {
  counter: ['_total', '_created'],
  gauge: [''],
  histogram: ['_bucket', '_sum', '_count', '_created'],
  summary: ['', '_sum', '_count', '_created'],
  untyped: [''],
  unknown: [''],
  info: ['_info'],
  stateset: [''],
  gaugehistogram: ['_bucket', '_gsum', '_gcount'],
};

function parseValue(text: string, line: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new Error(`bad sample value ${JSON.stringify(text)} in: ${line}`);
  return Number(text);
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(text.slice(i));
    if (!m) throw new Error(`bad label at ${JSON.stringify(text.slice(i))} in: ${line}`);
    i += m[0].length;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
      i++;
      if (c === '"') break;
      if (c === '\\') {
        const e = text[i++];
        if (e === 'n') value += '\n';
        else if (e === '\\' || e === '"') value += e;
        else throw new Error(`bad escape \\${e} in: ${line}`);
      } else {
        value += c;
      }
    }
    if (m[1]! in labels) throw new Error(`label ${m[1]} repeated in: ${line}`);
    labels[m[1]!] = value;
    if (text[i] === ',') i++;
    else if (i !== text.length) throw new Error(`expected , after a label in: ${line}`);
  }
  return labels;
}

/** Parses and validates; `openmetrics` also requires the `# EOF` terminator and OpenMetrics family names. */
export function parseExposition(text: string, format: 'prometheus' | 'openmetrics'): Exposition {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: MetricSample[] = [];
  const seen = new Set<string>();
  let eof = false;
  const familyOf = (name: string): string | undefined => {
    for (const [family, type] of types) {
      // The text format names a counter family with its _total; OpenMetrics names it without.
      const suffixes = format === 'prometheus' && type === 'counter' ? [''] : (SUFFIXES[type] ?? ['']);
      for (const suffix of suffixes) if (name === family + suffix) return family;
    }
    return undefined;
  };
  for (const line of lines) {
    if (eof) throw new Error(`content after # EOF: ${line}`);
    if (line === '# EOF') {
      if (format !== 'openmetrics') throw new Error('# EOF in the text format');
      eof = true;
      continue;
    }
    if (line.startsWith('#')) {
      const m = new RegExp(`^# (HELP|TYPE|UNIT) (${NAME})(?: (.*))?$`).exec(line);
      if (!m) {
        if (format === 'openmetrics') throw new Error(`bad comment line: ${line}`);
        continue;
      }
      const [, kind, name, rest = ''] = m;
      if (kind === 'TYPE') {
        if (types.has(name!)) throw new Error(`second # TYPE for ${name}`);
        if (!(rest in SUFFIXES)) throw new Error(`unknown type ${rest} for ${name}`);
        if (format === 'openmetrics' && rest === 'counter' && name!.endsWith('_total')) throw new Error(`OpenMetrics counter family ${name} must not end in _total`);
        if (samples.some((s) => familyOf(s.name) === name)) throw new Error(`# TYPE ${name} after its samples`);
        types.set(name!, rest);
      } else if (kind === 'HELP') {
        if (helps.has(name!)) throw new Error(`second # HELP for ${name}`);
        helps.add(name!);
      }
      continue;
    }
    if (line.trim() === '') {
      if (format === 'openmetrics') throw new Error('blank line in OpenMetrics');
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`bad sample line: ${line}`);
    const [, name, labelText, valueText] = m;
    const labels = labelText ? parseLabels(labelText, line) : {};
    const family = familyOf(name!);
    if (family === undefined) throw new Error(`sample ${name} has no # TYPE before it`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`duplicate series: ${line}`);
    seen.add(key);
    const value = parseValue(valueText!, line);
    if (types.get(family) === 'counter' && !(value >= 0)) throw new Error(`negative counter: ${line}`);
    samples.push({ name: name!, labels, value });
  }
  if (format === 'openmetrics' && !eof) throw new Error('OpenMetrics exposition without # EOF');
  checkHistograms(types, samples);
  return { types, samples };
}

function checkHistograms(types: ReadonlyMap<string, string>, samples: readonly MetricSample[]): void {
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const series = new Map<string, { buckets: [number, number][]; count?: number }>();
    const keyOf = (labels: Readonly<Record<string, string>>): string => JSON.stringify(Object.entries(labels).filter(([k]) => k !== 'le').sort());
    for (const s of samples) {
      if (s.name !== `${family}_bucket` && s.name !== `${family}_count`) continue;
      const entry = series.get(keyOf(s.labels)) ?? { buckets: [] };
      series.set(keyOf(s.labels), entry);
      if (s.name.endsWith('_count')) entry.count = s.value;
      else {
        const le = s.labels.le;
        if (le === undefined) throw new Error(`${family}_bucket without le`);
        entry.buckets.push([parseValue(le, `le="${le}"`), s.value]);
      }
    }
    for (const [key, { buckets, count }] of series) {
      for (let i = 1; i < buckets.length; i++) {
        if (!(buckets[i]![0] > buckets[i - 1]![0])) throw new Error(`${family}${key}: le bounds not increasing`);
        if (buckets[i]![1] < buckets[i - 1]![1]) throw new Error(`${family}${key}: bucket counts not cumulative`);
      }
      const last = buckets.at(-1);
      if (!last || last[0] !== Infinity) throw new Error(`${family}${key}: no le="+Inf" bucket`);
      if (last[1] !== count) throw new Error(`${family}${key}: +Inf bucket ${last[1]} differs from _count ${count}`);
    }
  }
}

/** The value of the one sample named `name` whose labels include `labels`; 0 when there is none. */
export function sampleValue(exposition: Exposition, name: string, labels: Readonly<Record<string, string>> = {}): number {
  const matches = exposition.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matches.length > 1) throw new Error(`${name}${JSON.stringify(labels)} matches ${matches.length} series`);
  return matches[0]?.value ?? 0;
}
