// Turns an OpenAPI 3.0 Schema Object from GitHub's description into JSON Schema draft-07 that
// ajv validates exactly, papering over the OpenAPI dialect and GitHub's own habits (see README.md).

export type JsonSchema = Record<string, unknown>;

/**
 * - `response`: the schema as written (responses routinely carry fields the schema omits).
 * - `request`: additionally closed: undeclared body fields are rejected (the fake's stricter rule).
 * - `request-branch`: a request schema used as an allOf/anyOf/oneOf branch; its own level stays
 *   open because its siblings declare the other fields, the parent closes over the union.
 */
export type SchemaMode = 'response' | 'request' | 'request-branch';

export interface ConvertContext {
  mode: SchemaMode;
  /** The ajv `$id` under which component `name` converted for `mode` is registered. */
  componentId(name: string, mode: SchemaMode): string;
  /** The raw (unconverted) component schema, to compute the property names a branch declares. */
  rawComponent(name: string): unknown;
  /** Collects every component the converted schema refers to, so it can be registered first. */
  referenced: Set<string>;
}

const COMPONENT_REF = '#/components/schemas/';

// Keywords whose meaning OpenAPI 3.0 shares with JSON Schema draft-07. Everything else is an
// annotation (description, example, readOnly, xml, externalDocs, deprecated) or an `x-*`
// extension; none constrain data, and ajv's strict mode would reject the unknown ones.
const SCALAR_KEYWORDS = new Set([
  'type', 'enum', 'format', 'required', 'minimum', 'maximum', 'multipleOf', 'minLength',
  'maxLength', 'pattern', 'minItems', 'maxItems', 'uniqueItems', 'minProperties', 'maxProperties',
]);
const COMPOSITION = ['allOf', 'anyOf', 'oneOf'] as const;

export function componentRefName(ref: string): string {
  if (!ref.startsWith(COMPONENT_REF)) throw new Error(`schema $ref outside components: ${ref}`);
  return ref.slice(COMPONENT_REF.length);
}

export function convertSchema(raw: unknown, ctx: ConvertContext): JsonSchema {
  return convertNode(raw, ctx, ctx.mode === 'request-branch');
}

function convertNode(raw: unknown, ctx: ConvertContext, isBranch: boolean): JsonSchema {
  if (raw === true || raw === undefined) return {};
  if (!isObject(raw)) throw new Error(`not a schema: ${JSON.stringify(raw)}`);
  const request = ctx.mode !== 'response';

  if (typeof raw.$ref === 'string') {
    // OpenAPI 3.0 ignores siblings of $ref, so only the reference survives.
    const name = componentRefName(raw.$ref);
    ctx.referenced.add(name);
    const mode = !request ? 'response' : isBranch ? 'request-branch' : 'request';
    return { $ref: ctx.componentId(name, mode) };
  }

  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(raw)) {
    if (SCALAR_KEYWORDS.has(key)) out[key] = value;
  }
  if (isObject(raw.properties)) {
    const props: JsonSchema = {};
    for (const [name, sub] of Object.entries(raw.properties)) props[name] = convertNode(sub, ctx, false);
    out.properties = props;
  }
  if (raw.items !== undefined) out.items = convertNode(raw.items, ctx, false);
  if (raw.not !== undefined) out.not = convertNode(raw.not, ctx, false);
  if (isObject(raw.additionalProperties)) {
    out.additionalProperties = convertNode(raw.additionalProperties, ctx, false);
  } else if (typeof raw.additionalProperties === 'boolean') {
    out.additionalProperties = raw.additionalProperties;
  }
  for (const key of COMPOSITION) {
    const branches = raw[key];
    if (Array.isArray(branches)) out[key] = branches.map((b) => convertNode(b, ctx, request));
  }
  // OpenAPI 3.0 exclusive bounds are booleans qualifying minimum/maximum (draft-04 style).
  if (raw.exclusiveMinimum === true && typeof raw.minimum === 'number') {
    out.exclusiveMinimum = raw.minimum;
    delete out.minimum;
  }
  if (raw.exclusiveMaximum === true && typeof raw.maximum === 'number') {
    out.exclusiveMaximum = raw.maximum;
    delete out.maximum;
  }
  // readOnly properties are only required in responses, writeOnly ones only in requests.
  if (Array.isArray(raw.required) && isObject(raw.properties)) {
    const props = raw.properties;
    const skip = request ? 'readOnly' : 'writeOnly';
    out.required = raw.required.filter((n: unknown) => {
      const prop = props[String(n)];
      return !(isObject(prop) && prop[skip] === true);
    });
  }
  // GitHub returns '' for unset URL fields it declares as `format: uri, default: ''`
  // (deployment-status target_url, log_url, environment_url): the declared default must validate.
  if (typeof raw.format === 'string' && raw.default === '') out.format = `${raw.format}${OR_EMPTY}`;

  applyDiscriminator(raw, out, ctx);
  if (request && !isBranch) closeObject(raw, out, ctx);
  return raw.nullable === true ? makeNullable(out) : out;
}

