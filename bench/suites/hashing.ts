// Hashing throughput: Ferry's streaming SHA-256 (in-process and through the CLI) beside coreutils
// sha256sum and OpenSSL on the same bytes from a warm page cache, then a sharded model on all cores.
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { sha256File, sha256Files } from '@ferry/model';
import { cachedRandomFile, cachedShardDir, GiB, KiB, MiB, residentBytes, warmPageCache } from '../lib/data-files.ts';
import { formatBytes, formatMs, formatThroughput, sizeTag } from '../lib/format.ts';
import { CLI_BIN, doorEnv } from '../lib/paths.ts';
import { memoryGrowthRow, throughputRow, type Row } from '../lib/report.ts';
import { spawnTimed, stderrTail } from '../lib/spawn.ts';
import type { DetailTable, Suite, SuiteContext, SuiteResult } from '../lib/suite.ts';
import { measureInterleaved, timeCall, type Contender, type ContenderResult, type Sample } from '../lib/timing.ts';

const SUITE = 'hashing';

const PLANS = {
  full: { singleBytes: 1 * GiB, shardBytes: 256 * MiB, shards: 4, runs: 3 },
  // Shards stay at 64 MiB so that they still go to worker threads, as big shards do.
  quick: { singleBytes: 256 * MiB, shardBytes: 64 * MiB, shards: 4, runs: 2 },
};

/** Ferry must keep pace with the anchor's throughput to within 10%. */
const MIN_RATIO = 0.9;
/** Streaming hashing reuses one buffer per file: peak RSS must not grow with the model. */
const MAX_RSS_GROWTH_SINGLE = 64 * MiB;
/** Plus each worker thread's own heap and buffer. */
const MAX_RSS_GROWTH_PER_WORKER = 32 * MiB;

