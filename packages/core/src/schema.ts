// The ferry.yml JSON schema, derived from the step declarations (editors and CI linters use it).
import { isConfigurable, type InputDeclaration } from './inputs.js';
import { PIPELINE_SCHEMA } from './pipeline-config.js';
import { STEP_DEFINITIONS } from './steps/index.js';

type JsonSchema = Record<string, unknown>;

function inputSchema(decl: InputDeclaration): JsonSchema {
  const base: JsonSchema = { description: decl.description };
  if (decl.default !== undefined && decl.default !== '') base.default = decl.default;
  switch (decl.type) {
    case 'boolean':
      return { ...base, type: 'boolean' };
    case 'number':
    case 'integer': {
      const s: JsonSchema = { ...base, type: decl.type };
      if (decl.min !== undefined) s.minimum = decl.min;
      if (decl.max !== undefined) s.maximum = decl.max;
      return s;
    }
    case 'object':
      return { ...base, ...(decl.schema ?? { type: ['object', 'array'] }) };
    case 'duration':
      return {
        ...base,
        oneOf: [
          { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h)?\\s*$' },
          { type: 'number', minimum: 0 },
        ],
      };
    case 'list': {
      const item: JsonSchema = decl.options ? { type: 'string', enum: [...decl.options] } : { type: ['string', 'number'] };
      return { ...base, oneOf: [{ type: 'array', items: item }, { type: 'string' }] };
    }
    case 'string':
    case 'path': {
      const s: JsonSchema = { ...base, type: 'string' };
      if (decl.options) s.enum = [...decl.options];
      if (decl.pattern) s.pattern = decl.pattern;
      return s;
    }
  }
}

export function ferryConfigSchema(): JsonSchema {
  const steps: JsonSchema = {};
  const defaults: JsonSchema = {};
  for (const step of STEP_DEFINITIONS) {
    const props: JsonSchema = {};
    for (const [name, decl] of Object.entries(step.inputs)) {
      if (!isConfigurable(decl)) continue;
      props[name] = inputSchema(decl);
      defaults[name] ??= inputSchema(decl);
    }
    steps[step.name] = {
      type: ['object', 'null'],
      description: step.summary,
      additionalProperties: false,
      properties: props,
    };
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://ferry.dev/schema/ferry.schema.json',
    title: 'ferry.yml',
    description: 'Ferry settings. Step inputs given to the action or CLI override these.',
    type: 'object',
    additionalProperties: false,
    properties: {
      version: { const: 1, description: 'Schema version of this file.' },
      defaults: {
        type: ['object', 'null'],
        description: 'Values used by every step that declares the input.',
        additionalProperties: false,
        properties: defaults,
      },
      pipeline: PIPELINE_SCHEMA,
      ...steps,
    },
  };
}
