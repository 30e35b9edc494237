// Inputs: coercion of door values and ferry.yml values, precedence, and exit-2 errors naming the key.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  coerceInput,
  ExitCode,
  InputError,
  loadConfig,
  resolveInputs,
  validateModelDefinition,
  benchmarkDefinition,
  canaryDeployDefinition,
  type InputDeclaration,
  type RawInputs,
} from '@ferry/core';

const cli = (values: Record<string, string>): RawInputs => ({ platform: 'cli', values, describe: (n) => `input --${n}` });

function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-config-'));
  writeFileSync(join(dir, 'ferry.yml'), text);
  return dir;
}

describe('coerceInput', () => {
  const cases: { decl: InputDeclaration; value: unknown; expected?: unknown; error?: RegExp }[] = [
    { decl: { type: 'boolean', description: '' }, value: 'TRUE', expected: true },
    { decl: { type: 'boolean', description: '' }, value: false, expected: false },
    { decl: { type: 'boolean', description: '' }, value: 'yes', error: /must be true or false, got "yes"/ },
    { decl: { type: 'integer', description: '', min: 1 }, value: '8', expected: 8 },
    { decl: { type: 'integer', description: '' }, value: '8.5', error: /must be an integer/ },
    { decl: { type: 'integer', description: '', min: 1 }, value: '0', error: /must be at least 1/ },
    { decl: { type: 'number', description: '' }, value: 'abc', error: /must be a number, got "abc"/ },
    { decl: { type: 'duration', description: '' }, value: '2m', expected: 120_000 },
    { decl: { type: 'duration', description: '' }, value: '250ms', expected: 250 },
    { decl: { type: 'duration', description: '' }, value: 30, expected: 30_000 },
    { decl: { type: 'duration', description: '' }, value: '2 weeks', error: /must be a duration/ },
    { decl: { type: 'list', description: '' }, value: '5, 25,\n50', expected: ['5', '25', '50'] },
    { decl: { type: 'list', description: '' }, value: [5, 25], expected: ['5', '25'] },
    { decl: { type: 'string', description: '', options: ['a', 'b'] }, value: 'c', error: /must be one of a, b, got "c"/ },
    { decl: { type: 'string', description: '', pattern: '^[a-z]+$' }, value: 'Prod!', error: /matching/ },
    { decl: { type: 'string', description: '' }, value: { nested: true }, error: /must be a string/ },
  ];
  it.each(cases)('$decl.type $value', ({ decl, value, expected, error }) => {
    if (error) {
      expect(() => coerceInput('x', decl, value as string, 'input --x')).toThrow(error);
      try {
        coerceInput('x', decl, value as string, 'input --x');
      } catch (err) {
        expect(err).toBeInstanceOf(InputError);
        expect((err as InputError).exitCode).toBe(ExitCode.BadInput);
        expect((err as InputError).message).toContain('input --x');
      }
    } else {
      expect(coerceInput('x', decl, value as string, 'input --x')).toEqual(expected);
    }
  });
});

describe('resolveInputs precedence', () => {
  it('uses door input over ferry.yml step section over defaults over the declared default', () => {
    const dir = configFile(
      'version: 1\ndefaults:\n  concurrency: 4\n  model-name: shared\nbenchmark-on-gpu-runner:\n  model-name: from-file\n  duration: 10s\n',
    );
    const config = loadConfig(dir);
    const values = resolveInputs(benchmarkDefinition, cli({ duration: '5s' }), config);
    expect(values.duration).toBe(5000); // door wins
    expect(values['model-name']).toBe('from-file'); // step section beats defaults
    expect(values.concurrency).toBe(4); // defaults beat the declaration
    expect(values.protocol).toBe('oip-v2'); // declared default
    expect(values.endpoint).toBeUndefined();
  });

  it('treats an empty door value as unset, as GitHub sends for inputs nobody set', () => {
    const dir = configFile('validate-model:\n  model-path: models/a\n');
    const values = resolveInputs(validateModelDefinition, cli({ 'model-path': '' }), loadConfig(dir));
    expect(values['model-path']).toBe('models/a');
  });

  it('names the missing required input and where it could be set', () => {
    const dir = configFile('version: 1\n');
    expect(() => resolveInputs(validateModelDefinition, cli({}), loadConfig(dir))).toThrow(
      /missing required input --model-path or "model-path" under "validate-model" in .*ferry.yml/,
    );
  });

  it('rejects an input the door does not know', () => {
    expect(() => resolveInputs(validateModelDefinition, cli({ 'model-pth': 'x', 'model-path': 'y' }), loadConfig('/nonexistent-dir'))).toThrow(
      /unknown input input --model-pth/,
    );
  });
});

describe('ferry.yml errors', () => {
  const cases: { name: string; text: string; error: RegExp; subject: string }[] = [
    { name: 'unknown top-level key', text: 'validate-modle:\n  model-path: x\n', error: /unknown key "validate-modle" \(did you mean "validate-model"\?\)/, subject: 'validate-modle' },
    { name: 'unknown step key', text: 'validate-model:\n  model_path: x\n', error: /unknown key "validate-model.model_path" \(did you mean "model-path"\?\)/, subject: 'validate-model.model_path' },
    { name: 'token in file', text: 'validate-model:\n  github-token: abc\n', error: /validate-model.github-token.*only be set as an input/, subject: 'validate-model.github-token' },
    { name: 'bad value type', text: 'benchmark-on-gpu-runner:\n  concurrency: many\n', error: /benchmark-on-gpu-runner.concurrency must be an integer, got "many"/, subject: 'concurrency' },
    { name: 'bad enum', text: 'canary-deploy:\n  analysis: guess\n', error: /canary-deploy.analysis must be one of synthetic, prometheus/, subject: 'analysis' },
    { name: 'unknown default', text: 'defaults:\n  nonsense: 1\n', error: /unknown key "defaults.nonsense"/, subject: 'defaults.nonsense' },
    { name: 'wrong version', text: 'version: 2\n', error: /version must be 1, got 2/, subject: 'version' },
    { name: 'not a mapping', text: '- a\n- b\n', error: /top level must be a mapping/, subject: '' },
    { name: 'invalid YAML', text: 'validate-model: [\n', error: /invalid YAML/, subject: 'config' },
    { name: 'duplicate key', text: 'validate-model: {}\nvalidate-model: {}\n', error: /invalid YAML/, subject: 'config' },
  ];
  it.each(cases)('$name', ({ text, error, subject }) => {
    const dir = configFile(text);
    let caught: unknown;
    try {
      loadConfig(dir);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as InputError).exitCode).toBe(2);
    expect((caught as InputError).message).toMatch(error);
    expect((caught as InputError).message).toContain(join(dir, 'ferry.yml'));
    if (subject) expect((caught as InputError).subject).toContain(subject);
  });

  it('ignores a missing default ferry.yml but not a missing explicit one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-config-'));
    expect(loadConfig(dir).path).toBeUndefined();
    expect(() => loadConfig(dir, 'ci/ferry.yml')).toThrow(/config file .*ci\/ferry.yml cannot be read/);
  });

  it('keeps list and duration types from YAML', () => {
    const dir = configFile('canary-deploy:\n  steps: [10, 50, 100]\n  bake: 90s\n');
    const config = loadConfig(dir);
    const v = resolveInputs(canaryDeployDefinition, cli({ version: 'v2', endpoints: 'http://127.0.0.1:9000' }), config);
    expect(v.steps).toEqual(['10', '50', '100']);
    expect(v.bake).toBe(90_000);
  });
});
