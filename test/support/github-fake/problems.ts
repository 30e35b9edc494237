// Turns ajv's error objects into one readable sentence per problem, naming the field the way a
// test author wrote it (`body.output.title`, `query parameter per_page`).
import type { ErrorObject } from 'ajv';
import { OR_EMPTY } from './schema-convert.js';

const OR_EMPTY_FORMAT = new RegExp(`"([^"]+)${OR_EMPTY}"`);

/** `root` names what was validated: 'body', 'response 201 body', or 'params' (path + query). */
export function describeErrors(errors: readonly ErrorObject[] | null | undefined, root: string): string[] {
  if (!errors?.length) return [];
  // Wrappers that only summarise their branches ("must match a schema in anyOf") and the null
  // branch of a nullable field say nothing the specific errors beside them don't.
  const specific = errors.filter((e) => !isSummary(e));
  const chosen = specific.length > 0 ? specific : errors;
  return [...new Set(chosen.map((e) => describe(e, root)))];
}

function isSummary(error: ErrorObject): boolean {
  if (['anyOf', 'oneOf', 'if', 'propertyNames'].includes(error.keyword)) return true;
  return error.keyword === 'type' && error.params.type === 'null';
}

function describe(error: ErrorObject, root: string): string {
  const params = error.params as Record<string, unknown>;
  const segments = error.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const where = root === 'params' ? paramLocation(segments) : fieldLocation(root, segments);
  // propertyNames reports the offending name on the error, not in params.
  const undeclared = error.propertyName ?? params.additionalProperty;
  if (undeclared !== undefined) {
    return root === 'params' && segments.length === 1
      ? `undeclared ${segments[0]} parameter '${String(undeclared)}'`
      : `${where} has field '${String(undeclared)}' that GitHub's schema does not declare`;
  }
  if (error.keyword === 'required') {
    const missing = String(params.missingProperty);
    return root === 'params'
      ? `missing required ${segments[0] ?? ''} parameter '${missing}'`
      : `${where} is missing required field '${missing}'`;
  }
  if (error.keyword === 'enum') {
    return `${where} is ${show(error.data)}, not one of ${(params.allowedValues as unknown[]).map(show).join(', ')}`;
  }
  if (error.keyword === 'type') return `${where} must be ${String(params.type)}, got ${show(error.data)}`;
  // The converter's `<format>-or-empty` formats read better as what they mean.
  const message = (error.message ?? error.keyword).replace(OR_EMPTY_FORMAT, '"$1" or be empty');
  return `${where} ${message}${error.data === undefined ? '' : ` (got ${show(error.data)})`}`;
}

function paramLocation(segments: string[]): string {
  const [location, name] = segments;
  return name === undefined ? `${location ?? ''} parameters` : `${location} parameter '${name}'`;
}

function fieldLocation(root: string, segments: string[]): string {
  return segments.reduce((acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : `${acc}.${s}`), root);
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
