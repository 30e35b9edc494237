// A stand-in `nvidia-smi` for tests: no GPU exists on the test machines, so this writes an executable
// named nvidia-smi into a temp dir that replays output recorded on real machines (test/fixtures/gpu,
// sources in its README.md). Put `dir` first on PATH (or pass `${dir}/nvidia-smi` as the binary).
//
//   nvidia-smi                                  the recorded summary table (the "load" one)
//   nvidia-smi --query-gpu=F1,F2 --format=csv[,noheader][,nounits]
//                                               the recorded query rows, columns F1,F2 taken by name
//                                               from the recorded CSV header (aliases such as
//                                               clocks.sm and clocks_throttle_reasons.* resolve as
//                                               nvidia-smi resolves them); nounits drops the unit
//                                               suffix exactly as nvidia-smi does, noheader the header
//   ... -lms N  (or --loop-ms=N, -l S)          prints the header once, then one recorded row (idle,
//                                               load, idle, ...) every N ms until killed
//
// A field the recorded driver does not list (or one named in `rejectFields`) is refused the way
// nvidia-smi refuses it: `Field "x" is not a valid field to query.` on stdout and exit 2. The
// failure variants print a recorded failure message and exit with nvidia-smi's code for it.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FIXTURES = fileURLToPath(new URL('../fixtures/gpu/nvidia-smi/', import.meta.url));

/** Recorded captures (directories under test/fixtures/gpu/nvidia-smi). */
export const NVIDIA_SMI_CAPTURES = [
  'linux__h100-80gb-hbm3__590.48.01',
  'linux__h100-mig__590.48.01',
  'linux__h200__590.48.01',
  'linux__l40s__595.80',
  'linux__geforce-rtx-2080-super__595.71.05',
  'linux__geforce-rtx-2080-super__610.57.04',
  'windows__geforce-rtx-2080-super__610.62',
] as const;
export type NvidiaSmiCapture = (typeof NVIDIA_SMI_CAPTURES)[number];

/** Recorded failures and the exit code nvidia-smi gives each (nvidia-smi(1), RETURN VALUE). */
export const NVIDIA_SMI_FAILURES = {
  /** The kernel module is not loaded: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver…" */
  'driver-not-loaded': { file: 'issues/failure.driver-not-loaded.txt', exitCode: 9 },
  /** Userspace library and kernel module from different driver versions. */
  'version-mismatch': { file: 'issues/failure.version-mismatch.txt', exitCode: 18 },
} as const;
export type NvidiaSmiFailure = keyof typeof NVIDIA_SMI_FAILURES;

export interface NvidiaSmiReplayOptions {
  /** Which recording to replay. Default: the H100 80GB HBM3 on driver 590.48.01. */
  readonly capture?: NvidiaSmiCapture;
  /** Replay a broken driver instead: every invocation prints the recorded failure and exits non-zero. */
  readonly failure?: NvidiaSmiFailure;
  /** Query fields to refuse as a driver that does not know them would (e.g. 'clocks_throttle_reasons.active'). */
  readonly rejectFields?: readonly string[];
}

export interface NvidiaSmiReplay {
  /** Holds the `nvidia-smi` executable. */
  readonly dir: string;
  /** The executable itself. */
  readonly bin: string;
  cleanup(): Promise<void>;
}

