// Model card gate: a card (MODEL_CARD.md or README.md beside the model, or a given path) must exist
// and fill the required fields, either as YAML front-matter keys (Hugging Face style) or as headed
// sections. Placeholders such as the Hugging Face template's "[More Information Needed]" do not count.
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { errorMessage, InputError, type GateResult } from '@ferry/core';
import { configError, isRecord, readBoolean, readRecord, readString, readStringList } from './config-reader.js';

export const MODEL_CARD_DEFAULT_FIELDS = ['license', 'intended_use', 'limitations', 'evaluation'] as const;

/** File names tried in the model directory, in order (compared case-insensitively). */
export const MODEL_CARD_FILE_NAMES = ['MODEL_CARD.md', 'MODELCARD.md', 'README.md'] as const;

/** Other names that fill a field, as front-matter keys or headings (normalised to snake_case). */
const BUILTIN_ALIASES: Readonly<Record<string, readonly string[]>> = {
  license: ['licence', 'license_name'],
  intended_use: ['intended_uses', 'uses', 'direct_use', 'use_cases'],
  limitations: ['risks_and_limitations', 'bias_risks_and_limitations', 'out_of_scope_use'],
  evaluation: ['model_index', 'evaluation_results', 'eval_results', 'results'],
  training_data: ['datasets', 'training_dataset'],
};

export interface ModelCardConfig {
  /** The card's path, relative to the working directory; by default looked up beside the model. */
  readonly path?: string;
  /** Fields that must be present and non-empty (default license, intended_use, limitations, evaluation). */
  readonly required: readonly string[];
  /** Extra names per field, added to the built-in ones (e.g. evaluation: [benchmarks]). */
  readonly aliases: Readonly<Record<string, readonly string[]>>;
}

export interface ModelCardField {
  readonly field: string;
  readonly present: boolean;
  /** Where it was found: `front matter "license"` or `section "Intended uses & limitations"`. */
  readonly source?: string;
}

export interface ModelCardResult extends GateResult {
  /** The card file used, when one was found. */
  readonly path?: string;
  readonly fields: readonly ModelCardField[];
}

const KEYS = ['path', 'required', 'aliases'];

/** `true` (defaults), `false`/absent (no gate), or {path, required, aliases}. Returns undefined for no gate. */
export function parseModelCardConfig(raw: unknown, path: string): ModelCardConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'boolean') return readBoolean(raw, path) ? { required: [...MODEL_CARD_DEFAULT_FIELDS], aliases: {} } : undefined;
  const o = readRecord(raw, path, KEYS);
  const aliases: Record<string, string[]> = {};
  if (o.aliases !== undefined) {
    if (!isRecord(o.aliases)) throw configError(`${path}.aliases`, 'must map a field to a list of other names');
    for (const [field, names] of Object.entries(o.aliases)) aliases[normalise(field)] = readStringList(names, `${path}.aliases.${field}`);
  }
  return {
    ...(o.path === undefined ? {} : { path: readString(o.path, `${path}.path`) }),
    required: o.required === undefined ? [...MODEL_CARD_DEFAULT_FIELDS] : readStringList(o.required, `${path}.required`),
    aliases,
  };
}

/** snake_case words of a key or heading: "Intended Uses & Limitations" → intended_uses_limitations. */
function words(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
}

function normalise(text: string): string {
  return words(text).join('_');
}

/** Word for matching: plural-insensitive ("uses" fills "use"). */
function stem(word: string): string {
  return word.length > 3 && word.endsWith('s') && !word.endsWith('ss') ? word.slice(0, -1) : word;
}

/** Whether `needle`'s words appear consecutively in `hay`'s. */
function containsWords(hay: readonly string[], needle: readonly string[]): boolean {
  if (needle.length === 0) return false;
  const h = hay.map(stem);
  const n = needle.map(stem);
  for (let i = 0; i + n.length <= h.length; i++) {
    if (n.every((w, j) => h[i + j] === w)) return true;
  }
  return false;
}

const PLACEHOLDER = /^(\[?more information needed\]?|todo|tbd|tba|n\/a|none|-+|\.\.\.)$/i;

function isBlankText(text: string): boolean {
  const body = text
    .replace(/<!--[\s\S]*?-->/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^#{1,6}(\s|$)/.test(l) && !/^(=+|-+)$/.test(l) && !PLACEHOLDER.test(l));
  return body.length === 0;
}

function isEmptyValue(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (typeof v === 'string') return isBlankText(v);
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v).length === 0;
  return false;
}

interface Section {
  readonly heading: string;
  readonly line: number;
  readonly body: string;
}

/** Splits a card into YAML front matter (with its first body line) and the markdown after it. */
function splitFrontMatter(text: string): { yaml?: string; markdown: string; markdownLine: number } {
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== '---') return { markdown: text, markdownLine: 1 };
  for (let i = 1; i < lines.length; i++) {
    const l = (lines[i] as string).trim();
    if (l === '---' || l === '...') return { yaml: lines.slice(1, i).join('\n'), markdown: lines.slice(i + 1).join('\n'), markdownLine: i + 2 };
  }
  return { markdown: text, markdownLine: 1 };
}

/**
 * Headed sections (ATX `#` and setext underlines), outside fenced code, each with its body up to
 * the next heading of the same or higher level (so subsections count as content).
 */
