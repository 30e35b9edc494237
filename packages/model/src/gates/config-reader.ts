// Reading gate settings from a plain object (ferry.yml after YAML parsing, or JSON) with errors that
// name the exact key path, e.g. `validate-model.gates.metrics[1].threshold`.
import { InputError, suggest } from '@ferry/core';

export function configError(path: string, message: string, hint?: string): InputError {
  return new InputError(`${path}: ${message}`, hint === undefined ? { subject: path } : { subject: path, hint });
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value as a mapping whose keys are all in `allowed` (a misspelt key is an error, not ignored). */
export function readRecord(value: unknown, path: string, allowed: readonly string[]): Record<string, unknown> {
  if (!isRecord(value)) throw configError(path, `must be a mapping, got ${show(value)}`);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw configError(`${path}.${key}`, `unknown key${suggest(key, allowed)}; allowed: ${allowed.join(', ')}`);
    }
  }
  return value;
}

export function readString(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw configError(path, `must be a non-empty string, got ${show(value)}`);
  return value.trim();
}

export function optionalString(value: unknown, path: string): string | undefined {
  return value === undefined || value === null ? undefined : readString(value, path);
}

export function readNumber(value: unknown, path: string, range: { min?: number; max?: number; exclusiveMin?: boolean } = {}): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value.trim()) : NaN;
  if (!Number.isFinite(n)) throw configError(path, `must be a number, got ${show(value)}`);
  if (range.min !== undefined && (range.exclusiveMin ? n <= range.min : n < range.min)) {
    throw configError(path, `must be ${range.exclusiveMin ? 'greater than' : 'at least'} ${range.min}, got ${n}`);
  }
  if (range.max !== undefined && n > range.max) throw configError(path, `must be at most ${range.max}, got ${n}`);
  return n;
}

export function optionalNumber(value: unknown, path: string, range: { min?: number; max?: number; exclusiveMin?: boolean } = {}): number | undefined {
  return value === undefined || value === null ? undefined : readNumber(value, path, range);
}

export function readInteger(value: unknown, path: string, min: number): number {
  const n = readNumber(value, path, { min });
  if (!Number.isInteger(n)) throw configError(path, `must be an integer, got ${n}`);
  return n;
}

/** A fraction written as a number (0.01) or a percentage string ("1%"). */
export function readFraction(value: unknown, path: string): number {
  if (typeof value === 'string' && value.trim().endsWith('%')) {
    const n = Number(value.trim().slice(0, -1).trim());
    if (!Number.isFinite(n) || n < 0) throw configError(path, `must be a non-negative percentage like "1%", got ${show(value)}`);
    return n / 100;
  }
  return readNumber(value, path, { min: 0 });
}

export function readStringList(value: unknown, path: string): string[] {
  if (typeof value === 'string') return [readString(value, path)];
  if (!Array.isArray(value)) throw configError(path, `must be a list of strings, got ${show(value)}`);
  return value.map((v, i) => readString(v, `${path}[${i}]`));
}

export function readBoolean(value: unknown, path: string): boolean {
  if (typeof value === 'boolean') return value;
  throw configError(path, `must be true or false, got ${show(value)}`);
}

export function readEnum<T extends string>(value: unknown, path: string, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw configError(path, `must be one of ${allowed.join(', ')}, got ${show(value)}${typeof value === 'string' ? suggest(value, allowed) : ''}`);
}
