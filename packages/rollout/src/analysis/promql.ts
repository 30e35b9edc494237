// PromQL query templates: a query per analysis key with a `{{version}}` placeholder, checked when
// the source is built and filled per version with the name escaped for a double-quoted PromQL
// string, so a version label can never end the string and inject query text.
import { InputError } from '@ferry/core';

export const VERSION_PLACEHOLDER = '{{version}}';

/**
 * Checks that every `{{version}}` stands inside a double-quoted string (`version="{{version}}"`):
 * the escaping below is for that context only (PromQL accepts `\"` there, but not `\'`).
 * `where` names the option for the message.
 */
export function checkTemplate(where: string, template: string): void {
  if (typeof template !== 'string' || template.trim() === '') {
    throw new InputError(`${where} must be a non-empty PromQL query`, { subject: where });
  }
  if (!template.includes(VERSION_PLACEHOLDER)) {
    throw new InputError(`${where} has no ${VERSION_PLACEHOLDER} placeholder: without it stable and canary would read the same series (${template})`, { subject: where });
  }
  let quote: string | null = null;
  for (let i = 0; i < template.length; i++) {
    const ch = template[i]!;
    if (template.startsWith(VERSION_PLACEHOLDER, i)) {
      if (quote !== '"') {
        throw new InputError(`${where}: ${VERSION_PLACEHOLDER} must stand inside a double-quoted label value, as in version="${VERSION_PLACEHOLDER}" (${template})`, { subject: where });
      }
      i += VERSION_PLACEHOLDER.length - 1;
    } else if (quote === null) {
      if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    } else if (ch === '\\' && quote !== '`') {
      i++;
    } else if (ch === quote) {
      quote = null;
    }
  }
}

/** A value as the inside of a double-quoted PromQL string (Go escapes; \xHH for control characters). */
export function escapePromqlString(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\' || ch === '"') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}

/** The query for one version. */
export function renderTemplate(template: string, version: string): string {
  return template.split(VERSION_PLACEHOLDER).join(escapePromqlString(version));
}
