// Index of the description's operations: finds which one `METHOD /path` is, under the
// server's base path, with GitHub's precedence (literal segments win over parameters).
import { deref, serverBasePath, type LoadedSpec, type OpenApiDocument } from './spec.js';

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: unknown;
  /** GitHub's extension: the path parameter may contain '/' (refs like `heads/main`). */
  'x-multi-segment'?: boolean;
}

export interface MediaType {
  schema?: unknown;
}

export interface ResponseObject {
  content?: Record<string, MediaType>;
  headers?: Record<string, unknown>;
}

export interface Operation {
  method: string;
  template: string;
  operationId: string;
  /** GitHub's documentation page for the operation, which its error bodies link to. */
  docsUrl: string;
  parameters: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, MediaType> };
  responses: Record<string, ResponseObject>;
}

export type RouteMatch =
  | { kind: 'operation'; operation: Operation; pathParams: Record<string, string> }
  | { kind: 'wrong-method'; template: string; allowed: string[] }
  | { kind: 'outside-base'; basePath: string }
  | { kind: 'unknown' };

interface Route {
  operation: Operation;
  regex: RegExp;
  names: string[];
  rank: [number, number, number];
}

export const DOCS_URL = 'https://docs.github.com/rest';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const indexes = new WeakMap<LoadedSpec, OperationIndex>();

export class OperationIndex {
  readonly basePath: string;
  private readonly routes: Route[] = [];
  private readonly byOperationId = new Map<string, Operation>();

  private constructor(readonly document: OpenApiDocument) {
    this.basePath = serverBasePath(document);
    for (const [template, item] of Object.entries(document.paths)) {
      const shared = (item.parameters as unknown[] | undefined) ?? [];
      for (const method of METHODS) {
        const raw = item[method] as Record<string, unknown> | undefined;
        if (!raw) continue;
        const operation = resolveOperation(document, method.toUpperCase(), template, raw, shared);
        this.byOperationId.set(operation.operationId, operation);
        this.routes.push(compileRoute(operation));
      }
    }
    // Most specific first: more literal segments, then fewer multi-segment parameters.
    this.routes.sort((a, b) => b.rank[0] - a.rank[0] || a.rank[1] - b.rank[1] || b.rank[2] - a.rank[2]);
  }

  /** One index per loaded description, shared by every fake in the process. */
  static for(spec: LoadedSpec): OperationIndex {
    let index = indexes.get(spec);
    if (!index) {
      index = new OperationIndex(spec.document);
      indexes.set(spec, index);
    }
    return index;
  }

  operation(operationId: string): Operation {
    const op = this.byOperationId.get(operationId);
    if (!op) throw new Error(`GitHub's description has no operation ${operationId}`);
    return op;
  }

  /** `pathname` is the raw (still percent-encoded) request path, base path included. */
  match(method: string, pathname: string): RouteMatch {
    if (this.basePath && !(pathname === this.basePath || pathname.startsWith(`${this.basePath}/`))) {
      return { kind: 'outside-base', basePath: this.basePath };
    }
    const path = pathname.slice(this.basePath.length) || '/';
    const upper = method.toUpperCase();
    let other: Route | undefined;
    for (const route of this.routes) {
      const m = route.regex.exec(path);
      if (!m) continue;
      if (route.operation.method !== upper) {
        other ??= route;
        continue;
      }
      const pathParams: Record<string, string> = {};
      route.names.forEach((name, i) => (pathParams[name] = safeDecode(m[i + 1] ?? '')));
      return { kind: 'operation', operation: route.operation, pathParams };
    }
    if (!other) return { kind: 'unknown' };
    const template = other.operation.template;
    const allowed = this.routes.filter((r) => r.operation.template === template).map((r) => r.operation.method);
    return { kind: 'wrong-method', template, allowed };
  }
}

function resolveOperation(
  document: OpenApiDocument,
  method: string,
  template: string,
  raw: Record<string, unknown>,
  shared: unknown[],
): Operation {
  const own = ((raw.parameters as unknown[] | undefined) ?? []).map((p) => deref<Parameter>(document, p as Parameter));
  // Operation-level parameters override path-level ones of the same name and location.
  const inherited = shared
    .map((p) => deref<Parameter>(document, p as Parameter))
    .filter((p) => !own.some((o) => o.name === p.name && o.in === p.in));
  const responses: Record<string, ResponseObject> = {};
  for (const [status, response] of Object.entries((raw.responses as Record<string, unknown>) ?? {})) {
    responses[status] = deref<ResponseObject>(document, response as ResponseObject);
  }
  const operation: Operation = {
    method,
    template,
    operationId: String(raw.operationId ?? `${method} ${template}`),
    docsUrl: (raw.externalDocs as { url?: string } | undefined)?.url ?? DOCS_URL,
    parameters: [...inherited, ...own],
    responses,
  };
  if (raw.requestBody) {
    operation.requestBody = deref<NonNullable<Operation['requestBody']>>(document, raw.requestBody as { $ref: string });
  }
  return operation;
}

function compileRoute(operation: Operation): Route {
  const multi = new Set(operation.parameters.filter((p) => p.in === 'path' && p['x-multi-segment']).map((p) => p.name));
  const names: string[] = [];
  let literalSegments = 0;
  let literalChars = 0;
  const segments = operation.template.split('/').slice(1).map((segment) => {
    if (!segment.includes('{')) {
      literalSegments++;
      literalChars += segment.length;
      return escapeRegex(segment);
    }
    // A segment may mix literals and parameters, as in compare's `{base}...{head}`.
    return segment.split(/(\{[^}]+\})/).map((part) => {
      const name = /^\{([^}]+)\}$/.exec(part)?.[1];
      if (!name) {
        literalChars += part.length;
        return escapeRegex(part);
      }
      names.push(name);
      return multi.has(name) ? '(.+?)' : '([^/]+?)';
    }).join('');
  });
  // No optional trailing slash: a client that builds `/check-runs/` has a bug worth seeing.
  const regex = new RegExp(`^/${segments.join('/')}$`);
  return { operation, regex, names, rank: [literalSegments, multi.size, literalChars] };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
