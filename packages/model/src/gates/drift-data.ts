// Drift samples as typed columns: reads a reference or current CSV and turns one column into numbers
// or categories, counting missing cells and (in the current sample) values that do not fit the type.
import { InputError } from '@ferry/core';
import { delimiterFor, parseCsvTable, readGateFile, type CsvTable } from './csv.js';

/**
 * Cells that mean "no value" in a numeric column: left out of every test and counted. Non-finite
 * numbers count here too. In a categorical column only an empty cell is missing ("NA" may be Namibia).
 */
const MISSING = new Set(['', 'na', 'n/a', 'nan', 'null', 'none', 'inf', '+inf', '-inf', 'infinity', '+infinity', '-infinity']);
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export type FeatureKind = 'numeric' | 'categorical';

/** Reads a sample CSV (or .tsv) resolved against `cwd`; messages name `file` as written. */
export async function readSampleTable(file: string, what: string, cwd: string): Promise<CsvTable> {
  return parseCsvTable(await readGateFile(file, what, cwd), file, delimiterFor(file));
}

export interface NumericColumn {
  readonly kind: 'numeric';
  readonly values: Float64Array;
  readonly missing: number;
  /** Cells that are neither missing nor numbers (only counted in a current sample). */
  readonly invalid: number;
  /** The first invalid cell, for the message. */
  readonly firstInvalid?: { readonly line: number; readonly text: string };
}

export interface CategoricalColumn {
  readonly kind: 'categorical';
  readonly counts: Map<string, number>;
  readonly total: number;
  readonly missing: number;
}

export type Column = NumericColumn | CategoricalColumn;

function isMissing(cell: string): boolean {
  return MISSING.has(cell.toLowerCase());
}

/** Numeric when every non-missing cell of the column is a decimal number (and there is at least one). */
export function looksNumeric(table: CsvTable, index: number): boolean {
  let seen = 0;
  for (const row of table.rows) {
    const cell = (row.fields[index] as string).trim();
    if (isMissing(cell)) continue;
    if (!DECIMAL.test(cell)) return false;
    seen++;
  }
  return seen > 0;
}

/**
 * One column as numbers. With `strict` (the reference, which defines the type), a non-number is
 * an InputError naming file:line; otherwise it is counted as invalid, which fails the gate.
 */
export function numericColumn(table: CsvTable, index: number, strict: boolean): NumericColumn {
  const values = new Float64Array(table.rows.length);
  let n = 0;
  let missing = 0;
  let invalid = 0;
  let firstInvalid: { line: number; text: string } | undefined;
  for (const row of table.rows) {
    const cell = (row.fields[index] as string).trim();
    if (isMissing(cell)) {
      missing++;
    } else if (DECIMAL.test(cell)) {
      values[n++] = Number(cell);
    } else if (strict) {
      throw new InputError(`${table.file}:${row.line}: column "${table.header[index]}" is numeric, but holds ${JSON.stringify(cell)}`, {
        subject: table.file,
      });
    } else {
      invalid++;
      firstInvalid ??= { line: row.line, text: cell };
    }
  }
  return { kind: 'numeric', values: values.subarray(0, n), missing, invalid, ...(firstInvalid ? { firstInvalid } : {}) };
}

/** One column as category counts (cells trimmed; empty cells left out and counted). */
export function categoricalColumn(table: CsvTable, index: number): CategoricalColumn {
  const counts = new Map<string, number>();
  let missing = 0;
  let total = 0;
  for (const row of table.rows) {
    const cell = (row.fields[index] as string).trim();
    if (cell === '') {
      missing++;
      continue;
    }
    counts.set(cell, (counts.get(cell) ?? 0) + 1);
    total++;
  }
  return { kind: 'categorical', counts, total, missing };
}
