// Loads the transcribed subset of GitLab's official OpenAPI v2 (Swagger 2.0) description
// (openapi-subset.json, see its `x-source`) once per process; every GitLabFake shares it.
import { readFileSync } from 'node:fs';

/** A Swagger 2.0 parameter as the description writes it. */
export interface SwaggerParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'body' | 'formData';
  required?: boolean;
  /** For `in: body` only. */
  schema?: unknown;
  type?: string;
  [keyword: string]: unknown;
}

export interface SwaggerResponse {
  description?: string;
  schema?: unknown;
}

export interface SwaggerOperation {
  operationId: string;
  summary?: string;
  description?: string;
  consumes?: string[];
  parameters?: SwaggerParameter[];
  responses: Record<string, SwaggerResponse>;
  'x-transcribed-from-docs'?: boolean;
  'x-docs-source'?: string;
}

/** The parts of a Swagger 2.0 document the fake reads. */
export interface SwaggerDocument {
  'x-source': { repository: string; path: string; commit: string };
  swagger: '2.0';
  basePath?: string;
  paths: Record<string, Record<string, unknown>>;
  definitions: Record<string, unknown>;
}

let cached: SwaggerDocument | undefined;

export function loadSpec(): SwaggerDocument {
  cached ??= JSON.parse(readFileSync(new URL('./openapi-subset.json', import.meta.url), 'utf8')) as SwaggerDocument;
  return cached;
}

/** Where an operation's schema comes from, for violation messages. */
export function sourceOf(document: SwaggerDocument, operation: SwaggerOperation): string {
  if (operation['x-transcribed-from-docs']) return `GitLab's REST API docs (${operation['x-docs-source'] ?? 'doc/api'})`;
  const s = document['x-source'];
  return `GitLab's OpenAPI description (${s.repository}/${s.path}@${s.commit.slice(0, 12)})`;
}
