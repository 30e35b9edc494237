// Pickle scanning of a 1 GiB PyTorch checkpoint written by real torch.save (zip format and legacy)
// and of a 1 GiB plain pickle of numpy arrays, beside what it costs just to read the file: Node
// reading every byte, and cat.
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { childContender, cliValidateContender, expectCleanCheck, type ChildExtras } from '../lib/child-runs.ts';
import { cachedGeneratedFile, residentBytes, warmPageCache } from '../lib/data-files.ts';
import { formatBytes, formatMs, formatThroughput, sizeTag } from '../lib/format.ts';
import { writeCheckpoint, type CheckpointFormat } from '../lib/model-files.ts';
import { CHECK_CHILD } from '../lib/paths.ts';
import { infoRow, timeRatioRow, type Row } from '../lib/report.ts';
import { spawnTimed, stderrTail } from '../lib/spawn.ts';
import type { DetailTable, Suite, SuiteContext, SuiteResult } from '../lib/suite.ts';
import { measureInterleaved, median, type Contender, type ContenderResult } from '../lib/timing.ts';

const SUITE = 'pickle-scan';

/** `layers` float32 matrices of side × side (plus a bias each): 4 × 8192² × 4 bytes = 1 GiB. */
const PLANS = {
  full: { layers: 4, side: 8192, runs: 5, cliRuns: 2 },
  quick: { layers: 4, side: 4096, runs: 2, cliRuns: 1 },
};

/** Issue 3: scanning a checkpoint costs at most 1.3× what it costs just to read it. */
const MAX_RATIO = 1.3;

interface Checkpoint {
  readonly kind: 'pytorch-zip' | 'pytorch-legacy' | 'pickle';
  readonly label: string;
  readonly path: string;
  readonly bytes: number;
}

function contendersFor(c: Checkpoint, extras: ChildExtras): Contender[] {
  return [
    childContender({
      id: `${c.kind}-ferry`,
      label: `ferry scan (${c.kind})`,
      command: process.execPath,
      args: [CHECK_CHILD, 'ferry', c.path],
      extras,
      verify: (r) => expectCleanCheck('ferry scan', c.kind, r),
    }),
    childContender({
      id: `${c.kind}-node`,
      label: 'node read, 1 MiB chunks',
      command: process.execPath,
      args: [CHECK_CHILD, 'read', c.path],
      extras,
      verify: (r) => {
        if (r.readBytes < c.bytes) throw new Error(`node read read ${r.readBytes} of ${c.bytes} bytes`);
      },
    }),
    {
      id: `${c.kind}-cat`,
      label: 'cat > /dev/null',
      run: async () => {
        const p = await spawnTimed('sh', ['-c', 'cat "$1" > /dev/null', 'sh', c.path], { measureRss: true });
        if (p.exitCode !== 0) throw new Error(`cat ${stderrTail(p)}`);
        return { ms: p.ms, peakRssBytes: p.peakRssBytes };
      },
    },
  ];
}

function makeCheckpoints(plan: { layers: number; side: number }, log: (line: string) => void): Checkpoint[] {
  const bytes = plan.layers * plan.side * (plan.side + 1) * 4;
  const tag = `${sizeTag(bytes)}-${plan.layers}x${plan.side}`;
  const make = (kind: Checkpoint['kind'], format: CheckpointFormat, label: string): Checkpoint => {
    const path = cachedGeneratedFile(`checkpoint-${tag}-${format}.${format === 'pickle' ? 'pkl' : 'pt'}`, `${formatBytes(bytes)} of float32 weights, ${label}`, (tmp) => writeCheckpoint(tmp, { ...plan, format }), log);
    return { kind, label, path, bytes: statSync(path).size };
  };
  return [
    make('pytorch-zip', 'zip', 'torch.save (zip format)'),
    make('pytorch-legacy', 'legacy', 'torch.save (legacy format)'),
    make('pickle', 'pickle', 'pickle.dump of numpy arrays (protocol 4)'),
  ];
}

function detailTable(c: Checkpoint, results: readonly ContenderResult[], extras: ChildExtras): DetailTable {
  return {
    title: `${basename(c.path)}: ${formatBytes(c.bytes)}, ${c.label}`,
    header: ['contender', 'median', 'min', 'runs', 'throughput (median)', 'bytes read', 'peak RSS'],
    rightAligned: [false, true, true, true, true, true, true],
    rows: results.map((r) => {
      const read = extras.get(r.id)?.readBytes;
      return r.time
        ? [
            r.label,
            formatMs(r.time.medianMs),
            formatMs(r.time.minMs),
            String(r.time.runs),
            // Ferry does not read the tensor bytes, so a rate over the file size would mean nothing.
            r.id.endsWith('-ferry') ? '—' : formatThroughput(c.bytes, r.time.medianMs),
            read && read.length > 0 ? formatBytes(median(read)) : r.id.endsWith('-cat') ? formatBytes(c.bytes) : '—',
            r.peakRssBytes ? formatBytes(r.peakRssBytes) : '—',
          ]
        : [r.label, `error: ${r.error ?? 'no runs'}`, '', '', '', '', ''];
    }),
  };
}

