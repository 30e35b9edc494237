// Turns a raw input value (a door's string, or a YAML value from ferry.yml) into its declared type,
// or throws an InputError that names where the value came from.
import { InputError } from './errors.js';
import { parse } from 'yaml';
import type { InputDeclaration } from './inputs.js';

export type RawValue = string | number | boolean | readonly unknown[] | null | undefined | object;
export type InputValue = string | number | boolean | string[] | Readonly<Record<string, unknown>> | readonly unknown[];

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `500ms`, `30s`, `2m`, `1h` (or a bare number of seconds) into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const m = DURATION.exec(trimmed);
  if (!m) return undefined;
  return Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1000);
}

function show(value: RawValue): string {
  return typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
}

/** True when a raw value means "not set": absent, null or the empty string (GitHub sends '' for unset inputs). */
export function isUnset(value: RawValue): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

export function coerceInput(name: string, decl: InputDeclaration, value: RawValue, source: string): InputValue {
  const fail = (expected: string): never => {
    throw new InputError(`${source} must be ${expected}, got ${show(value)}`, { subject: name });
  };
  switch (decl.type) {
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string') {
        const v = value.trim().toLowerCase();
        if (v === 'true') return true;
        if (v === 'false') return false;
      }
      return fail('true or false');
    }
    case 'number':
    case 'integer': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value.trim()) : NaN;
      if (!Number.isFinite(n)) return fail(decl.type === 'integer' ? 'an integer' : 'a number');
      if (decl.type === 'integer' && !Number.isInteger(n)) return fail('an integer');
      if (decl.min !== undefined && n < decl.min) return fail(`at least ${decl.min}`);
      if (decl.max !== undefined && n > decl.max) return fail(`at most ${decl.max}`);
      return n;
    }
    case 'duration': {
      const ms =
        typeof value === 'number' && Number.isFinite(value) && value >= 0
          ? value * 1000
          : typeof value === 'string'
            ? parseDuration(value)
            : undefined;
      if (ms === undefined) return fail('a duration such as 500ms, 30s, 2m or 1h');
      return ms;
    }
    case 'list': {
      let items: string[];
      if (Array.isArray(value)) {
        items = value.map((item) => {
          if (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') return String(item).trim();
          return fail('a list of plain values');
        });
      } else if (typeof value === 'string' || typeof value === 'number') {
        items = String(value).split(/[\n,]/).map((s) => s.trim());
      } else {
        return fail('a list (comma or newline separated, or a YAML sequence)');
      }
      items = items.filter((s) => s !== '');
      if (decl.options) {
        for (const item of items) {
          if (!decl.options.includes(item)) return fail(`a list of ${decl.options.join(', ')}`);
        }
      }
      return items;
    }
    case 'object': {
      let v: unknown = value;
      if (typeof value === 'string') {
        try {
          v = parse(value, { maxAliasCount: 100 }) as unknown;
        } catch (err) {
          return fail(`YAML or JSON (${err instanceof Error ? err.message.split('\n')[0] : 'parse error'})`);
        }
      }
      if (typeof v !== 'object' || v === null) return fail('a mapping or a list');
      return v as Readonly<Record<string, unknown>>;
    }
    case 'string':
    case 'path': {
      if (typeof value !== 'string' && typeof value !== 'number') return fail('a string');
      const s = String(value).trim();
      if (decl.options && !decl.options.includes(s)) return fail(`one of ${decl.options.join(', ')}`);
      if (decl.pattern && !new RegExp(decl.pattern).test(s)) return fail(`a value matching ${decl.pattern}`);
      return s;
    }
  }
}
