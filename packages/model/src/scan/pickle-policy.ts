// The pickle policy: which globals a pickle may import. Allowlist first; a policy file may allow
// unknown globals by name or module wildcard, but a critical one only by its exact name, and even
// then the finding stays in the report.
import { readFile, stat } from 'node:fs/promises';
import { parse } from 'yaml';
import { errorMessage, InputError } from '@ferry/core';
import { dangerReason, python3Name, SAFE_GLOBALS } from './pickle-globals.js';

export interface PicklePolicy {
  /** `module.name` exactly, `module.*` for a module and its submodules, or `*` for every unknown global. */
  readonly allow: readonly string[];
  /** Same patterns; a denied global is critical even when Ferry would allow it. */
  readonly deny: readonly string[];
  /** The file it was read from, for messages. */
  readonly source?: string;
}

export const DEFAULT_PICKLE_POLICY: PicklePolicy = { allow: [], deny: [] };

export type GlobalClass =
  | { readonly kind: 'safe' }
  | { readonly kind: 'policy-allowed'; readonly pattern: string }
  | { readonly kind: 'dangerous'; readonly reason: string }
  | { readonly kind: 'dangerous-allowed'; readonly reason: string }
  | { readonly kind: 'denied'; readonly pattern: string }
  | { readonly kind: 'unknown' };

const PATTERN = /^(\*|[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(\.\*)?)$/;
const MAX_POLICY_BYTES = 1024 * 1024;

function matches(pattern: string, names: readonly string[]): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) {
    const prefix = pattern.slice(0, -1);
    return names.some((n) => n.startsWith(prefix));
  }
  return names.includes(pattern);
}

/** Decides one global. `name` may be a dotted attribute path (protocol 4 STACK_GLOBAL). */
export function classifyGlobal(module: string, name: string, policy: PicklePolicy): GlobalClass {
  const written = `${module}.${name}`;
  const names = [written, python3Name(module, name)];
  const denied = policy.deny.find((p) => matches(p, names));
  if (denied) return { kind: 'denied', pattern: denied };
  const reason = dangerReason(module, name);
  if (reason) {
    // Only the exact name lifts a critical global: a wildcard written for one module must never let os.system through.
    return policy.allow.some((p) => names.includes(p)) ? { kind: 'dangerous-allowed', reason } : { kind: 'dangerous', reason };
  }
  if (names.some((n) => SAFE_GLOBALS.has(n))) return { kind: 'safe' };
  const allowed = policy.allow.find((p) => matches(p, names));
  return allowed ? { kind: 'policy-allowed', pattern: allowed } : { kind: 'unknown' };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function patterns(doc: Record<string, unknown>, key: 'allow' | 'deny', file: string): string[] {
  const v = doc[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new InputError(`${file}: "${key}" must be a list of globals such as "module.name" or "module.*"`, { subject: file });
  return v.map((p, i) => {
    if (typeof p !== 'string' || !PATTERN.test(p.trim())) {
      throw new InputError(`${file}: ${key}[${i}] ${JSON.stringify(p)} is not "module.name", "module.*" or "*"`, { subject: file });
    }
    return p.trim();
  });
}

/** Checks a parsed policy document (`{ allow: [...], deny: [...] }`). */
export function parsePicklePolicy(doc: unknown, file: string): PicklePolicy {
  if (doc === null || doc === undefined) return { ...DEFAULT_PICKLE_POLICY, source: file };
  if (!isRecord(doc)) throw new InputError(`${file}: a pickle policy is a mapping with "allow" and "deny" lists`, { subject: file });
  for (const key of Object.keys(doc)) {
    if (key !== 'allow' && key !== 'deny') {
      throw new InputError(`${file}: unknown key "${key}" in the pickle policy; allowed: allow, deny`, { subject: file });
    }
  }
  return { allow: patterns(doc, 'allow', file), deny: patterns(doc, 'deny', file), source: file };
}

/** Reads a YAML or JSON policy file (JSON is YAML too). */
export async function loadPicklePolicy(path: string): Promise<PicklePolicy> {
  let text: string;
  try {
    if ((await stat(path)).size > MAX_POLICY_BYTES) throw new Error(`larger than ${MAX_POLICY_BYTES} bytes`);
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(`${path}: cannot read the pickle policy: ${errorMessage(err)}`, { subject: path, cause: err });
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new InputError(`${path}: the pickle policy is not valid YAML or JSON: ${errorMessage(err)}`, { subject: path, cause: err });
  }
  return parsePicklePolicy(doc, path);
}
