// Loads GitHub's official OpenAPI description (npm @octokit/openapi) once per process, because
// parsing it costs a few hundred milliseconds and every GitHubFake in a test file shares it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

/** The parts of an OpenAPI 3.0 document the fake reads; everything else stays `unknown`. */
export interface OpenApiDocument {
  openapi: string;
  info: { version: string };
  servers?: { url: string; variables?: Record<string, { default: string }> }[];
  paths: Record<string, Record<string, unknown>>;
  components: Record<string, Record<string, unknown>>;
}

/** Which description to load: the public service, or an Enterprise Server / Cloud variant. */
export type SpecName = 'api.github.com' | 'ghec' | `ghes-${number}.${number}`;

export interface LoadedSpec {
  name: SpecName;
  document: OpenApiDocument;
  /** Milliseconds spent reading and parsing, for reporting. */
  loadMs: number;
}

const cache = new Map<SpecName, LoadedSpec>();

// The referenced (non-dereferenced) file is ~13 MB against ~73 MB for the deref one; refs are
// resolved lazily per operation, so the smaller file is the faster start.
export function loadSpec(name: SpecName = 'api.github.com'): LoadedSpec {
  const cached = cache.get(name);
  if (cached) return cached;
  const started = performance.now();
  const require = createRequire(import.meta.url);
  const file = require.resolve(`@octokit/openapi/generated/${name}.json`);
  const document = JSON.parse(readFileSync(file, 'utf8')) as OpenApiDocument;
  const loaded: LoadedSpec = { name, document, loadMs: performance.now() - started };
  cache.set(name, loaded);
  return loaded;
}

/**
 * The path prefix every operation lives under, from `servers[0].url`: '' for api.github.com,
 * '/api/v3' for Enterprise Server (`{protocol}://{hostname}/api/v3`).
 */
export function serverBasePath(document: OpenApiDocument): string {
  const server = document.servers?.[0];
  if (!server) return '';
  const url = server.url.replace(/\{(\w+)\}/g, (_m, v: string) => server.variables?.[v]?.default ?? v);
  const path = new URL(url.includes('://') ? url : `http://${url}`).pathname;
  return path === '/' ? '' : path.replace(/\/$/, '');
}

/** Resolves a local JSON pointer (`#/components/parameters/owner`) against the document. */
export function resolvePointer(document: OpenApiDocument, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported, got ${ref}`);
  let node: unknown = document;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !(key in node)) {
      throw new Error(`unresolvable $ref ${ref}`);
    }
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Follows `$ref` chains on parameter/response/requestBody objects (not schemas). */
export function deref<T>(document: OpenApiDocument, value: T | { $ref: string }): T {
  let node: unknown = value;
  for (let hops = 0; hops < 16; hops++) {
    if (node && typeof node === 'object' && '$ref' in node && typeof node.$ref === 'string') {
      node = resolvePointer(document, node.$ref);
    } else {
      return node as T;
    }
  }
  throw new Error('$ref chain too deep');
}