async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const plan = ctx.quick ? PLANS.quick : PLANS.full;
  const checkpoints = makeCheckpoints(plan, ctx.log);
  const paths = checkpoints.map((c) => c.path);
  // Read once more right before timing: the files may have just been written, or evicted since.
  const warm = warmPageCache(paths);
  const resident = residentBytes(paths);
  ctx.log(`page cache warmed: read ${formatBytes(warm.bytes)} once in ${formatMs(warm.ms)}`);
  const extras: ChildExtras = new Map();
  ctx.log(`${plan.runs} runs each (after 1 uncounted), interleaved`);
  const timed = await measureInterleaved(
    checkpoints.flatMap((c) => contendersFor(c, extras)),
    { runs: plan.runs, warmups: 1, onSample: (c, round, s) => ctx.log(`${c.label.padEnd(28)} ${round}/${plan.runs}  ${formatMs(s.ms)}`) },
  );
  ctx.log(`CLI validate-model on each (scan + SHA-256 of every byte), ${plan.cliRuns} run(s)`);
  const cli = await measureInterleaved(
    checkpoints.map((c) => cliValidateContender({ id: `${c.kind}-cli`, label: `ferry CLI validate-model (${c.kind})`, path: c.path, format: c.kind, bytes: c.bytes })),
    { runs: plan.cliRuns, onSample: (c, round, s) => ctx.log(`${c.label.padEnd(40)} ${round}/${plan.cliRuns}  ${formatMs(s.ms)}`) },
  );

  const r = (list: readonly ContenderResult[], id: string): ContenderResult => list.find((c) => c.id === id)!;
  const rows: Row[] = checkpoints.flatMap((c) => {
    const what = `${formatBytes(c.bytes)} ${c.kind}`;
    return [
      timeRatioRow({ suite: SUITE, measurement: `${what}: pickle scan`, ferry: r(timed, `${c.kind}-ferry`), anchor: r(timed, `${c.kind}-node`), maxRatio: MAX_RATIO }),
      timeRatioRow({ suite: SUITE, measurement: `${what}: pickle scan`, ferry: r(timed, `${c.kind}-ferry`), anchor: r(timed, `${c.kind}-cat`), maxRatio: MAX_RATIO }),
      infoRow({
        suite: SUITE,
        measurement: `${what}: CLI validate-model (scan + hash)`,
        ferry: r(cli, `${c.kind}-cli`),
        format: (x) => `${formatMs(x.time!.medianMs)}, ${formatThroughput(c.bytes, x.time!.medianMs)}, ${x.peakRssBytes ? formatBytes(x.peakRssBytes) : '—'} RSS`,
      }),
    ];
  });
  const residentNote = resident === undefined ? 'fincore unavailable, residency not checked' : `fincore: ${((100 * resident) / warm.bytes).toFixed(0)}% resident before timing`;
  return {
    rows,
    details: [
      ...checkpoints.map((c) => detailTable(c, timed.filter((t) => t.id.startsWith(`${c.kind}-`)), extras)),
      {
        title: 'CLI validate-model on the same files (wall time, start-up and hashing included)',
        header: ['contender', 'median', 'runs', 'throughput', 'peak RSS'],
        rightAligned: [false, true, true, true, true],
        rows: cli.map((x) => {
          const c = checkpoints.find((k) => x.id.startsWith(`${k.kind}-`))!;
          return x.time
            ? [x.label, formatMs(x.time.medianMs), String(x.time.runs), formatThroughput(c.bytes, x.time.medianMs), x.peakRssBytes ? formatBytes(x.peakRssBytes) : '—']
            : [x.label, `error: ${x.error ?? 'no runs'}`, '', '', ''];
        }),
      },
    ],
    notes: [
      `checkpoints: an OrderedDict of ${plan.layers} float32 weights of ${plan.side}×${plan.side} and their biases, written once with real torch (torch.save zip, and _use_new_zipfile_serialization=False) and once with pickle.dump of numpy arrays, whose bytes sit inside the pickle stream`,
      `page cache: every checkpoint was read once end to end before timing, so Ferry and the readers all start from a warm cache alike (${residentNote}); this measures the work, not the disk`,
      'ferry and node rows: a fresh Node process each run, the time taken inside it around the call (ferry: detectFormat + checkModelFile from packages/model/dist); cat: the whole process',
      '"bytes read" (/proc/self/io rchar): Ferry reads the zip directory and every pickle member and checks each storage against the size data.pkl declares for it, without reading tensor bytes; legacy files are walked storage record by record; in a plain pickle every opcode is read and each array payload is passed over with a seek. So a scan costs a fraction of a read',
      'the CLI rows are context, not goals: validate-model hashes every byte as well, so its time is the hashing time (see the hashing suite)',
    ],
    data: { plan, checkpoints, warmPageCache: { ...warm, residentBytes: resident }, timed, cli, extras: Object.fromEntries(extras) },
  };
}

export const pickleScanSuite: Suite = { name: SUITE, title: 'Pickle scan of 1 GiB checkpoints (torch.save zip and legacy, plain pickle) beside just reading them', run };
