// Turns Swagger 2.0 schemas and parameter lists into JSON Schema draft-07 for ajv: `$ref`s to
// `#/definitions/*` become registered ids, Swagger-only annotations are dropped, request objects are
// closed and response properties may be null.

export type JsonSchema = Record<string, unknown>;

/**
 * - request: a JSON or form body; objects that declare `properties` refuse other names
 * - params: path and query parameters (closed one level up, by the caller)
 * - response: what the fake answers; every property may also be `null`
 */
export type SchemaMode = 'request' | 'params' | 'response';

export interface ConvertContext {
  mode: SchemaMode;
  /** Names of `#/definitions/*` the converted schema refers to, filled while converting. */
  referenced: Set<string>;
  definitionId(name: string, mode: SchemaMode): string;
}

// Draft-07 validation keywords that Swagger 2.0 schema and parameter objects share with it.
const KEPT = new Set([
  'type', 'format', 'enum', 'default', 'multipleOf', 'maximum', 'minimum', 'maxLength', 'minLength', 'pattern',
  'maxItems', 'minItems', 'uniqueItems', 'maxProperties', 'minProperties', 'required',
]);

export function convertSchema(raw: unknown, ctx: ConvertContext): JsonSchema {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return {};
  const source = raw as Record<string, unknown>;
  if (typeof source.$ref === 'string') {
    const name = /^#\/definitions\/(.+)$/.exec(source.$ref)?.[1];
    if (!name) throw new Error(`unsupported $ref ${source.$ref}: only #/definitions/* refs are expected in the GitLab subset`);
    ctx.referenced.add(name);
    return { $ref: ctx.definitionId(name, ctx.mode) };
  }
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(source)) {
    // A parameter's `required: true` is not a schema keyword; an object schema's `required` list is.
    if (KEPT.has(key) && !(key === 'required' && !Array.isArray(value))) out[key] = value;
  }
  // Swagger 2.0's boolean exclusive bounds are numeric ones in draft-07.
  if (source.exclusiveMinimum === true && typeof source.minimum === 'number') {
    out.exclusiveMinimum = source.minimum;
    delete out.minimum;
  }
  if (source.exclusiveMaximum === true && typeof source.maximum === 'number') {
    out.exclusiveMaximum = source.maximum;
    delete out.maximum;
  }
  // `type: file` marks multipart uploads; nothing JSON can check about them.
  if (out.type === 'file') delete out.type;
  if (source.items !== undefined) out.items = convertSchema(source.items, ctx);
  if (Array.isArray(source.allOf)) out.allOf = source.allOf.map((s) => convertSchema(s, ctx));
  if (source.properties && typeof source.properties === 'object') {
    const properties: JsonSchema = {};
    for (const [name, schema] of Object.entries(source.properties as Record<string, unknown>)) {
      const converted = convertSchema(schema, ctx);
      properties[name] = ctx.mode === 'response' ? nullable(converted) : converted;
    }
    out.properties = properties;
    if (source.additionalProperties === undefined && ctx.mode === 'request') out.additionalProperties = false;
  }
  if (source.additionalProperties !== undefined) {
    out.additionalProperties =
      typeof source.additionalProperties === 'boolean' ? source.additionalProperties : convertSchema(source.additionalProperties, ctx);
  }
  return source['x-nullable'] === true ? nullable(out) : out;
}

/**
 * Grape entities expose unset attributes as `null` (a commit status's `started_at`, a note's
 * `attachment`), and Swagger 2.0 has no way to say so.
 */
export function nullable(schema: JsonSchema): JsonSchema {
  if (typeof schema.$ref === 'string') return { anyOf: [schema, { type: 'null' }] };
  if (schema.type === undefined) return schema;
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
  const out: JsonSchema = { ...schema, type: types.includes('null') ? types : [...types, 'null'] };
  if (Array.isArray(schema.enum) && !schema.enum.includes(null)) out.enum = [...(schema.enum as unknown[]), null];
  return out;
}
