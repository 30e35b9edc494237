// Validates requests and responses of one operation against the transcribed description, with ajv.
// Swagger 2.0 lists path, query and body parameters separately; path and query become one JSON
// object schema, the body parameter's schema validates the JSON or form body.
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import type { FormatsPlugin } from 'ajv-formats';
import type { Operation } from './operations.js';
import { describeErrors } from './problems.js';
import { convertSchema, type JsonSchema, type SchemaMode } from './schema-convert.js';
import { sourceOf, type SwaggerDocument, type SwaggerParameter } from './spec.js';

// ajv-formats is CommonJS whose typings declare a default export; requiring it sidesteps the
// NodeNext default-import mismatch.
const addFormats = createRequire(import.meta.url)('ajv-formats') as FormatsPlugin;

/** How the body arrived: JSON keeps its types, a form body is all strings (Grape coerces them). */
export type BodyKind = 'json' | 'form';

export interface RequestParts {
  pathParams: Record<string, string>;
  query: URLSearchParams;
  /** The parsed body; undefined when the request had none. */
  body: unknown;
  bodyKind: BodyKind;
}

interface CompiledOperation {
  params?: ValidateFunction;
  body: Partial<Record<BodyKind, ValidateFunction>>;
  responses: Map<string, ValidateFunction | null>;
}

const ID_BASE = 'https://gitlab-openapi.test/';
const validators = new WeakMap<SwaggerDocument, SpecValidator>();

export class SpecValidator {
  // Parameters arrive as strings ('2' → 2), and so do form fields; JSON bodies keep their types.
  private readonly ajvs = {
    params: createAjv('array'),
    form: createAjv(true),
    json: createAjv(false),
    response: createAjv(false),
  };
  private readonly registered = new WeakMap<Ajv, Set<string>>();
  private readonly compiled = new Map<string, CompiledOperation>();

  private constructor(private readonly document: SwaggerDocument) {}

  static for(document: SwaggerDocument): SpecValidator {
    let validator = validators.get(document);
    if (!validator) validators.set(document, (validator = new SpecValidator(document)));
    return validator;
  }

  /** Problems with a request's path and query parameters and its body; empty when valid. */
  validateRequest(operation: Operation, parts: RequestParts): string[] {
    const entry = this.entry(operation);
    entry.params ??= this.ajvs.params.compile(paramsSchema(operation.parameters, this.context('params')));
    const problems = run(entry.params, { path: { ...parts.pathParams }, query: queryObject(parts.query) }, 'params');

    const bodyParam = operation.parameters.find((p) => p.in === 'body');
    if (!bodyParam) {
      if (parts.body !== undefined) problems.push(`${label(operation)} takes no request body, but one was sent`);
      return problems;
    }
    // Grape reads the body's fields as parameters: no body at all reads as every field missing.
    const validate = (entry.body[parts.bodyKind] ??= this.compile(this.ajvs[parts.bodyKind], bodyParam.schema, 'request'));
    return [...problems, ...run(validate, parts.body ?? {}, 'body')];
  }

  /**
   * Problems with a response the fake is about to send. A success status must be declared; error
   * statuses carry GitLab's error shape (`{ message }` or `{ error }`), which the description leaves out.
   */
  validateResponse(operation: Operation, status: number, body: unknown): string[] {
    if (status >= 400) {
      const ok = isObject(body) && (body.message !== undefined || body.error !== undefined);
      return ok ? [] : [`${label(operation)} answered ${status} without GitLab's { message } or { error } body`];
    }
    const declared = declaredResponse(operation, status);
    if (!declared) {
      return [`${label(operation)} does not declare status ${status} (declares ${Object.keys(operation.responses).join(', ')})`];
    }
    const entry = this.entry(operation);
    const key = String(status);
    if (!entry.responses.has(key)) {
      entry.responses.set(key, declared.schema === undefined ? null : this.compile(this.ajvs.response, declared.schema, 'response'));
    }
    const validate = entry.responses.get(key) ?? null;
    if (validate === null) return body === undefined ? [] : [`${label(operation)} declares no body for ${status}, but one was sent`];
    if (body === undefined) return [`${label(operation)} declares a JSON body for ${status}, none was sent`];
    return run(validate, body, `response ${status} body`);
  }

  /** Where the operation's schema was transcribed from, for messages. */
  source(operation: Operation): string {
    return sourceOf(this.document, operation.raw);
  }

  private entry(operation: Operation): CompiledOperation {
    let entry = this.compiled.get(operation.operationId);
    if (!entry) this.compiled.set(operation.operationId, (entry = { body: {}, responses: new Map() }));
    return entry;
  }

  private context(mode: SchemaMode): Parameters<typeof convertSchema>[1] {
    return { mode, referenced: new Set(), definitionId };
  }

  private compile(ajv: Ajv, raw: unknown, mode: SchemaMode): ValidateFunction {
    return ajv.compile(this.convert(ajv, raw, mode));
  }

  // Converts a schema and registers, transitively, every definition it refers to, once per ajv
  // instance and mode.
  private convert(ajv: Ajv, raw: unknown, mode: SchemaMode): JsonSchema {
    const ctx = this.context(mode);
    const schema = convertSchema(raw, ctx);
    let done = this.registered.get(ajv);
    if (!done) this.registered.set(ajv, (done = new Set()));
    for (const name of ctx.referenced) {
      const id = definitionId(name, mode);
      if (done.has(id)) continue;
      done.add(id);
      const definition = this.document.definitions[name];
      if (definition === undefined) throw new Error(`the GitLab subset has no definition ${name}`);
      ajv.addSchema({ $id: id, ...this.convert(ajv, definition, mode) });
    }
    return schema;
  }
}

/**
 * The response entry for a status. GitLab answers every successful POST with 201 Created
 * (doc/api/rest/troubleshooting.md), while grape-swagger writes down the endpoint's `success code:`,
 * which for postApiV4ProjectsIdStatusesSha is 200: a 201 to a POST is checked against that entry.
 */
function declaredResponse(operation: Operation, status: number): Operation['responses'][string] | undefined {
  const own = operation.responses[String(status)];
  if (own) return own;
  if (status === 201 && operation.method === 'POST') return operation.responses['200'];
  return undefined;
}

function definitionId(name: string, mode: SchemaMode): string {
  return `${ID_BASE}${mode}/${encodeURIComponent(name)}`;
}

function createAjv(coerceTypes: boolean | 'array'): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    verbose: true,
    coerceTypes,
    // Strict about keywords (the converter leaves only draft-07 ones, so an unknown one is a
    // converter bug), lenient about type inference, which Swagger schemas leave implicit.
    strict: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    allowUnionTypes: true,
  });
  addFormats(ajv);
  return ajv;
}

function paramsSchema(parameters: readonly SwaggerParameter[], ctx: Parameters<typeof convertSchema>[1]): JsonSchema {
  const group = (location: 'path' | 'query'): JsonSchema => {
    const own = parameters.filter((p) => p.in === location);
    const properties: JsonSchema = {};
    for (const p of own) properties[p.name] = convertSchema(p, ctx);
    return {
      type: 'object',
      properties,
      required: own.filter((p) => p.required).map((p) => p.name),
      // The fake's stricter rule: an undeclared (usually misspelled) query parameter is an error;
      // GitLab itself silently ignores it.
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

function run(validate: ValidateFunction, data: unknown, root: string): string[] {
  return validate(data) ? [] : describeErrors(validate.errors, root);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function label(operation: Operation): string {
  return `${operation.method} ${operation.template} (${operation.operationId})`;
}
