// The generated ferry.yml JSON schema agrees with Ferry's own loader on good and bad files.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ferryConfigSchema, loadConfig } from '@ferry/core';

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(ferryConfigSchema());

const docs: { name: string; text: string; valid: boolean }[] = [
  { name: 'empty', text: 'version: 1\n', valid: true },
  { name: 'full', text: 'version: 1\ndefaults:\n  model-path: m\nvalidate-model:\n  model-path: m\ncanary-deploy:\n  steps: [5, 50, 100]\n  bake: 2m\n  target: haproxy\n', valid: true },
  { name: 'unknown step', text: 'validate: {}\n', valid: false },
  { name: 'unknown input', text: 'validate-model:\n  modelpath: x\n', valid: false },
  { name: 'bad enum', text: 'build-serving-image:\n  runtime: docker\n', valid: false },
  { name: 'bad boolean', text: 'build-serving-image:\n  insecure-registry: "maybe"\n', valid: false },
  { name: 'secret in file', text: 'build-serving-image:\n  registry-password: hunter2\n', valid: false },
  { name: 'pipeline', text: 'pipeline:\n  model-name: m\n  stable: {version: v1, model-path: a}\n  candidates:\n    v2: {model-path: b, expect: promoted}\n    v3: {endpoints: [http://10.0.0.7:8080], expect: canary-deploy}\n', valid: true },
  { name: 'pipeline: unknown key', text: 'pipeline:\n  stable: {version: v1, model-path: a}\n  candidates: {v2: {modelpath: b}}\n', valid: false },
  { name: 'pipeline: candidate without a model', text: 'pipeline:\n  stable: {version: v1, model-path: a}\n  candidates: {v2: {expect: promoted}}\n', valid: false },
  { name: 'pipeline: bad expectation', text: 'pipeline:\n  stable: {version: v1, model-path: a}\n  candidates: {v2: {model-path: b, expect: maybe}}\n', valid: false },
  { name: 'pipeline: no stable', text: 'pipeline:\n  candidates: {v2: {model-path: b}}\n', valid: false },
];

describe('ferry.yml schema', () => {
  it('is the committed schema/ferry.schema.json', () => {
    const committed = JSON.parse(readFileSync(new URL('../../schema/ferry.schema.json', import.meta.url), 'utf8')) as unknown;
    expect(committed).toEqual(ferryConfigSchema());
  });

  it.each(docs)('$name: schema and loader agree (valid=$valid)', ({ text, valid }) => {
    const schemaOk = validate(parse(text));
    const dir = mkdtempSync(join(tmpdir(), 'ferry-schema-'));
    writeFileSync(join(dir, 'ferry.yml'), text);
    let loaderOk = true;
    try {
      loadConfig(dir);
    } catch {
      loaderOk = false;
    }
    expect(schemaOk).toBe(valid);
    expect(loaderOk).toBe(valid);
  });
});