// The replay program. It is data-driven: everything it prints comes from the recording embedded in
// its first line, so it stays a faithful replay rather than a second implementation of nvidia-smi.
const PROGRAM = String.raw`
const args = process.argv.slice(2);
if (DATA.failure) {
  process.stdout.write(DATA.failure.text);
  process.exit(DATA.failure.exitCode);
}
const query = args.find((a) => a.startsWith('--query-gpu='));
if (!query) {
  process.stdout.write(DATA.table);
  process.exit(0);
}
const canonical = (f) => {
  if (f.startsWith('clocks_throttle_reasons')) return 'clocks_event_reasons' + f.slice('clocks_throttle_reasons'.length);
  return { gpu_name: 'name', gpu_uuid: 'uuid', gpu_serial: 'serial', gpu_bus_id: 'pci.bus_id', 'clocks.gr': 'clocks.current.graphics',
    'clocks.sm': 'clocks.current.sm', 'clocks.mem': 'clocks.current.memory', 'clocks.video': 'clocks.current.video' }[f] ?? f;
};
const header = DATA.header.split(', ').map((h) => { const m = /^(.*?)(?: \[(.*)\])?$/.exec(h); return { name: m[1], unit: m[2] }; });
const fields = query.slice('--query-gpu='.length).split(',').map((f) => f.trim()).filter(Boolean);
const columns = [];
for (const f of fields) {
  const i = header.findIndex((h) => h.name === canonical(f));
  if (i < 0 || DATA.rejectFields.includes(f)) {
    process.stdout.write('Field "' + f + '" is not a valid field to query.\n\n');
    process.exit(2);
  }
  columns.push(i);
}
const format = (args.find((a) => a.startsWith('--format=')) ?? '--format=csv').slice('--format='.length).split(',');
const noheader = format.includes('noheader');
const nounits = format.includes('nounits');
const line = (cells) => columns.map((i) => {
  const v = cells[i];
  const unit = header[i].unit;
  return nounits && unit !== undefined && v.endsWith(' ' + unit) ? v.slice(0, -unit.length - 1) : v;
}).join(', ') + '\n';
const headerLine = columns.map((i) => header[i].name + (nounits || header[i].unit === undefined ? '' : ' [' + header[i].unit + ']')).join(', ') + '\n';
const value = (flag, long) => { const i = args.indexOf(flag); if (i >= 0) return Number(args[i + 1]); const l = args.find((a) => a.startsWith(long + '=')); return l ? Number(l.slice(long.length + 1)) : undefined; };
const loopMs = value('-lms', '--loop-ms') ?? ((s) => (s === undefined ? undefined : s * 1000))(value('-l', '--loop'));
if (!noheader) process.stdout.write(headerLine);
if (loopMs === undefined) {
  process.stdout.write(line(DATA.rows[DATA.rows.length - 1]));
  process.exit(0);
}
let n = 0;
const tick = () => process.stdout.write(line(DATA.rows[n++ % DATA.rows.length]));
tick();
setInterval(tick, loopMs);
process.on('SIGTERM', () => process.exit(0));
`;

async function recorded(capture: NvidiaSmiCapture): Promise<{ table: string; header: string; rows: string[][] }> {
  const dir = join(FIXTURES, capture);
  const table = await readFile(join(dir, 'table.load.txt'), 'utf8');
  const rows: string[][] = [];
  let header = '';
  for (const state of ['idle', 'load']) {
    const [h, ...data] = (await readFile(join(dir, `query-gpu.${state}.csv`), 'utf8')).split('\n').filter((l) => l !== '');
    header = h!;
    rows.push(...data.map((d) => d.split(', ')));
  }
  return { table, header, rows };
}

/**
 * Creates a temp dir holding an executable `nvidia-smi` that replays recorded real output (no GPU
 * exists on the test machine). The caller puts `dir` first on PATH and calls cleanup() afterwards.
 */
export async function makeNvidiaSmiReplay(options: NvidiaSmiReplayOptions = {}): Promise<NvidiaSmiReplay> {
  const data = {
    ...(await recorded(options.capture ?? 'linux__h100-80gb-hbm3__590.48.01')),
    rejectFields: options.rejectFields ?? [],
    failure:
      options.failure === undefined
        ? undefined
        : {
            text: await readFile(join(FIXTURES, NVIDIA_SMI_FAILURES[options.failure].file), 'utf8'),
            exitCode: NVIDIA_SMI_FAILURES[options.failure].exitCode,
          },
  };
  const dir = await mkdtemp(join(tmpdir(), 'ferry-nvidia-smi-'));
  const bin = join(dir, 'nvidia-smi');
  await writeFile(bin, `#!${process.execPath}\nconst DATA = ${JSON.stringify(data)};\n${PROGRAM}`);
  await chmod(bin, 0o755);
  return { dir, bin, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** An nvidia-smi whose driver is broken the way a runner without a loaded kernel module is (exit 9). */
export function makeBrokenNvidiaSmi(failure: NvidiaSmiFailure = 'driver-not-loaded'): Promise<NvidiaSmiReplay> {
  return makeNvidiaSmiReplay({ failure });
}
