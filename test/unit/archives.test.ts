// Archive checks on zips written by CPython's zipfile and torch.save, some with their central
// directory patched: bombs (ratio, declared size, overlapping members, totals, entry counts) and
// member names that escape the extraction directory are reported; bombs are never inflated.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkArchive } from '../../packages/model/src/formats/archive.js';
import { detectFormat } from '../../packages/model/src/formats/detect.js';
import { DEFAULT_LIMITS, MalformedModelError, type CheckLimits, type FileCheckContext } from '../../packages/model/src/formats/types.js';
import { checkNpz, checkPytorchZip } from '../../packages/model/src/scan/index.js';
import { REPO_ROOT } from '../support/repo.js';
import { requirePython } from '../support/python.js';

interface Expectation {
  readonly expect: string;
  readonly rules?: readonly string[];
}

const dir = mkdtempSync(join(tmpdir(), 'ferry-archives-'));
const manifest = JSON.parse(
  execFileSync(requirePython(), [join(REPO_ROOT, 'test/fixtures/make_hostile_pickles.py'), dir], { encoding: 'utf8', maxBuffer: 16 << 20 }),
) as Record<string, Expectation>;
const archives = Object.entries(manifest).filter(([, e]) => e.expect === 'archive');

function ctxFor(file: string, limits: Partial<CheckLimits> = {}): FileCheckContext {
  return { path: join(dir, file), displayPath: file, modelRoot: dir, limits: { ...DEFAULT_LIMITS, ...limits }, signal: new AbortController().signal };
}

/** Archive rules reported for a file, through the checker its detected format calls. */
async function archiveRules(file: string, limits: Partial<CheckLimits> = {}): Promise<string[]> {
  const { format } = await detectFormat(join(dir, file));
  const ctx = ctxFor(file, limits);
  const result = format === 'pytorch-zip' ? await checkPytorchZip(ctx) : format === 'npz' ? await checkNpz(ctx) : await checkArchive(ctx);
  return [...new Set(result.findings.map((f) => f.rule).filter((r) => r.startsWith('archive/') || r === 'pickle/unscanned-member'))].sort();
}

describe('zip bombs and path traversal', () => {
  it.each(archives)('%s reports exactly its archive rules', async (file, e) => {
    expect(await archiveRules(file)).toEqual([...(e.rules ?? [])].sort());
  });

  it('names every traversal member, with absolute paths, ".." and symlinks critical', async () => {
    const result = await checkArchive(ctxFor('traversal.zip'));
    const critical = result.findings.filter((f) => f.severity === 'critical').map((f) => f.message);
    for (const name of ['../evil.pkl', '/abs/path.pkl', 'nested/../../evil2.pkl', 'link-to-etc']) {
      expect(critical.some((m) => m.includes(`"${name}"`))).toBe(true);
    }
    expect(result.findings.find((f) => f.rule === 'archive/unsafe-name')?.severity).toBe('high');
  });

  it('a bomb storage member is flagged but never inflated, and the checkpoint still scans its pickle', async () => {
    const started = performance.now();
    const result = await checkPytorchZip(ctxFor('bomb_ratio.zip'));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(result.findings.find((f) => f.rule === 'archive/compression-ratio')?.message).toContain('archive/data/0');
    expect(result.scanned).toBe(true);
  });

  it('a data.pkl too compressed to inflate leaves the checkpoint unscanned, which fails', async () => {
    const result = await checkPytorchZip(ctxFor('bomb_pkl.pt'));
    expect(result.scanned).toBe(false);
    expect(result.findings.filter((f) => f.severity === 'high').map((f) => f.rule)).toContain('pickle/unscanned-member');
  });

  it.each([
    ['total uncompressed size', 'clean.zip', { maxArchiveBytes: 1000 }, ['archive/total-size']],
    ['entry count', 'clean.zip', { maxArchiveEntries: 1 }, ['archive/too-many-entries']],
    ['compression ratio, raised above the bomb', 'bomb_ratio.zip', { maxCompressionRatio: 5000 }, []],
    ['compression ratio, under the 1 MiB floor', 'compressed.npz', { maxCompressionRatio: 2 }, []],
  ])('the %s limit comes from CheckLimits', async (_name, file, limits, rules) => {
    expect(await archiveRules(file, limits)).toEqual(rules);
  });

  it('a clean torch checkpoint and npz have no archive findings', async () => {
    expect(await archiveRules('state_dict.pt')).toEqual([]);
    expect(await archiveRules('compressed.npz')).toEqual([]);
  });

  it('an archive whose directory is cut off is malformed (exit 2)', async () => {
    const bytes = readFileSync(join(dir, 'clean.zip'));
    writeFileSync(join(dir, 'cut.zip'), bytes.subarray(0, bytes.length - 30));
    const err = await checkArchive(ctxFor('cut.zip')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MalformedModelError);
    expect((err as MalformedModelError).rule).toBe('archive/directory');
    expect((err as MalformedModelError).exitCode).toBe(2);
  });

  it('a torch checkpoint missing a storage its pickle references is malformed', async () => {
    // Rename the storage member in both of its headers, so data.pkl's reference to storage 0 dangles.
    const bytes = Buffer.from(readFileSync(join(dir, 'state_dict.pt')));
    let at = bytes.indexOf('state_dict/data/0');
    while (at >= 0) {
      bytes.write('state_dict/data/X', at, 'latin1');
      at = bytes.indexOf('state_dict/data/0', at + 1);
    }
    writeFileSync(join(dir, 'dangling.pt'), bytes);
    const err = await checkPytorchZip(ctxFor('dangling.pt')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as MalformedModelError).rule).toBe('pytorch-zip/missing-storage');
  });
});
