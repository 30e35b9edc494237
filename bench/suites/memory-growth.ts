// Peak memory stays flat as the model grows: the CLI's peak RSS validating safetensors models of real
// (random) tensor data from 256 MiB to 4 GiB, which it checks (header) and hashes (every byte).
import { basename } from 'node:path';
import { cliValidateContender } from '../lib/child-runs.ts';
import { cachedRandomFile, GiB, MiB, residentBytes, warmPageCache } from '../lib/data-files.ts';
import { formatBytes, formatMs, formatThroughput, sizeTag } from '../lib/format.ts';
import { safetensorsHeader, uniformTensors } from '../lib/model-files.ts';
import { memoryGrowthRow, type Row } from '../lib/report.ts';
import type { Suite, SuiteContext, SuiteResult } from '../lib/suite.ts';
import { measureInterleaved, type Contender, type ContenderResult } from '../lib/timing.ts';

const SUITE = 'memory-growth';

/** Tensor data sizes, smallest first: the smallest is the baseline the others are held to. */
const PLANS = {
  full: { sizes: [256 * MiB, 1 * GiB, 4 * GiB], runs: 3 },
  quick: { sizes: [16 * MiB, 64 * MiB, 256 * MiB], runs: 2 },
};

/** Issue 3: peak memory flat as the model grows; the largest within this of the smallest. */
const MAX_GROWTH = 32 * MiB;

interface Model {
  readonly dataBytes: number;
  readonly path: string;
  readonly bytes: number;
}

function makeModel(dataBytes: number, log: (line: string) => void): Model {
  const { head } = safetensorsHeader(uniformTensors(dataBytes));
  const bytes = head.length + dataBytes;
  return { dataBytes, bytes, path: cachedRandomFile(`model-${sizeTag(dataBytes)}.safetensors`, bytes, log, head) };
}

function cliContender(m: Model): Contender {
  return cliValidateContender({ id: `cli-${m.dataBytes}`, label: `CLI validate-model, ${formatBytes(m.dataBytes)}`, path: m.path, format: 'safetensors', bytes: m.bytes });
}

async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const plan = ctx.quick ? PLANS.quick : PLANS.full;
  const models = plan.sizes.map((s) => makeModel(s, ctx.log));
  const paths = models.map((m) => m.path);
  const warm = warmPageCache(paths);
  const resident = residentBytes(paths);
  ctx.log(`page cache warmed: read ${formatBytes(warm.bytes)} once in ${formatMs(warm.ms)}`);
  ctx.log(`${plan.runs} runs each, interleaved`);
  const results = await measureInterleaved(models.map(cliContender), {
    runs: plan.runs,
    onSample: (c, round, s) => ctx.log(`${c.label.padEnd(32)} ${round}/${plan.runs}  ${formatMs(s.ms)}  ${s.peakRssBytes ? formatBytes(s.peakRssBytes) : '—'}`),
  });
  const r = (m: Model): ContenderResult => results.find((c) => c.id === `cli-${m.dataBytes}`)!;
  const smallest = models[0]!;
  const rows: Row[] = models.slice(1).map((m) =>
    memoryGrowthRow({
      suite: SUITE,
      measurement: `peak RSS: CLI on ${formatBytes(m.dataBytes)} safetensors`,
      ferry: r(m),
      baseline: r(smallest),
      baselineLabel: `CLI on ${formatBytes(smallest.dataBytes)}`,
      maxGrowthBytes: MAX_GROWTH,
    }),
  );
  const residentNote = resident === undefined ? 'fincore unavailable, residency not checked' : `fincore: ${((100 * resident) / warm.bytes).toFixed(0)}% resident before timing`;
  return {
    rows,
    details: [
      {
        title: 'CLI validate-model on safetensors models of random tensor data (peak RSS: median over the runs)',
        header: ['model', 'file', 'peak RSS', 'median', 'min', 'runs', 'throughput (median)'],
        rightAligned: [false, false, true, true, true, true, true],
        rows: models.map((m) => {
          const x = r(m);
          return x.time
            ? [
                formatBytes(m.dataBytes),
                basename(m.path),
                x.peakRssBytes ? formatBytes(x.peakRssBytes) : '—',
                formatMs(x.time.medianMs),
                formatMs(x.time.minMs),
                String(x.time.runs),
                formatThroughput(m.bytes, x.time.medianMs),
              ]
            : [formatBytes(m.dataBytes), basename(m.path), `error: ${x.error ?? 'no runs'}`, '', '', '', ''];
        }),
      },
    ],
    notes: [
      'models: a valid safetensors header (F16 tensors of 64 MiB each) in front of random bytes, written once under .cache/bench/; the CLI checks the header and hashes every byte, and must pass each',
      `peak RSS of the whole CLI process (${plan.runs} runs each, interleaved, after reading every file once: ${residentNote}); the page cache is not part of a process's RSS`,
      `goal: the largest model's peak within +${formatBytes(MAX_GROWTH)} of the smallest's, so memory does not grow with the model`,
    ],
    data: { plan, models, warmPageCache: { ...warm, residentBytes: resident }, results },
  };
}

export const memoryGrowthSuite: Suite = { name: SUITE, title: 'CLI peak memory as the model grows from 256 MiB to 4 GiB', run };
