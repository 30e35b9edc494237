// `ferry pipeline`'s HTML report, opened in headless Chromium (Debian's chromium, driven by
// playwright-core). The reports come from real runs on a copy of examples/classifier with a shorter
// benchmark: v2 with recorded nvidia-smi output on PATH (so the GPU is sampled and drawn), then slow
// and hostile-pickle without it, with a model file named like an HTML tag. The page must draw every
// chart with one mark per datum of report.json, show the outcome and the gate table, load nothing
// but itself, log no error, and show hostile strings as text.
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeNvidiaSmiReplay } from '../support/nvidia-smi-replay.js';
import { ferry, REPO_ROOT, requireBuilt } from '../support/repo.js';

const CHROMIUM = '/usr/bin/chromium';
const EXAMPLE = join(REPO_ROOT, 'examples/classifier');
const SCREENSHOT = join(REPO_ROOT, 'test-results/pipeline-report.png');
const HOSTILE = '<img src=x onerror=alert(1)>';

interface Histogram {
  count: number;
}
interface Summary {
  count: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
}
interface Report {
  modelName: string;
  candidates: {
    candidate: string;
    outcome: string;
    stoppedAt?: string;
    reason: string;
    steps: { step: string; result?: { gates: { name: string; passed: boolean }[] } }[];
    benchmark?: {
      gpu?: { telemetry?: { gpus: { gpu: number; series: { tS: number; utilizationPct?: number; powerW?: number }[] }[] } };
      load: { points: { summary: { latencyMs: { corrected: Summary } }; histograms: { corrected: Histogram }; repeats: { windows: { summary: { throughput: number } }[] }[] }[] };
    };
    canary?: { decisions: { canary: number }[]; looks: { judgement: { rows: unknown[] } }[] };
  }[];
}

/** What a page did while it was open: every request, console errors, uncaught errors, dialogs. */
interface Visit {
  readonly page: Page;
  readonly requests: string[];
  readonly errors: string[];
  readonly dialogs: string[];
}

let dir: string;
let browser: Browser;
const reports: Record<'gpu' | 'rejected' | 'hostile', { json: string; html: string; report: Report }> = {} as never;

function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the HTML report test opens the page in Debian's chromium. Install it with "sudo apt-get install -y chromium" (or run scripts/install-system-deps.sh as root).`);
  }
}

/** A copy of the example with a shorter benchmark, and a model file in hostile-pickle named like a tag. */
function copyExample(): string {
  const to = join(dir, 'example');
  cpSync(EXAMPLE, to, { recursive: true, filter: (src) => !relative(EXAMPLE, src).startsWith('.ferry') });
  const config = join(to, 'ferry.yml');
  const text = readFileSync(config, 'utf8').replace(/^ {2}warmup: 2s/m, '  warmup: 1s').replace(/^ {2}window: 5s/m, '  window: 2s').replace(/^ {2}duration: 10s/m, '  duration: 4s');
  expect(text).toMatch(/duration: 4s/);
  writeFileSync(config, text);
  copyFileSync(join(to, 'models/hostile-pickle/preprocess.pkl'), join(to, `models/hostile-pickle/${HOSTILE}.pkl`));
  return to;
}

function load(name: keyof typeof reports, json: string): void {
  reports[name] = { json, html: json.replace(/\.json$/, '.html'), report: JSON.parse(readFileSync(json, 'utf8')) as Report };
}

