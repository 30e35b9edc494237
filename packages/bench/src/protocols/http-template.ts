// A plain HTTP request from a template: method, path, headers and body with {{name}} placeholders
// filled from each payload object (a JSONL line), for endpoints no other protocol describes.
import { isObject, type ProtocolAdapter } from './types.js';

function fill(template: string, vars: Record<string, unknown>, encode: (s: string) => string): string {
  return template.replace(/\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g, (_m, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new TypeError(`template placeholder {{${name}}} has no value in the payload`);
    return encode(typeof v === 'string' ? v : JSON.stringify(v));
  });
}

export function httpTemplateProtocol(spec: {
  method?: string;
  path: string;
  headers?: Readonly<Record<string, string>>;
  body?: string;
  expectStatus?: readonly number[];
  readyPath?: string;
}): ProtocolAdapter {
  if (!spec.path.startsWith('/')) throw new TypeError(`the request path must start with "/", got ${JSON.stringify(spec.path)}`);
  const method = (spec.method ?? (spec.body === undefined ? 'GET' : 'POST')).toUpperCase();
  return {
    name: 'http',
    streaming: false,
    readyPath: spec.readyPath,
    readsBody: false,
    ...(spec.expectStatus ? { successStatuses: spec.expectStatus } : {}),
    build(payload) {
      const vars = isObject(payload) ? payload : {};
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(spec.headers ?? {})) headers[k] = fill(v, vars, (s) => s);
      const body = spec.body === undefined ? undefined : fill(spec.body, vars, (s) => s);
      return { method, path: fill(spec.path, vars, encodeURIComponent), headers, ...(body === undefined ? {} : { body }) };
    },
  };
}