function sections(markdown: string, firstLine: number): Section[] {
  const lines = markdown.split(/\r?\n/);
  const heads: { heading: string; level: number; index: number; bodyStart: number }[] = [];
  let fence: string | undefined;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    const f = /^(`{3,}|~{3,})/.exec(line);
    if (f) {
      if (fence === undefined) fence = (f[1] as string)[0];
      else if ((f[1] as string)[0] === fence) fence = undefined;
      return;
    }
    if (fence !== undefined) return;
    const atx = /^(#{1,6})\s+(.*?)(\s+#+)?\s*$/.exec(line);
    if (atx) {
      heads.push({ heading: atx[2] as string, level: (atx[1] as string).length, index: i, bodyStart: i + 1 });
      return;
    }
    // Setext: a text line underlined by === (level 1) or --- (level 2).
    const prev = i > 0 ? (lines[i - 1] as string).trim() : '';
    const last = heads[heads.length - 1];
    if (prev !== '' && /^(=+|-+)$/.test(line) && !(last !== undefined && last.index === i - 1)) {
      heads.push({ heading: prev, level: line.startsWith('=') ? 1 : 2, index: i - 1, bodyStart: i + 1 });
    }
  });
  return heads.map((h, k) => {
    const next = heads.slice(k + 1).find((n) => n.level <= h.level);
    return { heading: h.heading, line: firstLine + h.index, body: lines.slice(h.bodyStart, next?.index ?? lines.length).join('\n') };
  });
}

/** Finds the card: the configured path, or the first of MODEL_CARD_FILE_NAMES beside the model. */
async function locateCard(modelPath: string, config: ModelCardConfig, cwd: string): Promise<{ file?: string; looked: string }> {
  if (config.path !== undefined) {
    const file = resolve(cwd, config.path);
    try {
      if ((await stat(file)).isFile()) return { file, looked: file };
    } catch {
      // reported as a missing card below
    }
    return { looked: file };
  }
  const abs = resolve(cwd, modelPath);
  let dir = abs;
  try {
    if (!(await stat(abs)).isDirectory()) dir = dirname(abs);
  } catch {
    dir = dirname(abs);
  }
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch {
    // an unreadable directory has no card
  }
  for (const wanted of MODEL_CARD_FILE_NAMES) {
    const hit = names.find((n) => n.toLowerCase() === wanted.toLowerCase());
    if (hit !== undefined) {
      const file = join(dir, hit);
      if ((await stat(file)).isFile()) return { file, looked: dir };
    }
  }
  return { looked: `${dir}/{${MODEL_CARD_FILE_NAMES.join(',')}}` };
}

/** Evaluates the model card gate for a model file or directory. */
export async function evaluateModelCardGate(config: ModelCardConfig, options: { readonly modelPath: string; readonly cwd: string }): Promise<ModelCardResult> {
  const threshold = config.required.length === 0 ? 'present' : `present with ${config.required.join(', ')}`;
  const { file, looked } = await locateCard(options.modelPath, config, options.cwd);
  if (file === undefined) {
    return {
      name: 'model card',
      passed: false,
      value: 'missing',
      threshold,
      fields: config.required.map((field) => ({ field, present: false })),
      detail: `no model card found (looked for ${relative(options.cwd, looked) || looked}).`,
    };
  }
  const shown = relative(options.cwd, file) || file;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(`model card ${shown} cannot be read: ${errorMessage(err)}`, { subject: shown });
  }
  const { yaml, markdown, markdownLine } = splitFrontMatter(text);
  let front: Record<string, unknown> = {};
  if (yaml !== undefined) {
    const doc = parseDocument(yaml);
    const error = doc.errors[0];
    if (error) {
      const line = (error.linePos?.[0]?.line ?? 0) + 1; // +1 for the opening ---
      throw new InputError(`${shown}:${line}: front matter is not valid YAML: ${error.message.split('\n')[0]}`, { subject: shown });
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value !== null && value !== undefined && !isRecord(value)) {
      throw new InputError(`${shown}:2: front matter must be a mapping of keys to values`, { subject: shown });
    }
    front = (value as Record<string, unknown> | null) ?? {};
  }
  const heads = sections(markdown, markdownLine);
  const fields: ModelCardField[] = config.required.map((field) => {
    const key = normalise(field);
    const names = [key, ...(BUILTIN_ALIASES[key] ?? []), ...(config.aliases[key] ?? []).map(normalise)];
    for (const [k, v] of Object.entries(front)) {
      if (names.includes(normalise(k)) && !isEmptyValue(v)) return { field, present: true, source: `front matter "${k}"` };
    }
    for (const s of heads) {
      const hw = words(s.heading);
      if (names.some((n) => containsWords(hw, n.split('_'))) && !isBlankText(s.body)) {
        return { field, present: true, source: `section "${s.heading}" (line ${s.line})` };
      }
    }
    return { field, present: false };
  });
  const missing = fields.filter((f) => !f.present).map((f) => f.field);
  const found = fields.filter((f) => f.present).map((f) => `${f.field} (${f.source})`);
  return {
    name: 'model card',
    path: shown,
    passed: missing.length === 0,
    value: config.required.length === 0 ? 'present' : `${fields.length - missing.length} of ${fields.length} fields`,
    threshold,
    fields,
    detail:
      config.required.length === 0
        ? `${shown} is present; no fields are required.`
        : `${shown}: ` +
          [found.length ? `found ${found.join(', ')}` : '', missing.length ? `missing or empty: ${missing.join(', ')}` : '']
            .filter((t) => t !== '')
            .join('; ') +
          (missing.length ? ' (each needs a front-matter key or a headed section with content).' : '.'),
  };
}