/** Every tool must report the same digest for the same file; the first one seen is the reference. */
function digestChecker(): (who: string, file: string, hex: string | undefined) => void {
  const seen = new Map<string, { hex: string; who: string }>();
  return (who, file, hex) => {
    if (hex === undefined || !/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${who} printed no SHA-256 for ${basename(file)}`);
    const ref = seen.get(file);
    if (!ref) seen.set(file, { hex, who });
    else if (ref.hex !== hex) throw new Error(`${who} digest of ${basename(file)} is ${hex.slice(0, 12)}…, ${ref.who} said ${ref.hex.slice(0, 12)}…`);
  };
}

/** `<hex>  <path>` lines (coreutils) or `SHA2-256(<path>)= <hex>` lines (OpenSSL 3). */
function parseDigestLines(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const coreutils = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    const openssl = /^[\w-]+\((.+)\)= ([0-9a-f]{64})$/.exec(line);
    if (coreutils) out.set(coreutils[2]!, coreutils[1]!);
    else if (openssl) out.set(openssl[1]!, openssl[2]!);
  }
  return out;
}

type Check = ReturnType<typeof digestChecker>;

function toolRun(who: string, command: string, args: readonly string[], files: readonly string[], check: Check): () => Promise<Sample> {
  return async () => {
    const p = await spawnTimed(command, [...args, ...files], { measureRss: true });
    if (p.exitCode !== 0) throw new Error(`${command} ${stderrTail(p)}`);
    const got = parseDigestLines(p.stdout);
    for (const f of files) check(who, f, got.get(f));
    return { ms: p.ms, peakRssBytes: p.peakRssBytes };
  };
}

/** The CLI as users run it. Random bytes are no known model format, so it exits 1 (verdict fail) after hashing everything. */
function cliRun(who: string, modelPath: string, files: readonly string[], isDir: boolean, check: Check): () => Promise<Sample> {
  return async () => {
    const p = await spawnTimed(process.execPath, [CLI_BIN, 'validate-model', '--model-path', modelPath, '--json'], { env: doorEnv(), measureRss: true });
    if (p.exitCode !== 0 && p.exitCode !== 1) throw new Error(`ferry CLI ${stderrTail(p)}`);
    let digests: Record<string, string>;
    try {
      const result = JSON.parse(p.stdout) as { outputs?: Record<string, string> };
      digests = JSON.parse(result.outputs?.['file-digests'] ?? '{}') as Record<string, string>;
    } catch {
      throw new Error(`ferry CLI printed no JSON result (${stderrTail(p)})`);
    }
    for (const f of files) check(who, f, digests[isDir ? basename(f) : basename(modelPath)]?.replace(/^sha256:/, ''));
    return { ms: p.ms, peakRssBytes: p.peakRssBytes };
  };
}

/** One OpenSSL process per file, `lanes` at a time: what a shell script would get from all cores. */
function opensslParallel(files: readonly string[], lanes: number, check: Check): () => Promise<Sample> {
  const who = `openssl ×${lanes} parallel`;
  const perFile = files.map((f) => toolRun(who, 'openssl', ['dgst', '-sha256'], [f], check));
  return async () => {
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        for (let one = perFile[next++]; one !== undefined; one = perFile[next++]) await one();
      }),
    );
    return { ms: performance.now() - t0 };
  };
}

/** `bytes` undefined: a baseline run whose throughput means nothing. */
function detailTable(title: string, entries: readonly { result: ContenderResult; bytes?: number }[]): DetailTable {
  return {
    title,
    header: ['contender', 'median', 'min', 'runs', 'throughput (median)', 'peak RSS'],
    rightAligned: [false, true, true, true, true, true],
    rows: entries.map(({ result: r, bytes }) =>
      r.time
        ? [
            r.label,
            formatMs(r.time.medianMs),
            formatMs(r.time.minMs),
            String(r.time.runs),
            bytes === undefined ? '—' : formatThroughput(bytes, r.time.medianMs),
            r.peakRssBytes ? formatBytes(r.peakRssBytes) : '—',
          ]
        : [r.label, `error: ${r.error ?? 'no runs'}`, '', '', '', ''],
    ),
  };
}

function progress(ctx: SuiteContext, runs: number): (c: Contender, round: number, s: Sample) => void {
  return (c, round, s) => ctx.log(`${c.label.padEnd(34)} run ${round}/${runs}  ${formatMs(s.ms)}`);
}

async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const plan = ctx.quick ? PLANS.quick : PLANS.full;
  const singleName = formatBytes(plan.singleBytes);
  const shardName = `${plan.shards}×${formatBytes(plan.shardBytes)}`;
  const single = cachedRandomFile(`random-${sizeTag(plan.singleBytes)}.bin`, plan.singleBytes, ctx.log);
  const shards = cachedShardDir(`shards-${plan.shards}x${sizeTag(plan.shardBytes)}`, plan.shards, plan.shardBytes, ctx.log);
  const tiny = cachedRandomFile('random-1KiB.bin', 1 * KiB, ctx.log);
  const all = [single, ...shards.files, tiny];
  const warm = warmPageCache(all);
  const resident = residentBytes(all);
  ctx.log(`page cache warmed: read ${formatBytes(warm.bytes)} once in ${formatMs(warm.ms)}`);
  const lanes = Math.max(1, Math.min(availableParallelism(), plan.shards));
  const check = digestChecker();

  // OpenSSL first in each list: its digest is the reference the others are checked against.
  ctx.log(`one ${singleName} file, ${plan.runs} runs each, interleaved`);
  const oneFile = await measureInterleaved(
    [
      { id: 'openssl', label: 'openssl', run: toolRun('openssl', 'openssl', ['dgst', '-sha256'], [single], check) },
      { id: 'sha256sum', label: 'sha256sum', run: toolRun('sha256sum', 'sha256sum', [], [single], check) },
      {
        id: 'ferry-sha256File',
        label: 'ferry sha256File (in-process)',
        run: async () => {
          let hex = '';
          const s = await timeCall(async () => (hex = await sha256File(single)));
          check('ferry sha256File', single, hex);
          return s;
        },
      },
      { id: 'ferry-cli', label: 'ferry CLI validate-model', run: cliRun('ferry CLI', single, [single], false, check) },
    ],
    { runs: plan.runs, onSample: progress(ctx, plan.runs) },
  );

  ctx.log(`${shardName} shards, ${plan.runs} runs each, interleaved`);
  const multi = await measureInterleaved(
    [
      { id: 'openssl-seq', label: 'openssl sequential', run: toolRun('openssl', 'openssl', ['dgst', '-sha256'], shards.files, check) },
      { id: 'openssl-par', label: `openssl ×${lanes} parallel`, run: opensslParallel(shards.files, lanes, check) },
      { id: 'sha256sum-seq', label: 'sha256sum sequential', run: toolRun('sha256sum', 'sha256sum', [], shards.files, check) },
      {
        id: 'ferry-sha256Files',
        label: `ferry sha256Files (${lanes} workers)`,
        run: async () => {
          let hexes: string[] = [];
          const s = await timeCall(async () => (hexes = await sha256Files(shards.files.map((path) => ({ path, size: plan.shardBytes })))));
          shards.files.forEach((f, i) => check('ferry sha256Files', f, hexes[i]));
          return s;
        },
      },
      { id: 'ferry-cli-dir', label: 'ferry CLI validate-model (dir)', run: cliRun('ferry CLI', shards.dir, shards.files, true, check) },
    ],
    { runs: plan.runs, onSample: progress(ctx, plan.runs) },
  );

  ctx.log('peak RSS baseline: ferry CLI on a 1 KiB file');
  const [tinyCli] = await measureInterleaved([{ id: 'ferry-cli-1k', label: 'ferry CLI on 1 KiB (RSS baseline)', run: cliRun('ferry CLI', tiny, [tiny], false, check) }], {
    runs: 3,
  });

  const r = (list: readonly ContenderResult[], id: string): ContenderResult => list.find((c) => c.id === id)!;
  const singleBytes = plan.singleBytes;
  const multiBytes = plan.shards * plan.shardBytes;
  const rows: Row[] = [
    throughputRow({ suite: SUITE, measurement: `${singleName}: sha256File in-process`, bytes: singleBytes, ferry: r(oneFile, 'ferry-sha256File'), anchor: r(oneFile, 'sha256sum'), minRatio: MIN_RATIO }),
    throughputRow({ suite: SUITE, measurement: `${singleName}: sha256File in-process`, bytes: singleBytes, ferry: r(oneFile, 'ferry-sha256File'), anchor: r(oneFile, 'openssl'), minRatio: MIN_RATIO }),
    throughputRow({ suite: SUITE, measurement: `${singleName}: CLI validate-model`, bytes: singleBytes, ferry: r(oneFile, 'ferry-cli'), anchor: r(oneFile, 'sha256sum'), minRatio: MIN_RATIO }),
    throughputRow({ suite: SUITE, measurement: `${singleName}: CLI validate-model`, bytes: singleBytes, ferry: r(oneFile, 'ferry-cli'), anchor: r(oneFile, 'openssl'), minRatio: MIN_RATIO }),
    throughputRow({ suite: SUITE, measurement: `${shardName}: sha256Files`, bytes: multiBytes, ferry: r(multi, 'ferry-sha256Files'), anchor: r(multi, 'sha256sum-seq'), minRatio: MIN_RATIO }),
    // Sequential OpenSSL uses one core; Ferry on `lanes` cores should be close to `lanes` times faster.
    throughputRow({ suite: SUITE, measurement: `${shardName}: sha256Files`, bytes: multiBytes, ferry: r(multi, 'ferry-sha256Files'), anchor: r(multi, 'openssl-seq'), minRatio: MIN_RATIO * lanes }),
    throughputRow({ suite: SUITE, measurement: `${shardName}: sha256Files`, bytes: multiBytes, ferry: r(multi, 'ferry-sha256Files'), anchor: r(multi, 'openssl-par'), minRatio: MIN_RATIO }),
    throughputRow({ suite: SUITE, measurement: `${shardName}: CLI validate-model (dir)`, bytes: multiBytes, ferry: r(multi, 'ferry-cli-dir'), anchor: r(multi, 'openssl-par'), minRatio: MIN_RATIO }),
    memoryGrowthRow({ suite: SUITE, measurement: `peak RSS: CLI on ${singleName}`, ferry: r(oneFile, 'ferry-cli'), baseline: tinyCli!, baselineLabel: 'CLI on 1 KiB', maxGrowthBytes: MAX_RSS_GROWTH_SINGLE }),
    memoryGrowthRow({
      suite: SUITE,
      measurement: `peak RSS: CLI on ${shardName}`,
      ferry: r(multi, 'ferry-cli-dir'),
      baseline: tinyCli!,
      baselineLabel: 'CLI on 1 KiB',
      maxGrowthBytes: MAX_RSS_GROWTH_SINGLE + lanes * MAX_RSS_GROWTH_PER_WORKER,
    }),
  ];
  const residentNote =
    resident === undefined ? 'fincore unavailable, residency not checked' : `fincore: ${((100 * resident) / warm.bytes).toFixed(0)}% of them resident before timing`;
  return {
    rows,
    details: [
      detailTable(
        `one ${singleName} file`,
        oneFile.map((result) => ({ result, bytes: singleBytes })),
      ),
      detailTable(`${shardName} shards (${formatBytes(multiBytes)} in all)`, [
        ...multi.map((result) => ({ result, bytes: multiBytes })),
        { result: tinyCli! },
      ]),
    ],
    notes: [
      `page cache: every input file was read once before timing, so all tools hash from a warm cache alike (${residentNote})`,
      'times include process start-up for the CLI and the tools (as a user pays it); in-process rows time the call alone',
      `the CLI exits 1 on these files (random bytes are no known model format: verdict fail) after hashing every byte; every tool's digests are checked against openssl's`,
      `openssl ×${lanes} parallel is one openssl process per shard, ${lanes} at a time: the all-cores ceiling a shell script would reach`,
    ],
    data: {
      plan,
      lanes,
      files: { single, shards: shards.files, tiny },
      warmPageCache: { ...warm, residentBytes: resident },
      singleFile: oneFile,
      multiFile: multi,
      cliTinyBaseline: tinyCli,
    },
  };
}

export const hashingSuite: Suite = { name: SUITE, title: 'SHA-256 of model files: Ferry vs sha256sum and OpenSSL', run };
