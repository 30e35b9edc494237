// Formats are detected from bytes written by real writers (CPython's pickle and zipfile), never
// from names: every sample below carries a misleading or neutral extension.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectFormat } from '@ferry/model';
import { REPO_ROOT } from '../support/repo.js';

const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'ferry-formats-'));
const expected = JSON.parse(
  execFileSync(PYTHON, [join(REPO_ROOT, 'test/fixtures/make_format_samples.py'), dir], { encoding: 'utf8' }),
) as Record<string, string>;

describe('detectFormat', () => {
  it('covers every pickle protocol and the other formats', () => {
    expect(Object.keys(expected).length).toBeGreaterThan(15);
  });
  it.each(Object.entries(expected))('%s is %s', async (file, format) => {
    const d = await detectFormat(join(dir, file));
    expect(d.format).toBe(format);
    expect(d.evidence.length).toBeGreaterThan(0);
  });
});
