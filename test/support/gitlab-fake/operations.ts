// Index of the description's operations: finds which one `METHOD /api/v4/...` is. GitLab takes a
// project as a numeric ID or a URL-encoded path (`group%2Fproject`), so a parameter is one raw
// segment, decoded after matching.
import type { SwaggerDocument, SwaggerOperation, SwaggerParameter } from './spec.js';

/** Where GitLab serves its REST API under the instance URL. */
export const API_BASE = '/api/v4';

export interface Operation {
  method: string;
  template: string;
  operationId: string;
  parameters: SwaggerParameter[];
  responses: SwaggerOperation['responses'];
  /** The description's own entry, for its source and consumes. */
  raw: SwaggerOperation;
}

export type RouteMatch =
  | { kind: 'operation'; operation: Operation; pathParams: Record<string, string> }
  | { kind: 'wrong-method'; template: string; allowed: string[] }
  | { kind: 'outside-base' }
  | { kind: 'unknown' };

interface Route {
  operation: Operation;
  regex: RegExp;
  names: string[];
  literals: number;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const indexes = new WeakMap<SwaggerDocument, OperationIndex>();

export class OperationIndex {
  private readonly routes: Route[] = [];
  private readonly byId = new Map<string, Operation>();

  private constructor(document: SwaggerDocument) {
    for (const [template, item] of Object.entries(document.paths)) {
      const shared = (item.parameters as SwaggerParameter[] | undefined) ?? [];
      for (const method of METHODS) {
        const raw = item[method] as SwaggerOperation | undefined;
        if (!raw) continue;
        const own = raw.parameters ?? [];
        const operation: Operation = {
          method: method.toUpperCase(),
          template,
          operationId: raw.operationId,
          parameters: [...shared.filter((p) => !own.some((o) => o.name === p.name && o.in === p.in)), ...own],
          responses: raw.responses,
          raw,
        };
        this.byId.set(operation.operationId, operation);
        this.routes.push(compileRoute(operation));
      }
    }
    // Literal segments win over parameters (`/notes/{note_id}` is tried before a wider template).
    this.routes.sort((a, b) => b.literals - a.literals);
  }

  static for(document: SwaggerDocument): OperationIndex {
    let index = indexes.get(document);
    if (!index) indexes.set(document, (index = new OperationIndex(document)));
    return index;
  }

  operation(operationId: string): Operation {
    const op = this.byId.get(operationId);
    if (!op) throw new Error(`the GitLab subset has no operation ${operationId}`);
    return op;
  }

  get operations(): Operation[] {
    return [...this.byId.values()];
  }

  /** `pathname` is the raw (still percent-encoded) request path. */
  match(method: string, pathname: string): RouteMatch {
    if (!pathname.startsWith(`${API_BASE}/`)) return { kind: 'outside-base' };
    let other: Route | undefined;
    for (const route of this.routes) {
      const m = route.regex.exec(pathname);
      if (!m) continue;
      if (route.operation.method !== method) {
        other ??= route;
        continue;
      }
      const pathParams: Record<string, string> = {};
      route.names.forEach((name, i) => (pathParams[name] = safeDecode(m[i + 1] ?? '')));
      return { kind: 'operation', operation: route.operation, pathParams };
    }
    if (!other) return { kind: 'unknown' };
    const template = other.operation.template;
    return { kind: 'wrong-method', template, allowed: this.routes.filter((r) => r.operation.template === template).map((r) => r.operation.method) };
  }
}

function compileRoute(operation: Operation): Route {
  const names: string[] = [];
  let literals = 0;
  const pattern = operation.template
    .split('/')
    .map((segment) => {
      const name = /^\{([^}]+)\}$/.exec(segment)?.[1];
      if (!name) {
        literals++;
        return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      }
      names.push(name);
      return '([^/]+)';
    })
    .join('/');
  // No optional trailing slash: a client that builds `/notes/` has a bug worth seeing.
  return { operation, regex: new RegExp(`^${pattern}$`), names, literals };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
