// A small RFC 4180 CSV reader for evaluation results and drift samples: quoted fields (with "" and
// embedded newlines), CRLF or LF, a leading BOM, and errors that name the file and line.
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { errorMessage, InputError } from '@ferry/core';

export interface CsvRecord {
  /** 1-based line on which the record starts. */
  readonly line: number;
  readonly fields: readonly string[];
}

export interface CsvTable {
  readonly file: string;
  readonly header: readonly string[];
  /** Data rows, each with exactly header.length fields; blank lines are skipped. */
  readonly rows: readonly CsvRecord[];
}

/** Largest text file a gate reads (results, samples): beyond this, a sample belongs in a smaller extract. */
export const MAX_GATE_FILE_BYTES = 512 * 1024 * 1024;

/**
 * Reads a text file for a gate: `file` as the user wrote it (resolved against `cwd`), and messages
 * that name it that way.
 */
export async function readGateFile(file: string, what: string, cwd: string): Promise<string> {
  const abs = resolve(cwd, file);
  let size: number;
  try {
    const st = await stat(abs);
    if (!st.isFile()) throw new Error('not a regular file');
    size = st.size;
  } catch (err) {
    throw new InputError(`${what} ${file} cannot be read: ${errorMessage(err)}`, { subject: file });
  }
  if (size > MAX_GATE_FILE_BYTES) {
    throw new InputError(`${what} ${file} is ${size} bytes; gates read at most ${MAX_GATE_FILE_BYTES}`, { subject: file });
  }
  const text = await readFile(abs, 'utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Splits CSV text into records; throws InputError on an unterminated quote or a stray one. */
export function parseCsvRecords(text: string, file: string, delimiter = ','): CsvRecord[] {
  const records: CsvRecord[] = [];
  const n = text.length;
  const delim = delimiter.charCodeAt(0);
  const QUOTE = 34;
  const LF = 10;
  const CR = 13;
  let line = 1;
  let i = 0;
  while (i < n) {
    const recordLine = line;
    const fields: string[] = [];
    let blank = true; // nothing but an empty unquoted field so far
    for (;;) {
      // One field, starting at i.
      if (text.charCodeAt(i) === QUOTE) {
        blank = false;
        const startLine = line;
        let value = '';
        let from = i + 1;
        for (;;) {
          const q = text.indexOf('"', from);
          if (q < 0) throw new InputError(`${file}:${startLine}: quoted field is never closed`, { subject: file });
          value += text.slice(from, q);
          if (text.charCodeAt(q + 1) === QUOTE) {
            value += '"';
            from = q + 2;
            continue;
          }
          i = q + 1;
          break;
        }
        for (let k = value.indexOf('\n'); k >= 0; k = value.indexOf('\n', k + 1)) line++;
        fields.push(value);
        const c = text.charCodeAt(i);
        if (i < n && c !== delim && c !== LF && c !== CR) {
          throw new InputError(`${file}:${line}: unexpected text after a closing quote`, { subject: file });
        }
      } else {
        let j = i;
        for (; j < n; j++) {
          const c = text.charCodeAt(j);
          if (c === delim || c === LF || c === CR) break;
          if (c === QUOTE) {
            throw new InputError(`${file}:${line}: a quote inside an unquoted field (quote the whole field and double the quote)`, {
              subject: file,
            });
          }
        }
        if (j > i) blank = false;
        fields.push(text.slice(i, j));
        i = j;
      }
      if (i < n && text.charCodeAt(i) === delim) {
        blank = false;
        i++;
        continue;
      }
      break;
    }
    // End of record: a newline (CRLF, LF or CR) or the end of the text.
    if (i < n) {
      i += text.charCodeAt(i) === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
      line++;
    }
    if (!blank) records.push({ line: recordLine, fields });
  }
  return records;
}

/** Parses CSV with a header row; every data row must have as many fields as the header. */
export function parseCsvTable(text: string, file: string, delimiter = ','): CsvTable {
  const records = parseCsvRecords(text, file, delimiter);
  const first = records[0];
  if (first === undefined) throw new InputError(`${file}: the file is empty; expected a header row`, { subject: file });
  const header = first.fields.map((h) => h.trim());
  const seen = new Set<string>();
  header.forEach((h, i) => {
    if (h === '') throw new InputError(`${file}:${first.line}: column ${i + 1} of the header has no name`, { subject: file });
    if (seen.has(h)) throw new InputError(`${file}:${first.line}: column "${h}" appears twice in the header`, { subject: file });
    seen.add(h);
  });
  const rows = records.slice(1);
  for (const r of rows) {
    if (r.fields.length !== header.length) {
      throw new InputError(`${file}:${r.line}: expected ${header.length} fields as in the header, found ${r.fields.length}`, {
        subject: file,
      });
    }
  }
  return { file, header, rows };
}

/** The delimiter for a file: tab for .tsv, comma otherwise. */
export function delimiterFor(file: string): string {
  return file.toLowerCase().endsWith('.tsv') ? '\t' : ',';
}
