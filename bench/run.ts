// `npm run bench`: runs the suites, prints Ferry beside its anchors as ratios, and writes
// bench/results/latest.json. A benchmark, not a test: a MISS is reported, never asserted.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { formatBytes, renderTable } from './lib/format.ts';
import { busyWarning, describeMachine, loadAverage } from './lib/machine.ts';
import { REPO_ROOT, RESULTS_DIR } from './lib/paths.ts';
import { errorRow, type Row } from './lib/report.ts';
import type { Suite, SuiteResult } from './lib/suite.ts';
import { coldStartSuite } from './suites/cold-start.ts';
import { hashingSuite } from './suites/hashing.ts';
import { imagePushSuite } from './suites/image-push.ts';
import { judgeSuite } from './suites/judge.ts';
import { loadGeneratorSuite } from './suites/load-generator.ts';
import { memoryGrowthSuite } from './suites/memory-growth.ts';
import { perfAnalyzerSuite } from './suites/perf-analyzer.ts';
import { pickleScanSuite } from './suites/pickle-scan.ts';
import { rollbackSuite } from './suites/rollback.ts';
import { rollbackK8sSuite } from './suites/rollback-k8s.ts';
import { structureSuite } from './suites/structure.ts';

const SUITES: readonly Suite[] = [hashingSuite, coldStartSuite, structureSuite, pickleScanSuite, memoryGrowthSuite, imagePushSuite, loadGeneratorSuite, perfAnalyzerSuite, judgeSuite, rollbackSuite, rollbackK8sSuite];

const USAGE = `usage: npm run bench -- [--quick] [--only <suite>[,<suite>…]]
  --quick          smaller files and fewer runs (a quick look, not figures to quote)
  --only <suite>   run only these suites: ${SUITES.map((s) => s.name).join(', ')}
Prints a table of Ferry beside its anchors and writes bench/results/latest.json.
Exit status: 0 when every measurement was taken (PASS or MISS alike), 1 when one could not be, 2 on bad options.
`;

interface Options {
  readonly quick: boolean;
  readonly only: readonly string[];
}

function parseOptions(argv: readonly string[]): Options {
  let quick = false;
  const only: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      if (!value) throw new Error('--only needs a suite name');
      only.push(...value.split(',').filter((v) => v !== ''));
    } else throw new Error(`unknown option ${arg}`);
  }
  const unknown = only.filter((n) => !SUITES.some((s) => s.name === n));
  if (unknown.length > 0) throw new Error(`no suite named ${unknown.join(', ')} (suites: ${SUITES.map((s) => s.name).join(', ')})`);
  return { quick, only };
}

const out = (text = ''): void => {
  process.stdout.write(`${text}\n`);
};

function printResult(result: SuiteResult): void {
  for (const d of result.details) {
    out();
    out(`${d.title}`);
    out(indent(renderTable(d.header, d.rows, d.rightAligned)));
  }
  if (result.notes.length > 0) {
    out();
    for (const n of result.notes) out(`  note: ${n}`);
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err: unknown) {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  const selected = SUITES.filter((s) => options.only.length === 0 || options.only.includes(s.name));
  const startedAt = new Date();
  const t0 = performance.now();
  const machine = describeMachine();
  const loadAtStart = loadAverage();

  out(`Ferry bench: ${options.quick ? 'quick run (small files, few runs: a quick look, not figures to quote)' : 'full run'}`);
  out(`  machine  ${machine.cpuModel}, ${machine.cores} cores, SHA-NI ${machine.shaNi === undefined ? 'unknown' : machine.shaNi ? 'yes' : 'no'}, ${formatBytes(machine.memoryBytes)} RAM`);
  out(`  tools    node ${machine.node} (OpenSSL ${machine.nodeOpenssl}) · ${machine.openssl ?? 'openssl missing'} · ${machine.sha256sum ?? 'sha256sum missing'}`);
  out(`  load     ${loadAtStart.join(' ')} at start · peak RSS via ${machine.rssMethod === 'gnu-time' ? '/usr/bin/time' : '/proc polling (lower bound)'}`);
  const busy = busyWarning(machine.cores);
  if (busy) out(`  warning  ${busy}`);

  const rows: Row[] = [];
  const suites: Record<string, unknown>[] = [];
  for (const suite of selected) {
    out();
    out(`== ${suite.name}: ${suite.title}`);
    const s0 = performance.now();
    const log = (line: string): void => {
      process.stderr.write(`  · ${line}\n`);
    };
    try {
      const result = await suite.run({ quick: options.quick, log });
      printResult(result);
      rows.push(...result.rows);
      suites.push({ name: suite.name, title: suite.title, seconds: (performance.now() - s0) / 1000, rows: result.rows, notes: result.notes, data: result.data });
    } catch (err: unknown) {
      const message = err instanceof Error ? err.message : String(err);
      out(`  error: ${message}`);
      const row = errorRow(suite.name, 'suite', message);
      rows.push(row);
      suites.push({ name: suite.name, title: suite.title, seconds: (performance.now() - s0) / 1000, rows: [row], error: message });
    }
  }

  const seconds = (performance.now() - t0) / 1000;
  out();
  out('== summary (ratio = Ferry ÷ anchor, from medians; the goal says which way is good)');
  out(
    indent(
      renderTable(
        ['suite', 'measurement', 'ferry', 'anchor', 'ratio', 'goal', 'status'],
        rows.map((r) => [r.suite, r.measurement, r.ferry, r.anchor, r.ratio, r.goal, r.status]),
        [false, false, true, true, true, false, false],
      ),
    ),
  );
  const errors = rows.filter((r) => r.status === 'ERROR');
  for (const r of errors) out(`  error: ${r.suite} / ${r.measurement}: ${r.error ?? 'unknown'}`);
  const count = (s: Row['status']): number => rows.filter((r) => r.status === s).length;

  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, 'latest.json');
  const report = {
    schema: 'ferry-bench/1',
    startedAt: startedAt.toISOString(),
    seconds,
    options,
    machine: { ...machine, loadAtStart, loadAtEnd: loadAverage() },
    rows,
    suites,
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  out();
  out(`${count('PASS')} PASS, ${count('MISS')} MISS, ${errors.length} ERROR in ${seconds.toFixed(0)} s; load ${loadAverage().join(' ')} at end; results in ${relative(REPO_ROOT, file)}`);
  return errors.length > 0 ? 1 : 0;
}

process.exitCode = await main();
