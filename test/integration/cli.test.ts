// The ferry CLI as users run it: help, JSON results, exit codes, ferry.yml, and clear errors.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { STEP_DEFINITIONS } from '@ferry/core';
import { ferry, REPO_ROOT, requireBuilt } from '../support/repo.js';

beforeAll(() => requireBuilt());

function tempDir(files: Record<string, string | Buffer> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-cli-'));
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
  return dir;
}

describe('ferry --help', () => {
  it('lists the six steps and the exit codes', async () => {
    const r = await ferry(['--help']);
    expect(r.code).toBe(0);
    for (const s of STEP_DEFINITIONS) expect(r.stdout).toMatch(new RegExp(`^  ${s.name}\\s+\\S`, 'm'));
    expect(r.stdout).toContain('2  bad input or configuration');
  });

  it.each(STEP_DEFINITIONS.map((s) => s.name))('%s --help lists every CLI input', async (step) => {
    const r = await ferry([step, '--help']);
    expect(r.code).toBe(0);
    const def = STEP_DEFINITIONS.find((s) => s.name === step);
    for (const [name, d] of Object.entries(def?.inputs ?? {})) {
      if (d.platforms && !d.platforms.includes('cli')) expect(r.stdout).not.toContain(`--${name}`);
      else expect(r.stdout).toContain(`--${name}`);
    }
  });
});

describe('ferry validate-model', () => {
  it('prints a JSON result with the detected format and the streaming digest', async () => {
    const r = await ferry(['validate-model', '--model-path', join(REPO_ROOT, 'examples/tiny/model.safetensors'), '--json']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { verdict: string; outputs: Record<string, string>; exitCode: number };
    const expected = createHash('sha256').update(readFileSync(join(REPO_ROOT, 'examples/tiny/model.safetensors'))).digest('hex');
    expect(result.verdict).toBe('pass');
    expect(result.exitCode).toBe(0);
    expect(result.outputs.format).toBe('safetensors');
    expect(JSON.parse(result.outputs['file-digests'] ?? '{}')).toEqual({ 'model.safetensors': `sha256:${expected}` });
  });

  it('detects formats from bytes, not names: a pickle renamed .safetensors is a pickle', async () => {
    // Protocol 2 pickle of the dict {'a': 1}, as written by CPython.
    const pickle = Buffer.from('80027d710058010000006171014b01732e', 'hex');
    const dir = tempDir({ 'model.safetensors': pickle });
    const r = await ferry(['validate-model', '--model-path', join(dir, 'model.safetensors'), '--json']);
    const result = JSON.parse(r.stdout) as { outputs: Record<string, string> };
    expect(result.outputs.format).toBe('pickle');
  });

  it('reads inputs from ferry.yml, and flags override it', async () => {
    const dir = tempDir({ 'ferry.yml': 'version: 1\nvalidate-model:\n  model-path: missing-model\n' });
    const fromFile = await ferry(['validate-model', '--json'], { cwd: dir });
    expect(fromFile.code).toBe(2);
    expect(fromFile.stderr).toMatch(/model-path: .*missing-model does not exist/);
    const overridden = await ferry(['validate-model', '--model-path', join(REPO_ROOT, 'examples/tiny'), '--json'], { cwd: dir });
    expect(overridden.code).toBe(0);
  });

  it('fails with exit 1 when a file cannot be checked', async () => {
    const dir = tempDir({ 'blob.bin': Buffer.from([0, 1, 2, 3, 255, 254]) });
    const r = await ferry(['validate-model', '--model-path', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FAIL');
    expect(r.stdout).toContain('blob.bin: not checked (format not recognized from its bytes)');
  });

  const badInput: { name: string; args: string[]; files?: Record<string, string>; message: RegExp }[] = [
    { name: 'missing required input', args: [], message: /missing required input --model-path/ },
    { name: 'misspelled flag', args: ['--model-pth', 'x'], message: /unknown option --model-pth \(did you mean "--model-path"\?\)/ },
    { name: 'flag without value', args: ['--model-path'], message: /--model-path needs a value/ },
    { name: 'positional argument', args: ['model.onnx'], message: /unexpected argument "model.onnx"/ },
    { name: 'nonexistent model', args: ['--model-path', '/nonexistent/model.onnx'], message: /model-path: \/nonexistent\/model.onnx does not exist/ },
    { name: 'unknown ferry.yml key', args: ['--model-path', '.'], files: { 'ferry.yml': 'validate-model:\n  model_path: x\n' }, message: /ferry.yml: unknown key "validate-model.model_path"/ },
    { name: 'explicit config missing', args: ['--model-path', '.', '--config', 'nope.yml'], message: /config file .*nope.yml cannot be read/ },
    { name: 'token flag not offered by the CLI', args: ['--github-token', 'x'], message: /unknown option --github-token/ },
  ];
  it.each(badInput)('$name: exit 2 and one message naming it', async ({ args, files, message }) => {
    const dir = tempDir(files);
    const r = await ferry(['validate-model', ...args], { cwd: dir });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n').filter((l) => l.includes('error:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });

  it('an unknown command is exit 2', async () => {
    const r = await ferry(['deploy']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "deploy"');
  });

  it('a rollout step without its target says which input it needs, with exit 2', async () => {
    const r = await ferry(['promote', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ step: 'promote', exitCode: 2 });
    expect(r.stderr).toContain('the local target needs router-url');
    const k = await ferry(['rollback', '--target', 'kserve']);
    expect(k.code).toBe(2);
    expect(k.stderr).toContain('the kserve target needs inference-service');
  });
});
