// Reads the evaluation results a user's own evaluation step wrote, in one of these layouts:
//
// JSON (a `.json` file, or any file whose first character is `{`):
//   {"accuracy": 0.93, "auc": 0.97}                     flat: every numeric value is a metric
//   {"metrics": {"accuracy": 0.93, "latency": {"p95": 41}}, ...}
//                                                       under "metrics"; nested objects flatten with
//                                                       dots (latency.p95); other top-level keys are metadata
//   "slices": {"sex=female": {"accuracy": 0.91}, ...}   per-slice metrics, next to either form above,
//   "slices": [{"slice": "sex=female", "accuracy": 0.91}, ...]   or as a list of records
// CSV (`.csv`, `.tsv`, or anything else):
//   metric,value[,slice]                                one metric per row; an empty slice is overall
//   slice,accuracy,f1,...                               one slice per row; the row named `overall`
//                                                       (or `all`) holds the overall metrics
// Strings, booleans and null in JSON, and empty/NaN/NA cells in CSV, are kept as "unusable": a gate
// on such a metric fails and says what was there. Anything malformed is an InputError naming file:line.
import { InputError } from '@ferry/core';
import { delimiterFor, parseCsvTable, readGateFile } from './csv.js';
import { locateJsonError } from './json-error.js';

/** Metrics from one source: an evaluation results file, or the metrics smoke-eval computed. */
export interface EvaluationResults {
  /** What the numbers came from, as shown in messages: the file as written, or `smoke-eval <file>`. */
  readonly source: string;
  /** Overall metrics by name. */
  readonly metrics: ReadonlyMap<string, number>;
  /** Per-slice metrics: slice name → metric name → value. */
  readonly slices: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Overall metrics present without a usable number, with what was there (`null`, `a string "n/a"`). */
  readonly unusable: ReadonlyMap<string, string>;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const MISSING_CELL = new Set(['', 'nan', 'na', 'n/a', 'null', 'none']);
const OVERALL_SLICES = new Set(['overall', 'all']);

/** The 1-based line of the first `"key":` in JSON text (for messages about a key's value). */
function lineOfKey(text: string, key: string): number | undefined {
  const m = new RegExp(`${JSON.stringify(key).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*:`).exec(text);
  return m ? text.slice(0, m.index).split('\n').length : undefined;
}

function at(file: string, line: number | undefined): string {
  return line === undefined ? file : `${file}:${line}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`;
  if (typeof value === 'boolean') return `a boolean (${value})`;
  if (Array.isArray(value)) return 'a list';
  return typeof value;
}

/** Flattens nested objects into dotted metric names. */
function flatten(
  value: Record<string, unknown>,
  prefix: string,
  metrics: Map<string, number>,
  unusable: Map<string, string>,
  skip: ReadonlySet<string> = new Set(),
): void {
  for (const [key, v] of Object.entries(value)) {
    if (prefix === '' && skip.has(key)) continue;
    const name = prefix === '' ? key : `${prefix}.${key}`;
    if (typeof v === 'number') metrics.set(name, v);
    else if (typeof v === 'object' && v !== null && !Array.isArray(v)) flatten(v as Record<string, unknown>, name, metrics, unusable);
    else unusable.set(name, describe(v));
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJsonResults(text: string, file: string): EvaluationResults {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    const at = locateJsonError(text);
    const hint = /\bNaN\b|\bInfinity\b/.test(text) ? 'NaN and Infinity are not JSON: write null for a metric that could not be computed' : undefined;
    const where = at ? `${file}:${at.line}:${at.column}: not valid JSON, unexpected ${at.found}` : `${file}: not valid JSON`;
    throw new InputError(where, hint ? { subject: file, hint } : { subject: file });
  }
  if (!isObject(doc)) throw new InputError(`${file}: evaluation results must be a JSON object, got ${describe(doc)}`, { subject: file });
  const metrics = new Map<string, number>();
  const unusable = new Map<string, string>();
  if ('metrics' in doc) {
    if (!isObject(doc.metrics)) {
      throw new InputError(`${at(file, lineOfKey(text, 'metrics'))}: "metrics" must be an object of metric names to numbers`, { subject: file });
    }
    flatten(doc.metrics, '', metrics, unusable);
  } else {
    flatten(doc, '', metrics, unusable, new Set(['slices']));
  }
  const slices = new Map<string, Map<string, number>>();
  const addSlice = (name: string, values: Record<string, unknown>, skip: ReadonlySet<string>): void => {
    if (slices.has(name)) throw new InputError(`${at(file, lineOfKey(text, name))}: slice "${name}" appears twice`, { subject: file });
    const m = new Map<string, number>();
    flatten(values, '', m, new Map(), skip);
    slices.set(name, m);
  };
  const rawSlices = doc.slices;
  if (Array.isArray(rawSlices)) {
    rawSlices.forEach((entry, i) => {
      if (!isObject(entry) || typeof entry.slice !== 'string' || entry.slice.trim() === '') {
        throw new InputError(`${at(file, lineOfKey(text, 'slices'))}: slices[${i}] must be an object with a "slice" name`, { subject: file });
      }
      addSlice(entry.slice.trim(), entry, new Set(['slice']));
    });
  } else if (isObject(rawSlices)) {
    for (const [name, values] of Object.entries(rawSlices)) {
      if (!isObject(values)) {
        throw new InputError(`${at(file, lineOfKey(text, name))}: slices["${name}"] must be an object of metric names to numbers`, { subject: file });
      }
      addSlice(name, values, new Set());
    }
  } else if (rawSlices !== undefined) {
    throw new InputError(`${at(file, lineOfKey(text, 'slices'))}: "slices" must be an object or a list, got ${describe(rawSlices)}`, { subject: file });
  }
  return { source: file, metrics, slices, unusable };
}

/** A CSV cell as a number, undefined for a missing one, or an InputError for anything else. */
function cellNumber(raw: string, file: string, line: number, what: string): number | undefined {
  const v = raw.trim();
  if (MISSING_CELL.has(v.toLowerCase())) return undefined;
  if (!DECIMAL.test(v)) throw new InputError(`${file}:${line}: ${what} is ${JSON.stringify(raw)}, not a number`, { subject: file });
  return Number(v);
}

function parseCsvResults(text: string, file: string): EvaluationResults {
  const table = parseCsvTable(text, file, delimiterFor(file));
  const lower = table.header.map((h) => h.toLowerCase());
  const metricCol = lower.indexOf('metric');
  const valueCol = lower.indexOf('value');
  const sliceCol = lower.indexOf('slice');
  const metrics = new Map<string, number>();
  const unusable = new Map<string, string>();
  const slices = new Map<string, Map<string, number>>();
  const seen = new Map<string, number>();
  if (metricCol >= 0 && valueCol >= 0) {
    for (const row of table.rows) {
      const name = (row.fields[metricCol] as string).trim();
      if (name === '') throw new InputError(`${file}:${row.line}: the metric name is empty`, { subject: file });
      const slice = sliceCol >= 0 ? (row.fields[sliceCol] as string).trim() : '';
      const key = `${slice}\u0000${name}`;
      const first = seen.get(key);
      if (first !== undefined) {
        throw new InputError(`${file}:${row.line}: metric "${name}"${slice ? ` of slice "${slice}"` : ''} appears twice (first on line ${first})`, {
          subject: file,
        });
      }
      seen.set(key, row.line);
      const raw = row.fields[valueCol] as string;
      const value = cellNumber(raw, file, row.line, `the value of "${name}"`);
      if (slice === '' || OVERALL_SLICES.has(slice.toLowerCase())) {
        if (value === undefined) unusable.set(name, raw.trim() === '' ? 'an empty cell' : `"${raw.trim()}"`);
        else metrics.set(name, value);
      } else {
        const m = slices.get(slice) ?? new Map<string, number>();
        if (value !== undefined) m.set(name, value);
        slices.set(slice, m);
      }
    }
    return { source: file, metrics, slices, unusable };
  }
  if (sliceCol >= 0) {
    for (const row of table.rows) {
      const slice = (row.fields[sliceCol] as string).trim();
      if (slice === '') throw new InputError(`${file}:${row.line}: the slice name is empty`, { subject: file });
      const first = seen.get(slice);
      if (first !== undefined) throw new InputError(`${file}:${row.line}: slice "${slice}" appears twice (first on line ${first})`, { subject: file });
      seen.set(slice, row.line);
      const overall = OVERALL_SLICES.has(slice.toLowerCase());
      const m = overall ? metrics : new Map<string, number>();
      table.header.forEach((name, c) => {
        if (c === sliceCol) return;
        const raw = row.fields[c] as string;
        const value = cellNumber(raw, file, row.line, `column "${name}"`);
        if (value !== undefined) m.set(name, value);
        else if (overall) unusable.set(name, raw.trim() === '' ? 'an empty cell' : `"${raw.trim()}"`);
      });
      if (!overall) slices.set(slice, m);
    }
    return { source: file, metrics, slices, unusable };
  }
  throw new InputError(
    `${file}:1: unrecognised header ${JSON.stringify(table.header.join(','))}: expected "metric,value" (one metric per row, optional "slice" column) or a "slice" column (one slice per row, one column per metric)`,
    { subject: file },
  );
}

/** Parses evaluation results: JSON for `.json` files or text starting with `{`, CSV otherwise. */
export function parseEvaluationResults(text: string, file: string): EvaluationResults {
  const json = file.toLowerCase().endsWith('.json') || text.trimStart().startsWith('{');
  return json ? parseJsonResults(text, file) : parseCsvResults(text, file);
}

/** Reads evaluation results from a file (see the layouts above), resolved against `cwd` and named as written. */
export async function readEvaluationResults(file: string, cwd: string): Promise<EvaluationResults> {
  return parseEvaluationResults(await readGateFile(file, 'evaluation results', cwd), file);
}
