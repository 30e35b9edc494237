// Turns ajv's error objects into one readable sentence per problem, naming the field the way a
// test author wrote it (`body.state`, `query parameter 'per_page'`).
import type { ErrorObject } from 'ajv';

/** `root` names what was validated: 'body', 'response 201 body', or 'params' (path + query). */
export function describeErrors(errors: readonly ErrorObject[] | null | undefined, root: string): string[] {
  if (!errors?.length) return [];
  // Wrappers that only summarise their branches and the null branch of a nullable field say
  // nothing the specific errors beside them don't.
  const specific = errors.filter((e) => !(e.keyword === 'anyOf' || (e.keyword === 'type' && e.params.type === 'null')));
  return [...new Set((specific.length > 0 ? specific : errors).map((e) => describe(e, root)))];
}

function describe(error: ErrorObject, root: string): string {
  const params = error.params as Record<string, unknown>;
  const segments = error.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const where = root === 'params' ? paramLocation(segments) : fieldLocation(root, segments);
  if (params.additionalProperty !== undefined) {
    return root === 'params' && segments.length === 1
      ? `undeclared ${segments[0]} parameter '${String(params.additionalProperty)}'`
      : `${where} has field '${String(params.additionalProperty)}' that GitLab's schema does not declare`;
  }
  if (error.keyword === 'required') {
    const missing = String(params.missingProperty);
    return root === 'params' ? `missing required ${segments[0] ?? ''} parameter '${missing}'` : `${where} is missing required field '${missing}'`;
  }
  if (error.keyword === 'enum') {
    return `${where} is ${show(error.data)}, not one of ${(params.allowedValues as unknown[]).map(show).join(', ')}`;
  }
  if (error.keyword === 'type') return `${where} must be ${String(params.type)}, got ${show(error.data)}`;
  return `${where} ${error.message ?? error.keyword}${error.data === undefined ? '' : ` (got ${show(error.data)})`}`;
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
