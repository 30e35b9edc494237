// How results look to people: the sticky report's sections, markdown, terminal output and progress.
import { describe, expect, it } from 'vitest';
import type { StepResult } from '@ferry/core';
import { parseSections, renderTerminal, reportRun, stepMarkdown, terminalProgress, upsertSection, REPORT_MARKER } from '@ferry/platform';

const result = (over: Partial<StepResult> = {}): StepResult => ({
  step: 'validate-model',
  verdict: 'fail',
  headline: '1 blocking finding',
  outputs: { verdict: 'fail' },
  report: [{ heading: 'Files', blocks: [{ kind: 'table', columns: ['File', 'Format'], rows: [['a|b.bin', 'unknown']] }] }],
  findings: [{ severity: 'high', rule: 'format/unrecognized', message: 'a|b.bin: not recognized', file: 'm/a|b.bin' }],
  gates: [{ name: 'accuracy', passed: false, value: '0.90', threshold: '>= 0.92' }],
  metrics: {},
  durationMs: 1234,
  ...over,
});

describe('pipeline report sections', () => {
  it('keeps one section per step in pipeline order, replacing in place', () => {
    let body = upsertSection(undefined, 'canary-deploy', 'canary v1');
    body = upsertSection(body, 'validate-model', 'validate v1');
    body = upsertSection(body, 'canary-deploy', 'canary v2');
    expect(body.startsWith(REPORT_MARKER)).toBe(true);
    expect([...parseSections(body).entries()]).toEqual([
      ['validate-model', 'validate v1'],
      ['canary-deploy', 'canary v2'],
    ]);
    expect(body.match(/ferry:step:canary-deploy:start/g)).toHaveLength(1);
  });

  it('starts afresh for a new run, so an earlier run’s later steps never show beside a later run that stopped early', () => {
    let body = upsertSection(undefined, 'validate-model', 'validate: pass', { run: 'pipeline-7' });
    body = upsertSection(body, 'canary-deploy', 'canary: pass', { run: 'pipeline-7' });
    body = upsertSection(body, 'promote', 'promote: pass', { run: 'pipeline-7' });
    expect([...parseSections(body).keys()]).toEqual(['validate-model', 'canary-deploy', 'promote']);
    // The next pipeline fails at validate-model: its note holds that section alone.
    body = upsertSection(body, 'validate-model', 'validate: fail', { run: 'pipeline-8' });
    expect([...parseSections(body).entries()]).toEqual([['validate-model', 'validate: fail']]);
    expect(reportRun(body)).toBe('pipeline-8');
    // A note written before runs were recorded counts as another run.
    expect([...parseSections(upsertSection(upsertSection(undefined, 'promote', 'old'), 'validate-model', 'new', { run: 'pipeline-9' })).keys()]).toEqual(['validate-model']);
    // Without a run (no pipeline id), sections are kept as before.
    expect([...parseSections(upsertSection(body, 'promote', 'p')).keys()]).toEqual(['validate-model', 'promote']);
  });

  it('caps a huge section so the whole comment stays under GitHub’s 65,536 characters', () => {
    const huge = `\`\`\`text\n${'x'.repeat(80)}\n`.repeat(2000);
    let body: string | undefined;
    for (const s of ['validate-model', 'build-serving-image', 'benchmark-on-gpu-runner', 'canary-deploy', 'promote', 'rollback'] as const) {
      body = upsertSection(body, s, huge);
    }
    expect(body?.length).toBeLessThan(65_536);
    const section = parseSections(body ?? '').get('promote') ?? '';
    expect(section).toContain('truncated');
    expect((section.match(/```/g) ?? []).length % 2).toBe(0);
  });
});

describe('markdown', () => {
  it('escapes table cells and shows verdict, gates and findings', () => {
    const md = stepMarkdown(result());
    expect(md).toContain('### validate-model: ❌ fail');
    expect(md).toContain('| accuracy | 0.90 | >= 0.92 | ❌ fail |');
    expect(md).toContain('m/a\\|b.bin');
    expect(md).not.toMatch(/\| a\|b\.bin \|/);
  });
});

describe('terminal', () => {
  it('renders the verdict first and aligned tables, without colour when asked', () => {
    const text = renderTerminal(result(), false);
    expect(text.split('\n')[0]).toBe('validate-model  FAIL  1 blocking finding');
    expect(text).toContain('HIGH     format/unrecognized  m/a|b.bin: a|b.bin: not recognized');
    expect(text).not.toContain('\x1b[');
  });

  it('prints progress every 10% in logs and redraws one line on a TTY', () => {
    const lines: string[] = [];
    let t = 0;
    const log = terminalProgress({ isTTY: false, write: (s) => lines.push(s) }, 'sha256', 1000, 'items', () => (t += 50));
    for (let i = 1; i <= 1000; i += 1) log.update(i);
    log.end();
    expect(lines.filter((l) => /^sha256: \d+%/.test(l))).toHaveLength(9);
    expect(lines.at(-1)).toMatch(/^sha256: done, 1000 in/);
    const tty: string[] = [];
    const bar = terminalProgress({ isTTY: true, write: (s) => tty.push(s) }, 'sha256', 2048, 'bytes', () => (t += 200));
    bar.update(1024);
    bar.end();
    expect(tty.every((s) => s.startsWith('\r'))).toBe(true);
    expect(tty.at(-1)).toMatch(/100% 2\.0 KiB\/2\.0 KiB|50% 1\.0 KiB\/2\.0 KiB/);
  });
});
