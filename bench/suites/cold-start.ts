// Start-up cost of the doors: the validate-model action bundle and the CLI beside a bare `node -e ''`,
// and the size of every action's dist/ (downloaded by `uses:` on every job).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { cachedRandomFile, KiB, MiB } from '../lib/data-files.ts';
import { formatBytes, formatMs } from '../lib/format.ts';
import { ACTIONS_DIR, CLI_BIN, doorEnv, REPO_ROOT } from '../lib/paths.ts';
import { errorRow, overheadRow, sizeRow, type Row } from '../lib/report.ts';
import { spawnTimed, stderrTail, type TimedProcess } from '../lib/spawn.ts';
import type { Suite, SuiteContext, SuiteResult } from '../lib/suite.ts';
import { measureInterleaved, type Contender, type ContenderResult } from '../lib/timing.ts';

const SUITE = 'cold-start';
const RUNS = { full: 20, quick: 5 };
/** Uncounted rounds first, so every contender starts from files already in the page cache. */
const WARMUPS = 2;
/** What a door may add to a bare Node start: a small share of a CI step, paid on every job. */
const MAX_EXTRA_MS = 200;
/** "A few MB" (DESIGN, Bundles). */
const MAX_BUNDLE_BYTES = 5 * MiB;

const ACTION = join(ACTIONS_DIR, 'validate-model', 'dist', 'index.js');

type Expect = (p: TimedProcess) => void;

function processContender(id: string, label: string, args: readonly string[], expect: Expect, measureRss = false): Contender {
  return {
    id,
    label,
    run: async () => {
      const p = await spawnTimed(process.execPath, args, { env: doorEnv(), cwd: REPO_ROOT, measureRss });
      expect(p);
      return { ms: p.ms, peakRssBytes: p.peakRssBytes };
    },
  };
}

function contenders(tiny: string, measureRss: boolean): Contender[] {
  return [
    processContender('bare', "node -e ''", ['-e', ''], (p) => {
      if (p.exitCode !== 0) throw new Error(`node -e '' ${stderrTail(p)}`);
    }, measureRss),
    // No inputs set: the action parses its inputs and stops on the missing required one.
    processContender('action', 'action validate-model (no inputs)', [ACTION], (p) => {
      if (p.exitCode !== 1 || !/^::error::.*model-path/m.test(p.stdout)) {
        throw new Error(`expected exit 1 and a ::error:: about model-path, got ${stderrTail(p)}; stdout: ${p.stdout.trim().slice(0, 200)}`);
      }
    }, measureRss),
    // Random bytes are no known format: exit 1 with a full JSON result is the expected outcome.
    processContender('cli', 'CLI validate-model (1 KiB file)', [CLI_BIN, 'validate-model', '--model-path', tiny, '--json'], (p) => {
      if (p.exitCode !== 1 || !p.stdout.includes('"file-digests"')) throw new Error(`expected exit 1 with a JSON result, got ${stderrTail(p)}`);
    }, measureRss),
  ];
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return total;
}

function bundleRows(): { rows: Row[]; sizes: Record<string, { bytes: number; gzipIndexBytes?: number }> } {
  const rows: Row[] = [];
  const sizes: Record<string, { bytes: number; gzipIndexBytes?: number }> = {};
  const steps = readdirSync(ACTIONS_DIR, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  for (const step of steps) {
    const dist = join(ACTIONS_DIR, step, 'dist');
    const measurement = `bundle: ${step}/dist`;
    if (!existsSync(dist)) {
      rows.push(errorRow(SUITE, measurement, `${dist} is missing: run npm run build`));
      continue;
    }
    const bytes = dirBytes(dist);
    const index = join(dist, 'index.js');
    const gzipIndexBytes = existsSync(index) ? gzipSync(readFileSync(index), { level: 9 }).length : undefined;
    sizes[step] = gzipIndexBytes === undefined ? { bytes } : { bytes, gzipIndexBytes };
    rows.push(sizeRow({ suite: SUITE, measurement, bytes, maxBytes: MAX_BUNDLE_BYTES }));
  }
  return { rows, sizes };
}

async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const runs = ctx.quick ? RUNS.quick : RUNS.full;
  const tiny = cachedRandomFile('random-1KiB.bin', 1 * KiB, ctx.log);
  ctx.log(`${runs} starts each (after ${WARMUPS} uncounted), interleaved`);
  const timed = await measureInterleaved(contenders(tiny, false), {
    runs,
    warmups: WARMUPS,
    onSample: (c, round) => {
      if (round === runs) ctx.log(`${c.label} done`);
    },
  });
  // Peak RSS from separate runs: the wrapper that reads it would add to the start-up being timed.
  ctx.log('peak RSS: one more start each');
  const rss = await measureInterleaved(contenders(tiny, true), { runs: 1 });
  const r = (list: readonly ContenderResult[], id: string): ContenderResult => list.find((c) => c.id === id)!;
  const bundles = bundleRows();
  const rows: Row[] = [
    overheadRow({ suite: SUITE, measurement: 'action validate-model start', ferry: r(timed, 'action'), anchor: r(timed, 'bare'), maxExtraMs: MAX_EXTRA_MS }),
    overheadRow({ suite: SUITE, measurement: 'CLI validate-model start', ferry: r(timed, 'cli'), anchor: r(timed, 'bare'), maxExtraMs: MAX_EXTRA_MS }),
    ...bundles.rows,
  ];
  return {
    rows,
    details: [
      {
        title: `start-up, ${runs} runs each`,
        header: ['contender', 'median', 'min', 'runs', 'peak RSS'],
        rightAligned: [false, true, true, true, true],
        rows: timed.map((t) => {
          const peak = r(rss, t.id).peakRssBytes;
          return t.time
            ? [t.label, formatMs(t.time.medianMs), formatMs(t.time.minMs), String(t.time.runs), peak ? formatBytes(peak) : '—']
            : [t.label, `error: ${t.error ?? 'no runs'}`, '', '', ''];
        }),
      },
      {
        title: 'action bundles (what `uses:` downloads)',
        header: ['step', 'dist/', 'index.js gzipped'],
        rightAligned: [false, true, true],
        rows: Object.entries(bundles.sizes).map(([step, b]) => [step, formatBytes(b.bytes), b.gzipIndexBytes === undefined ? '—' : formatBytes(b.gzipIndexBytes)]),
      },
    ],
    notes: [
      `"cold" means a fresh Node process each time; the files are already in the page cache (${WARMUPS} uncounted warm-up rounds)`,
      `the action runs its committed ncc bundle with no INPUT_* set and must stop with ::error:: about model-path; the CLI hashes a 1 KiB file`,
    ],
    data: { runs, warmups: WARMUPS, node: process.execPath, timed, peakRss: rss, bundles: bundles.sizes },
  };
}

export const coldStartSuite: Suite = { name: SUITE, title: 'Door start-up and action bundle size', run };
