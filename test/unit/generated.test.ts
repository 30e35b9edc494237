// Generated files (action.yml, GitLab templates, ferry.yml schema, README tables) match the declarations.
import { describe, expect, it } from 'vitest';
import { validateModelDefinition } from '@ferry/core';
import { staleFiles } from '../../packages/platform/src/generate/files.js';
import { REPO_ROOT } from '../support/repo.js';

describe('generated files', () => {
  it('are current: run `npm run generate` if this fails', () => {
    expect(staleFiles(REPO_ROOT)).toEqual([]);
  });

  it('go stale when a declaration changes without regenerating', () => {
    const inputs = validateModelDefinition.inputs as Record<string, unknown>;
    const original = inputs['model-path'];
    inputs['model-path'] = { ...(original as object), description: 'A changed description.' };
    try {
      expect(staleFiles(REPO_ROOT).sort()).toEqual([
        'README.md',
        'actions/validate-model/action.yml',
        'gitlab-templates/validate-model.yml',
        'schema/ferry.schema.json',
      ]);
    } finally {
      inputs['model-path'] = original;
    }
    expect(staleFiles(REPO_ROOT)).toEqual([]);
  });
});
