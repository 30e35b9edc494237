// Validates requests and responses of one operation against GitHub's description. Validators are
// compiled on first use and cached per process: compiling all ~1000 operations would take far longer.
import { createRequire } from 'node:module';
import { Ajv, type Format, type ValidateFunction } from 'ajv';
import type { FormatsPlugin } from 'ajv-formats';
import type { Operation, Parameter } from './operations.js';
import { describeErrors } from './problems.js';
import { convertSchema, OR_EMPTY, type JsonSchema, type SchemaMode } from './schema-convert.js';
import type { LoadedSpec, OpenApiDocument } from './spec.js';

// ajv-formats is CommonJS whose typings declare a default export; requiring it sidesteps the
// NodeNext default-import mismatch.
const addFormats = createRequire(import.meta.url)('ajv-formats') as FormatsPlugin;

// Formats GitHub uses that ajv-formats does not define.
const GITHUB_FORMATS: Record<string, Format> = {
  'repo.nwo': /^[^/\s]+\/[^/\s]+$/,
};

export interface RequestParts {
  pathParams: Record<string, string>;
  query: URLSearchParams;
  /** The parsed JSON body; undefined when the request had none. */
  body: unknown;
}

interface CompiledOperation {
  params?: ValidateFunction;
  body?: ValidateFunction;
  responses: Map<string, ValidateFunction | null>;
}

const validators = new WeakMap<LoadedSpec, SpecValidator>();
const ID_BASE = 'https://github-openapi.test/';

export class SpecValidator {
  private readonly document: OpenApiDocument;
  // Parameters arrive as strings, so they get an instance that coerces ('2' → 2, 'a' → ['a']).
  private readonly bodies = createAjv(false);
  private readonly params = createAjv('array');
  private readonly registered = new WeakMap<Ajv, Set<string>>();
  private readonly compiled = new Map<string, CompiledOperation>();

  private constructor(spec: LoadedSpec) {
    this.document = spec.document;
  }

  static for(spec: LoadedSpec): SpecValidator {
    let validator = validators.get(spec);
    if (!validator) {
      validator = new SpecValidator(spec);
      validators.set(spec, validator);
    }
    return validator;
  }

  /** Problems with a request's path and query parameters and JSON body; empty when valid. */
  validateRequest(operation: Operation, parts: RequestParts): string[] {
    const entry = this.entry(operation);
    entry.params ??= this.compile(this.params, paramsSchema(operation.parameters), 'request');
    const problems = this.run(entry.params, { path: { ...parts.pathParams }, query: queryObject(parts.query) }, 'params');

    const schema = jsonSchemaOf(operation.requestBody?.content);
    if (parts.body === undefined) {
      if (operation.requestBody?.required) problems.push(`${label(operation)} requires a JSON body, none was sent`);
      return problems;
    }
    if (!operation.requestBody) {
      problems.push(`${label(operation)} takes no request body, but one was sent`);
      return problems;
    }
    if (schema === undefined) return problems; // a non-JSON body (uploads, raw markdown)
    entry.body ??= this.compile(this.bodies, schema, 'request');
    return [...problems, ...this.run(entry.body, parts.body, 'body')];
  }

  /**
   * Problems with a response the fake is about to send. Success statuses must be declared by the
   * operation; an undeclared error status (GitHub documents few of its 404s) must still carry
   * GitHub's basic-error shape.
   */
  validateResponse(operation: Operation, status: number, body: unknown): string[] {
    const entry = this.entry(operation);
    const key = String(status);
    const declared = operation.responses[key] ?? operation.responses[`${key[0]}XX`] ?? operation.responses.default;
    if (!declared && status < 400) {
      const known = Object.keys(operation.responses).join(', ');
      return [`${label(operation)} does not declare status ${status} (declares ${known})`];
    }
    if (!entry.responses.has(key)) {
      const schema = declared ? jsonSchemaOf(declared.content) : { $ref: '#/components/schemas/basic-error' };
      entry.responses.set(key, schema === undefined ? null : this.compile(this.bodies, schema, 'response'));
    }
    const validate = entry.responses.get(key) ?? null;
    const root = `response ${status} body`;
    if (validate === null) {
      return body === undefined || status >= 400 ? [] : [`${label(operation)} declares no body for ${status}, but one was sent`];
    }
    if (body === undefined) return [`${label(operation)} declares a JSON body for ${status}, none was sent`];
    return this.run(validate, body, root);
  }

  private entry(operation: Operation): CompiledOperation {
    let entry = this.compiled.get(operation.operationId);
    if (!entry) {
      entry = { responses: new Map() };
      this.compiled.set(operation.operationId, entry);
    }
    return entry;
  }

