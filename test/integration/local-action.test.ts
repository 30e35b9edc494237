// Actions run from source through @github/local-action, the way action authors debug them locally.
// local-action exits 0 even after core.setFailed, so the tests read the workflow-command lines.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanEnv, REPO_ROOT, run } from '../support/repo.js';

async function localAction(step: string, inputs: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-la-'));
  const dotenv = join(dir, '.env');
  writeFileSync(dotenv, Object.entries(inputs).map(([k, v]) => `INPUT_${k.toUpperCase()}=${v}`).join('\n') + '\n');
  const env = { ...cleanEnv(), PATH: `${join(REPO_ROOT, 'node_modules/.bin')}:${process.env.PATH ?? ''}`, RUNNER_TEMP: dir };
  return run(join(REPO_ROOT, 'node_modules/.bin/local-action'), [join('actions', step), 'src/main.ts', dotenv], { env, timeoutMs: 120_000 });
}

describe('@github/local-action', () => {
  it('runs validate-model from source and sets its outputs', async () => {
    const r = await localAction('validate-model', { 'model-path': 'examples/tiny' });
    expect(r.stdout).not.toContain('::error::');
    expect(r.stdout).toContain('::set-output name=verdict::pass');
    expect(r.stdout).toContain('::set-output name=format::safetensors');
    expect(r.stdout).toMatch(/::set-output name=model-digest::sha256:[0-9a-f]{64}/);
  }, 150_000);

  it('reports a missing required input as one ::error:: naming it', async () => {
    const r = await localAction('validate-model', {});
    const errors = r.stdout.split('\n').filter((l) => l.startsWith('::error::'));
    expect(errors).toEqual(['::error::validate-model: missing required input "model-path"']);
  }, 150_000);
});
