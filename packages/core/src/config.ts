// Loads and checks ferry.yml: settings per step (and shared defaults) that door inputs override.
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve, sep } from 'node:path';
import { parseDocument } from 'yaml';
import { coerceInput, type InputValue } from './coerce.js';
import { errorMessage, InputError } from './errors.js';
import { isConfigurable } from './inputs.js';
import { parsePipelineSection, type PipelineSettings } from './pipeline-config.js';
import { STEP_DEFINITIONS, type StepName } from './steps/index.js';

export const CONFIG_FILE_NAME = 'ferry.yml';
const MAX_CONFIG_BYTES = 1024 * 1024;

export interface FerryConfig {
  /** Absolute path of the file read, or undefined when none was used. */
  readonly path: string | undefined;
  readonly version: 1;
  /** Values shared by every step that declares the input. */
  readonly defaults: Readonly<Record<string, InputValue>>;
  readonly steps: Readonly<Partial<Record<StepName, Readonly<Record<string, InputValue>>>>>;
  /** What `ferry pipeline` runs the steps on; absent when the file has no `pipeline` section. */
  readonly pipeline?: PipelineSettings;
}

export const EMPTY_CONFIG: FerryConfig = { path: undefined, version: 1, defaults: {}, steps: {} };

/** Edit distance, for "did you mean" hints on misspelled keys. */
function distance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0] ?? 0;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j] ?? 0;
      dp[j] = Math.min((dp[j] ?? 0) + 1, (dp[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length] ?? 0;
}

export function suggest(key: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(key, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Configurable input names of a step. */
function configurableInputs(step: StepName): string[] {
  const def = STEP_DEFINITIONS.find((s) => s.name === step);
  return def ? Object.entries(def.inputs).filter(([, d]) => isConfigurable(d)).map(([n]) => n) : [];
}

/** Checks an already-parsed ferry.yml document and returns typed settings. */
export function parseConfig(doc: unknown, file: string): FerryConfig {
  if (doc === null || doc === undefined) return { ...EMPTY_CONFIG, path: file };
  if (!isRecord(doc)) throw new InputError(`${file}: the top level must be a mapping of keys to settings`, { subject: file });
  const topKeys = ['version', 'defaults', 'pipeline', ...STEP_DEFINITIONS.map((s) => s.name)];
  const steps: Partial<Record<StepName, Record<string, InputValue>>> = {};
  const defaults: Record<string, InputValue> = {};
  let pipeline: PipelineSettings | undefined;
  for (const [key, value] of Object.entries(doc)) {
    if (!topKeys.includes(key)) {
      throw new InputError(`${file}: unknown key "${key}"${suggest(key, topKeys)}; allowed: ${topKeys.join(', ')}`, {
        subject: key,
      });
    }
    if (key === 'version') {
      if (value !== 1) throw new InputError(`${file}: version must be 1, got ${JSON.stringify(value)}`, { subject: 'version' });
      continue;
    }
    if (key === 'pipeline') {
      pipeline = parsePipelineSection(value, file);
      continue;
    }
    if (value === null) continue;
    if (!isRecord(value)) throw new InputError(`${file}: "${key}" must be a mapping`, { subject: key });
    if (key === 'defaults') {
      for (const [name, raw] of Object.entries(value)) {
        const owner = STEP_DEFINITIONS.find((s) => configurableInputs(s.name).includes(name));
        const decl = owner?.inputs[name];
        if (!owner || !decl) {
          const known = [...new Set(STEP_DEFINITIONS.flatMap((s) => configurableInputs(s.name)))];
          throw new InputError(`${file}: unknown key "defaults.${name}"${suggest(name, known)}`, { subject: `defaults.${name}` });
        }
        if (raw !== null) defaults[name] = coerceInput(name, decl, raw, `${file}: defaults.${name}`);
      }
      continue;
    }
    const step = key as StepName;
    const def = STEP_DEFINITIONS.find((s) => s.name === step);
    const allowed = configurableInputs(step);
    const section: Record<string, InputValue> = {};
    for (const [name, raw] of Object.entries(value)) {
      const decl = def?.inputs[name];
      if (!decl || !allowed.includes(name)) {
        const why = decl && !allowed.includes(name) ? ' (it can only be set as an input, never in a file)' : suggest(name, allowed);
        throw new InputError(`${file}: unknown key "${step}.${name}"${why}`, { subject: `${step}.${name}` });
      }
      if (raw !== null) section[name] = coerceInput(name, decl, raw, `${file}: ${step}.${name}`);
    }
    steps[step] = section;
  }
  return { path: file, version: 1, defaults, steps, ...(pipeline ? { pipeline } : {}) };
}

/**
 * Reads ferry.yml. With `explicitPath` the file must exist; otherwise `<cwd>/ferry.yml` is used when present.
 */
export function loadConfig(cwd: string, explicitPath?: string): FerryConfig {
  // Not resolve(cwd, CONFIG_FILE_NAME): ncc's asset relocator reads that expression at bundle time,
  // finds a ferry.yml in the checkout (examples/classifier) and rewrites the path to a copy bundled
  // beside the action, so the action would read the example's file instead of the user's.
  const file = explicitPath ? (isAbsolute(explicitPath) ? explicitPath : resolve(cwd, explicitPath)) : [resolve(cwd), CONFIG_FILE_NAME].join(sep);
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new InputError(`config file ${file} is not a regular file`, { subject: 'config' });
    size = st.size;
  } catch (err) {
    if (err instanceof InputError) throw err;
    if (!explicitPath) return EMPTY_CONFIG;
    throw new InputError(`config file ${file} cannot be read: ${errorMessage(err)}`, { subject: 'config' });
  }
  if (size > MAX_CONFIG_BYTES) throw new InputError(`config file ${file} is larger than 1 MiB`, { subject: 'config' });
  const text = readFileSync(file, 'utf8');
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    throw new InputError(`${file}: invalid YAML: ${first?.message.split('\n')[0] ?? 'parse error'}`, { subject: 'config' });
  }
  return parseConfig(doc.toJS({ maxAliasCount: 100 }), file);
}