export const OR_EMPTY = '-or-empty';

// `nullable: true` has no draft-07 equivalent: add 'null' to the type (and to an enum, because
// GitHub marks nullable enums such as check-run `conclusion` meaning "one of these, or null").
function makeNullable(schema: JsonSchema): JsonSchema {
  if (typeof schema.type === 'string') {
    const nullable: JsonSchema = { ...schema, type: [schema.type, 'null'] };
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) nullable.enum = [...schema.enum, null];
    return nullable;
  }
  // No type (allOf/oneOf wrappers, free-form): null, or whatever the schema accepts.
  return { anyOf: [{ type: 'null' }, schema] };
}

// ajv's own `discriminator` support rejects `mapping`, which all of GitHub's discriminators use;
// translate it to anyOf + if/then, which also copes with overlapping branches (public-user and
// private-user both match a private user, so a plain oneOf would fail).
function applyDiscriminator(raw: Record<string, unknown>, out: JsonSchema, ctx: ConvertContext): void {
  const discriminator = raw.discriminator;
  if (!isObject(discriminator) || typeof discriminator.propertyName !== 'string') return;
  const mapping = isObject(discriminator.mapping) ? discriminator.mapping : {};
  const property = discriminator.propertyName;
  if (out.oneOf) {
    out.anyOf = out.oneOf;
    delete out.oneOf;
  }
  const rules = Object.entries(mapping).map(([value, ref]) => {
    const name = componentRefName(String(ref));
    ctx.referenced.add(name);
    return {
      if: { type: 'object', properties: { [property]: { const: value } }, required: [property] },
      then: { $ref: ctx.componentId(name, ctx.mode === 'response' ? 'response' : 'request-branch') },
    };
  });
  if (rules.length > 0) out.allOf = [...((out.allOf as JsonSchema[] | undefined) ?? []), ...rules];
}

// The fake's stricter rule: a request object lists every field it accepts, so an undeclared
// (usually misspelled) field is an error even where GitHub's schema leaves the object open.
function closeObject(raw: Record<string, unknown>, out: JsonSchema, ctx: ConvertContext): void {
  if (raw.additionalProperties !== undefined) return;
  const hasComposition = COMPOSITION.some((k) => Array.isArray(raw[k]));
  if (isObject(raw.properties) && !hasComposition) {
    out.additionalProperties = false;
    return;
  }
  const names = declaredNames(raw, ctx, new Set());
  if (names && names.size > 0) out.propertyNames = { enum: [...names].sort() };
}

/** Field names a schema declares, through composition; null when it accepts any field. */
function declaredNames(raw: unknown, ctx: ConvertContext, seen: Set<string>): Set<string> | null {
  if (!isObject(raw)) return new Set();
  if (typeof raw.$ref === 'string') {
    const name = componentRefName(raw.$ref);
    if (seen.has(name)) return new Set();
    return declaredNames(ctx.rawComponent(name), ctx, new Set([...seen, name]));
  }
  if (isObject(raw.additionalProperties)) return null; // a map keyed by arbitrary names
  // `additionalProperties: true` beside properties is how checks/update writes constraint
  // branches ("if status is completed, conclusion is required"): they declare, not open.
  if (raw.additionalProperties === true && !isObject(raw.properties)) return null;
  const names = new Set(isObject(raw.properties) ? Object.keys(raw.properties) : []);
  let composed = false;
  for (const key of COMPOSITION) {
    const branches = raw[key];
    if (!Array.isArray(branches)) continue;
    composed = true;
    for (const branch of branches) {
      const sub = declaredNames(branch, ctx, seen);
      if (sub === null) return null;
      for (const n of sub) names.add(n);
    }
  }
  if (!composed && !isObject(raw.properties) && (raw.type === 'object' || raw.type === undefined)) {
    return null; // a free-form object
  }
  return names;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