async function open(html: string): Promise<Visit> {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  const visit: Visit = { page, requests: [], errors: [], dialogs: [] };
  page.on('request', (r) => visit.requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') visit.errors.push(m.text());
  });
  page.on('pageerror', (e) => visit.errors.push(e.message));
  page.on('dialog', (d) => {
    visit.dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
  return visit;
}

function expectSelfContained(visit: Visit, html: string): void {
  expect(visit.requests).toEqual([pathToFileURL(html).href]);
  expect(visit.errors).toEqual([]);
  expect(visit.dialogs).toEqual([]);
}

/** Every chart on the page is drawn with a size. */
async function expectChartsDrawn(page: Page): Promise<number> {
  const boxes = await page.$$eval('svg.chart', (svgs) => svgs.map((s) => ({ name: s.getAttribute('data-chart'), ...s.getBoundingClientRect().toJSON() as { width: number; height: number } })));
  expect(boxes.length).toBeGreaterThan(0);
  for (const b of boxes) {
    expect(b.width, `${b.name} width`).toBeGreaterThan(0);
    expect(b.height, `${b.name} height`).toBeGreaterThan(0);
  }
  return boxes.length;
}

const marks = (page: Page, chart: string): Promise<{ count: number | null; value: number | null; y: number | null }[]> =>
  page.$$eval(`svg[data-chart="${chart}"] .mark`, (els) => els.map((e) => ({ count: e.hasAttribute('data-count') ? Number(e.getAttribute('data-count')) : null, value: e.hasAttribute('data-value') ? Number(e.getAttribute('data-value')) : null, y: e.hasAttribute('data-y') ? Number(e.getAttribute('data-y')) : null })));

const gatesOf = (run: Report['candidates'][number]): string[] => run.steps.flatMap((s) => (s.result?.gates ?? []).map((g) => `${s.step} ${g.name} ${g.passed ? 'pass' : 'FAIL'}`));

async function gateRows(page: Page, section: string): Promise<string[]> {
  return page.$$eval(`${section} table[data-table="gates"] tbody tr`, (rows) => rows.map((r) => [...r.querySelectorAll('td')].filter((_, i) => i === 0 || i === 1 || i === 4).map((td) => td.textContent).join(' ')));
}

beforeAll(async () => {
  requireBuilt();
  requireChromium();
  dir = mkdtempSync(join(tmpdir(), 'ferry-pipeline-html-'));
  const project = copyExample();
  const replay = await makeNvidiaSmiReplay();
  try {
    const json = join(dir, 'gpu/report.json');
    const r = await ferry(['pipeline', '--working-directory', project, '--candidate', 'v2', '--quiet', '--report', json], { env: { PATH: `${replay.dir}:${process.env.PATH}` }, timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    load('gpu', json);
  } finally {
    await replay.cleanup();
  }
  const json = join(dir, 'rejected/report.json');
  // No nvidia-smi on PATH here, even on a machine with a GPU: this page shows the run without one.
  const noGpuPath = (process.env.PATH ?? '').split(':').filter((d) => !existsSync(join(d, 'nvidia-smi'))).join(':');
  const r = await ferry(['pipeline', '--working-directory', project, '--candidate', 'slow', '--candidate', 'hostile-pickle', '--quiet', '--report', json], { env: { PATH: noGpuPath }, timeoutMs: 240_000 });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/\(and \.md, \.html\)/);
  load('rejected', json);

  // A report whose model and candidate carry a hostile name, rendered again with --render.
  const hostile = { ...reports.rejected.report, modelName: HOSTILE, candidates: reports.rejected.report.candidates.map((c) => ({ ...c, candidate: `${HOSTILE}"'&` })) };
  mkdirSync(join(dir, 'hostile'));
  writeFileSync(join(dir, 'hostile/report.json'), JSON.stringify(hostile));
  const rendered = await ferry(['pipeline', '--render', join(dir, 'hostile/report.json')]);
  expect(rendered.code, rendered.stderr).toBe(0);
  load('hostile', join(dir, 'hostile/report.json'));

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 420_000);

afterAll(async () => {
  await browser?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('ferry pipeline HTML report in headless Chromium', () => {
  it('promoted v2: outcome, gate table, latency, throughput, GPU, canary weights and the judge at every look, one mark per datum', async () => {
    const { html, report } = reports.gpu;
    const run = report.candidates[0]!;
    const visit = await open(html);
    const { page } = visit;
    try {
      expectSelfContained(visit, html);
      await expectChartsDrawn(page);
      const section = '#candidate-0';
      expect(await page.textContent(`${section} .outcome-text`)).toBe('PROMOTED');
      expect(await gateRows(page, section)).toEqual(gatesOf(run));

      const point = run.benchmark!.load.points[0]!;
      const latency = point.summary.latencyMs.corrected;
      const bars = await marks(page, 'candidate-0-latency-histogram-0');
      expect(bars.length).toBeGreaterThan(1);
      expect(bars.reduce((n, b) => n + b.count!, 0)).toBe(point.histograms.corrected.count);
      expect((await marks(page, 'candidate-0-latency-percentiles-0')).map((m) => m.value)).toEqual([latency.p50, latency.p90, latency.p95, latency.p99]);
      const windows = point.repeats.flatMap((r) => r.windows);
      expect((await marks(page, 'candidate-0-throughput-0')).map((m) => m.value)).toEqual(windows.map((w) => w.summary.throughput));

      const gpu = run.benchmark!.gpu!.telemetry!.gpus[0]!;
      expect(gpu.series.length).toBeGreaterThan(1);
      expect((await marks(page, `candidate-0-gpu-util-${gpu.gpu}`)).map((m) => m.y)).toEqual(gpu.series.filter((p) => p.utilizationPct !== undefined).map((p) => p.utilizationPct));
      expect((await marks(page, `candidate-0-gpu-power-${gpu.gpu}`)).length).toBe(gpu.series.filter((p) => p.powerW !== undefined).length);
      expect(await page.$(`${section} .no-gpu`)).toBeNull();

      const canary = run.canary!;
      expect((await marks(page, 'candidate-0-canary-weights')).map((m) => m.y)).toEqual(canary.decisions.map((d) => d.canary));
      expect(canary.looks.length).toBeGreaterThan(0);
      expect(await page.$$eval(`${section} .look`, (l) => l.length)).toBe(canary.looks.length);
      for (const [i, look] of canary.looks.entries()) {
        expect(await page.$$eval(`svg[data-chart="candidate-0-look-${i}"] .interval-row`, (rows) => rows.length), `look ${i}`).toBe(look.judgement.rows.length);
        expect(await page.$$eval(`${section} .look[data-look="${i}"] table.judge tbody tr`, (rows) => rows.length)).toBe(look.judgement.rows.length);
      }
      expect(await page.$$eval(`${section} table[data-table="decisions"] tbody tr`, (rows) => rows.length)).toBe(canary.decisions.length);

      mkdirSync(join(REPO_ROOT, 'test-results'), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      expect(readFileSync(SCREENSHOT).subarray(1, 4).toString()).toBe('PNG');
    } finally {
      await page.close();
    }
  });

  it('rejected runs: slow at canary-deploy with its rollback drawn, hostile-pickle at validate-model, no GPU sampled, a tag-like file name shown as text', async () => {
    const { html, report } = reports.rejected;
    const [slow, pickle] = report.candidates;
    expect([slow!.candidate, pickle!.candidate]).toEqual(['slow', 'hostile-pickle']);
    const visit = await open(html);
    const { page } = visit;
    try {
      expectSelfContained(visit, html);
      await expectChartsDrawn(page);
      expect(await page.textContent('#candidate-0 .outcome-text')).toBe('REJECTED at canary-deploy');
      expect(await page.textContent('#candidate-0 .reason')).toBe(slow!.reason);
      expect(await gateRows(page, '#candidate-0')).toEqual(gatesOf(slow!));
      expect(await page.textContent('#candidate-0 .no-gpu')).toMatch(/^No GPU was sampled: nvidia-smi is not on PATH/);
      const weights = (await marks(page, 'candidate-0-canary-weights')).map((m) => m.y);
      expect(weights).toEqual(slow!.canary!.decisions.map((d) => d.canary));
      expect(weights.at(-1)).toBe(0);
      expect(await page.$$eval('#candidate-0 svg[data-chart^="candidate-0-look-"] .interval-row.outcome-fail', (rows) => rows.length)).toBeGreaterThan(0);

      expect(await page.textContent('#candidate-1 .outcome-text')).toBe('REJECTED at validate-model');
      expect(await gateRows(page, '#candidate-1')).toEqual(gatesOf(pickle!));
      expect(await page.$('#candidate-1 svg')).toBeNull();
      const findings = await page.$$eval('#candidate-1 table.findings td', (tds) => tds.map((td) => td.textContent));
      expect(findings.some((t) => t?.includes(`${HOSTILE}.pkl`))).toBe(true);
      expect(await page.$$eval('img', (imgs) => imgs.length)).toBe(0);
      await page.screenshot({ path: join(REPO_ROOT, 'test-results/pipeline-report-rejected.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('a hostile model and candidate name render as text: no element, no script, no dialog', async () => {
    const { html } = reports.hostile;
    const visit = await open(html);
    const { page } = visit;
    try {
      expectSelfContained(visit, html);
      expect(await page.title()).toBe(`Ferry pipeline: ${HOSTILE}`);
      expect(await page.textContent('h1')).toBe(`Ferry pipeline: ${HOSTILE}`);
      expect(await page.getAttribute('#candidate-0', 'data-candidate')).toBe(`${HOSTILE}"'&`);
      expect((await page.textContent('#candidate-0 h2'))?.startsWith(`${HOSTILE}"'&`)).toBe(true);
      expect(await page.$$eval('img, script', (els) => els.length)).toBe(0);
    } finally {
      await page.close();
    }
  });
});