  private run(validate: ValidateFunction, data: unknown, root: string): string[] {
    return validate(data) ? [] : describeErrors(validate.errors, root);
  }

  private compile(ajv: Ajv, raw: unknown, mode: SchemaMode): ValidateFunction {
    const schema = this.convert(ajv, raw, mode);
    return ajv.compile(schema);
  }

  // Converts a schema and registers, transitively, every component it refers to, so ajv can
  // resolve the refs; each component is converted once per mode and ajv instance.
  private convert(ajv: Ajv, raw: unknown, mode: SchemaMode): JsonSchema {
    const referenced = new Set<string>();
    const schema = convertSchema(raw, {
      mode,
      referenced,
      componentId,
      rawComponent: (name) => this.rawComponent(name),
    });
    registerOrEmptyFormats(ajv, schema);
    let done = this.registered.get(ajv);
    if (!done) this.registered.set(ajv, (done = new Set()));
    for (const name of referenced) {
      for (const m of modesFor(mode)) {
        const id = componentId(name, m);
        if (done.has(id)) continue;
        done.add(id);
        ajv.addSchema({ $id: id, ...this.convert(ajv, this.rawComponent(name), m) });
      }
    }
    return schema;
  }

  private rawComponent(name: string): unknown {
    const schema = (this.document.components.schemas ?? {})[name];
    if (schema === undefined) throw new Error(`GitHub's description has no schema component ${name}`);
    return schema;
  }
}

function componentId(name: string, mode: SchemaMode): string {
  return `${ID_BASE}${mode}/${encodeURIComponent(name)}`;
}

// A request schema can refer to a component both as a whole and as a composition branch.
function modesFor(mode: SchemaMode): SchemaMode[] {
  return mode === 'response' ? ['response'] : ['request', 'request-branch'];
}

function createAjv(coerceTypes: false | 'array'): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    verbose: true,
    coerceTypes,
    // Strict about keywords (the converter leaves only draft-07 ones, so an unknown one is a
    // converter bug), lenient about type inference, which GitHub's schemas routinely leave implicit.
    strict: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    allowUnionTypes: true,
  });
  addFormats(ajv);
  for (const [name, format] of Object.entries(GITHUB_FORMATS)) ajv.addFormat(name, format);
  return ajv;
}

function registerOrEmptyFormats(ajv: Ajv, schema: JsonSchema): void {
  const text = JSON.stringify(schema);
  for (const [, base] of text.matchAll(new RegExp(`"format":"([^"]+)${OR_EMPTY}"`, 'g'))) {
    const name = `${base}${OR_EMPTY}`;
    if (ajv.formats[name]) continue;
    const test = formatTest(GITHUB_FORMATS[base!] ?? addFormats.get(base as never));
    ajv.addFormat(name, { type: 'string', validate: (s: string) => s === '' || test(s) });
  }
}

function formatTest(format: Format): (value: string) => boolean {
  if (format === true) return () => true;
  if (typeof format === 'string') return (s) => new RegExp(format).test(s);
  if (format instanceof RegExp) return (s) => format.test(s);
  if (typeof format === 'function') return (s) => format(s) as boolean;
  return formatTest(format.validate as Format);
}

function paramsSchema(parameters: Parameter[]): JsonSchema {
  const group = (location: 'path' | 'query'): JsonSchema => {
    const own = parameters.filter((p) => p.in === location);
    const properties: JsonSchema = {};
    for (const p of own) properties[p.name] = p.schema ?? {};
    return {
      type: 'object',
      properties,
      required: own.filter((p) => p.required).map((p) => p.name),
      // The fake's stricter rule: an undeclared (usually misspelled) query parameter is an error;
      // GitHub itself silently ignores it.
      additionalProperties: false,
    };
  };
  return { type: 'object', properties: { path: group('path'), query: group('query') } };
}

export function queryObject(query: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(query.keys())) {
    const values = query.getAll(key);
    out[key] = values.length === 1 ? values[0]! : values;
  }
  return out;
}

/** The schema of a JSON media type (`application/json`, `application/scim+json`, ...). */
function jsonSchemaOf(content: Record<string, { schema?: unknown }> | undefined): unknown {
  if (!content) return undefined;
  const type = Object.keys(content).find((t) => /^application\/([\w.-]+\+)?json\b/.test(t));
  return type ? content[type]?.schema : undefined;
}

function label(operation: Operation): string {
  return `${operation.method} ${operation.template} (${operation.operationId})`;
}
