// nvidia-smi as the GPU source of benchmark-on-gpu-runner: its CSV query output, its clock event
// (throttle) bitmask and summary table, a readiness check, and one long-running sampler process.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CancelledError, InfrastructureError, errorMessage } from '@ferry/core';
import { monotonicMs } from '../clock.js';
import { summarizeGpu, validateSampleInterval, type GpuSample, type GpuSampler, type GpuTelemetry, type GpuWindow } from './telemetry.js';

export type QueryValue = string | number | undefined;
export type QueryRow = Readonly<Record<string, QueryValue>>;

/** Names nvidia-smi accepts for the same property ("X" or "Y" in --help-query-gpu); the header prints the first. */
const FIELD_ALIASES: Readonly<Record<string, string>> = {
  gpu_name: 'name',
  gpu_uuid: 'uuid',
  gpu_serial: 'serial',
  gpu_bus_id: 'pci.bus_id',
  'clocks.gr': 'clocks.current.graphics',
  'clocks.sm': 'clocks.current.sm',
  'clocks.mem': 'clocks.current.memory',
  'clocks.video': 'clocks.current.video',
};

/** The name nvidia-smi prints in the header for a queried field. */
export function canonicalField(field: string): string {
  const f = field.trim();
  if (f.startsWith('clocks_throttle_reasons')) return `clocks_event_reasons${f.slice('clocks_throttle_reasons'.length)}`;
  return FIELD_ALIASES[f] ?? f;
}

/** Fields whose values are text even when they look like numbers (driver 440.64, compute capability 9.0). */
const TEXT_FIELDS = new Set(['timestamp', 'driver_version', 'name', 'serial', 'uuid', 'pci.bus_id', 'vbios_version', 'pstate', 'compute_cap']);
const NUMBER = /^-?\d+(?:\.\d+)?$/;
/** What `--format=csv` (without nounits) appends to numbers. */
const NUMBER_WITH_UNIT = /^(-?\d+(?:\.\d+)?) (?:%|[KMG]iB|W|[KMG]?Hz|us|ms|C)$/;
const HEADER_CELL = /^([A-Za-z_][\w.]*)(?: \[([^\]]*)\])?$/;

function convert(field: string, raw: string, unit: string | undefined): QueryValue {
  let v = raw.trim();
  // Everything nvidia-smi cannot report is bracketed ([N/A], [Not Supported], [Unknown Error], ...);
  // drivers before ~450 print a bare N/A in nounits mode.
  if (v === '' || v === 'N/A' || v === 'Not Supported' || (v.startsWith('[') && v.endsWith(']'))) return undefined;
  if (TEXT_FIELDS.has(canonicalField(field))) return v;
  if (unit !== undefined && v.endsWith(` ${unit}`)) v = v.slice(0, -unit.length - 1);
  if (NUMBER.test(v)) return Number(v);
  const withUnit = NUMBER_WITH_UNIT.exec(v);
  return withUnit ? Number(withUnit[1]) : v;
}

/**
 * Parses `nvidia-smi --query-gpu=<fields> --format=csv[,noheader][,nounits]` output into one row per
 * line, keyed by the requested field names. With a header the columns are matched by name (so a
 * subset of a wider recording can be read); without one they are taken in order. Unreportable values
 * become undefined, numbers become numbers, and units are dropped. A line with the wrong number of
 * values throws InfrastructureError.
 */
export function parseQueryCsv(text: string, fields: readonly string[]): QueryRow[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) return [];
  const wanted = new Set(fields.map(canonicalField));
  const firstCells = lines[0]!.split(',').map((c) => c.trim());
  const headerMatches = firstCells.map((c) => HEADER_CELL.exec(c));
  const isHeader = headerMatches.every((m) => m !== null) && headerMatches.some((m) => wanted.has(canonicalField(m![1]!)));

  let columns: { index: number; unit: string | undefined }[];
  let width: number;
  if (isHeader) {
    const byName = new Map(headerMatches.map((m, i) => [canonicalField(m![1]!), { index: i, unit: m![2] }]));
    columns = fields.map((f) => byName.get(canonicalField(f)) ?? { index: -1, unit: undefined });
    width = firstCells.length;
  } else {
    columns = fields.map((_, i) => ({ index: i, unit: undefined }));
    width = fields.length;
  }

  const rows: QueryRow[] = [];
  for (const line of isHeader ? lines.slice(1) : lines) {
    const cells = line.split(',');
    if (cells.length !== width) {
      throw new InfrastructureError(`nvidia-smi printed ${cells.length} values where ${width} were expected: ${line.trim().slice(0, 200)}`, {
        service: 'nvidia-smi',
      });
    }
    const row: Record<string, QueryValue> = {};
    fields.forEach((f, i) => {
      const col = columns[i]!;
      row[f] = col.index < 0 ? undefined : convert(f, cells[col.index]!, col.unit);
    });
    rows.push(row);
  }
  return rows;
}

/** NVML clock event reasons (nvml.h nvmlClocksEventReason*, formerly nvmlClocksThrottleReason*). */
export const THROTTLE_REASON_BITS: readonly (readonly [bit: bigint, name: string])[] = [
  [0x1n, 'gpu_idle'],
  [0x2n, 'applications_clocks_setting'],
  [0x4n, 'sw_power_cap'],
  [0x8n, 'hw_slowdown'],
  [0x10n, 'sync_boost'],
  [0x20n, 'sw_thermal_slowdown'],
  [0x40n, 'hw_thermal_slowdown'],
  [0x80n, 'hw_power_brake_slowdown'],
  [0x100n, 'display_clock_setting'],
  [0x200n, 'board_limit'],
  [0x400n, 'reliability'],
];

/** Decodes a clock event bitmask (`0x0000000000000004`, or a number); undefined when not reported. */
export function decodeThrottleReasons(mask: QueryValue | bigint): string[] | undefined {
  let bits: bigint;
  if (typeof mask === 'bigint') bits = mask;
  else if (typeof mask === 'number') {
    if (!Number.isFinite(mask) || mask < 0) return undefined;
    bits = BigInt(Math.trunc(mask));
  } else if (typeof mask === 'string' && /^(?:0x[0-9a-f]+|\d+)$/i.test(mask.trim())) bits = BigInt(mask.trim());
  else return undefined;
  const names: string[] = [];
  let rest = bits;
  for (const [bit, name] of THROTTLE_REASON_BITS) {
    if ((bits & bit) !== 0n) names.push(name);
    rest &= ~bit;
  }
  if (rest !== 0n) names.push(`unknown_0x${rest.toString(16)}`);
  return names;
}

/** CUDA version from the plain `nvidia-smi` table ("CUDA Version: 12.2"; "CUDA UMD Version: 13.3" from driver 610). */
export function parseCudaVersion(table: string): string | undefined {
  return /CUDA (?:UMD )?Version:\s*(\d+(?:\.\d+)*)/.exec(table)?.[1];
}

/** Driver version from the plain `nvidia-smi` table ("Driver Version:", "KMD Version:" from driver 610). */
export function parseDriverVersion(table: string): string | undefined {
  return /(?:Driver|KMD) Version:\s*(\d+(?:\.\d+)*)/.exec(table)?.[1];
}

export interface GpuInfo {
  readonly index: number;
  readonly name: string;
  readonly uuid?: string | undefined;
  readonly memoryTotalMiB?: number | undefined;
  readonly driverVersion?: string | undefined;
}

export interface GpuReadiness {
  readonly available: boolean;
  /** Why no GPU can be used; set whenever `available` is false. */
  readonly reason?: string | undefined;
  readonly driverVersion?: string | undefined;
  readonly cudaVersion?: string | undefined;
  readonly gpus: readonly GpuInfo[];
}

export interface NvidiaSmiRunOptions {
  /** The nvidia-smi executable; a bare name is looked up on env.PATH. Default `nvidia-smi`. */
  readonly nvidiaSmi?: string | undefined;
  readonly env?: NodeJS.ProcessEnv | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface CheckGpusOptions extends NvidiaSmiRunOptions {
  /** Per nvidia-smi call. Default 15 s (a cold driver without persistence mode can take seconds). */
  readonly timeoutMs?: number | undefined;
}

export const GPU_LIST_FIELDS = ['index', 'name', 'uuid', 'driver_version', 'memory.total'] as const;

type SmiOutcome = { ok: true; stdout: string } | { ok: false; reason: string };

function missingReason(bin: string): string {
  return bin.includes('/') || bin.includes('\\')
    ? `${bin} does not exist: no NVIDIA driver on this runner`
    : 'nvidia-smi is not on PATH: no NVIDIA driver on this runner';
}

function firstLine(...texts: string[]): string | undefined {
  for (const t of texts) {
    const line = t.split(/\r?\n/).find((l) => l.trim() !== '');
    if (line !== undefined) return line.trim();
  }
  return undefined;
}

function runNvidiaSmi(args: readonly string[], options: CheckGpusOptions): Promise<SmiOutcome> {
  const bin = options.nvidiaSmi ?? 'nvidia-smi';
  const timeoutMs = options.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    execFile(
      bin,
      args,
      { env: options.env ?? process.env, timeout: timeoutMs, signal: options.signal, maxBuffer: 8 * 1024 * 1024, windowsHide: true },
      (err, stdout, stderr) => {
        if (err === null) return resolve({ ok: true, stdout });
        const e = err as Error & { code?: string | number | null; killed?: boolean; signal?: NodeJS.Signals | null };
        if (e.name === 'AbortError' || options.signal?.aborted) return reject(new CancelledError());
        if (e.code === 'ENOENT') return resolve({ ok: false, reason: missingReason(bin) });
        if (e.killed) return resolve({ ok: false, reason: `nvidia-smi did not answer within ${timeoutMs} ms` });
        const how = typeof e.code === 'number' ? `exit ${e.code}` : e.signal ? `signal ${e.signal}` : errorMessage(e);
        const said = firstLine(stderr, stdout);
        resolve({ ok: false, reason: said === undefined ? `nvidia-smi failed (${how})` : `nvidia-smi failed (${how}): ${said}` });
      },
    );
  });
}

/**
 * Which GPUs this runner has, with driver and CUDA versions. Never throws for "no GPU" (a missing
 * binary, a broken driver, zero devices): it answers available:false with the reason, and the step
 * decides (require-gpu → exit 2). Throws CancelledError when the signal fires.
 */
export async function checkGpus(options: CheckGpusOptions = {}): Promise<GpuReadiness> {
  const list = await runNvidiaSmi([`--query-gpu=${GPU_LIST_FIELDS.join(',')}`, '--format=csv,noheader,nounits'], options);
  if (!list.ok) return { available: false, reason: list.reason, gpus: [] };
  let rows: QueryRow[];
  try {
    rows = parseQueryCsv(list.stdout, GPU_LIST_FIELDS);
  } catch (err) {
    return { available: false, reason: `nvidia-smi printed a GPU list that cannot be read: ${errorMessage(err)}`, gpus: [] };
  }
  const gpus: GpuInfo[] = rows
    .filter((r) => typeof r.index === 'number')
    .map((r) => ({
      index: r.index as number,
      name: String(r.name ?? `GPU ${r.index}`),
      uuid: typeof r.uuid === 'string' ? r.uuid : undefined,
      memoryTotalMiB: typeof r['memory.total'] === 'number' ? r['memory.total'] : undefined,
      driverVersion: typeof r.driver_version === 'string' ? r.driver_version : undefined,
    }));
  if (gpus.length === 0) return { available: false, reason: 'nvidia-smi lists no GPUs', gpus: [] };

  // The CUDA version is only printed in the summary table; without it the GPUs are still usable.
  const table = await runNvidiaSmi([], options);
  const tableText = table.ok ? table.stdout : '';
  return {
    available: true,
    driverVersion: gpus[0]!.driverVersion ?? parseDriverVersion(tableText),
    cudaVersion: parseCudaVersion(tableText),
    gpus,
  };
}

/** What the sampler asks for; the last field is swapped for the names older or newer drivers know. */
export const SAMPLER_FIELDS = [
  'timestamp',
  'index',
  'utilization.gpu',
  'utilization.memory',
  'memory.used',
  'memory.total',
  'power.draw',
  'clocks.sm',
  'temperature.gpu',
] as const;
const THROTTLE_FIELD_CANDIDATES = ['clocks_throttle_reasons.active', 'clocks_event_reasons.active', undefined] as const;

export interface NvidiaSmiSamplerOptions extends NvidiaSmiRunOptions {
  /** Milliseconds between readings, 20..200 (input gpu-sample-interval). Default 200. */
  readonly intervalMs?: number | undefined;
  /** GPU names from checkGpus(), to label the readings. */
  readonly gpus?: readonly GpuInfo[] | undefined;
}

export interface NvidiaSmiSampler extends GpuSampler {
  /** The running nvidia-smi process, while there is one. */
  readonly pid: number | undefined;
  /** The throttle field the driver accepted (undefined while unknown, or when it accepted neither name). */
  readonly throttleField: string | undefined;
}

function num(v: QueryValue): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

/**
 * Starts ONE long-running `nvidia-smi --query-gpu=… -lms <interval>` and reads its lines as they
 * stream, stamping each with monotonicMs() so readings line up with the load generator's window.
 * A driver that rejects `clocks_throttle_reasons.active` is asked for `clocks_event_reasons.active`,
 * then for no throttle field. The abort signal stops sampling; stop() still summarises what was read.
 */
export function startNvidiaSmiSampler(options: NvidiaSmiSamplerOptions = {}): NvidiaSmiSampler {
  const intervalMs = options.intervalMs ?? 200;
  validateSampleInterval(intervalMs);
  const bin = options.nvidiaSmi ?? 'nvidia-smi';
  const names = new Map((options.gpus ?? []).map((g) => [g.index, g]));
  const samples: GpuSample[] = [];
  const warnings: string[] = [];
  let attempt = 0;
  let child: ChildProcess | undefined;
  let halted = false;
  let failure: string | undefined;
  let unreadable = 0;
  let firstUnreadable: string | undefined;
  let accepted: string | undefined;
  let closed: Promise<void> = Promise.resolve();

  const launch = (): void => {
    const throttleField = THROTTLE_FIELD_CANDIDATES[attempt];
    const fields: string[] = [...SAMPLER_FIELDS, ...(throttleField === undefined ? [] : [throttleField])];
    const args = [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits', '-lms', String(intervalMs)];
    const proc = spawn(bin, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    child = proc;
    let rejectedField = false;
    let said = '';
    let stderr = '';
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 4096) stderr += d;
    });
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const tMs = monotonicMs();
      if (line.trim() === '') return;
      if (/is not a valid field to query/.test(line)) {
        rejectedField = true;
        return;
      }
      try {
        const row = parseQueryCsv(line, fields)[0]!;
        const gpu = num(row.index);
        if (gpu === undefined) throw new Error(`no GPU index in: ${line.trim().slice(0, 200)}`);
        accepted = throttleField;
        samples.push({
          tMs,
          gpu,
          name: names.get(gpu)?.name,
          uuid: names.get(gpu)?.uuid,
          utilizationPct: num(row['utilization.gpu']),
          memoryUtilizationPct: num(row['utilization.memory']),
          memoryUsedMiB: num(row['memory.used']),
          memoryTotalMiB: num(row['memory.total']),
          powerW: num(row['power.draw']),
          smClockMHz: num(row['clocks.sm']),
          temperatureC: num(row['temperature.gpu']),
          throttleReasons: throttleField === undefined ? undefined : decodeThrottleReasons(row[throttleField]),
        });
      } catch (err) {
        unreadable++;
        firstUnreadable ??= errorMessage(err);
        if (said === '') said = line.trim();
      }
    });
    closed = new Promise((resolve) => {
      proc.once('error', (err: NodeJS.ErrnoException) => {
        failure ??= err.code === 'ENOENT' ? missingReason(bin) : `cannot start nvidia-smi: ${errorMessage(err)}`;
      });
      proc.once('close', (code, signal) => {
        if (child === proc) child = undefined;
        if (!halted && rejectedField && attempt < THROTTLE_FIELD_CANDIDATES.length - 1) {
          const next = THROTTLE_FIELD_CANDIDATES[attempt + 1];
          warnings.push(`nvidia-smi does not know ${throttleField}; asking for ${next ?? 'no throttle field'} instead`);
          attempt++;
          launch();
          void closed.then(resolve);
          return;
        }
        if (!halted && failure === undefined) {
          const how = code !== null ? `exit ${code}` : `signal ${signal}`;
          const text = firstLine(stderr) ?? (said || undefined);
          failure = `nvidia-smi stopped by itself (${how}) after ${samples.length} readings${text === undefined ? '' : `: ${text}`}`;
        }
        resolve();
      });
    });
  };

  const halt = (): void => {
    halted = true;
    const proc = child;
    if (proc === undefined) return;
    proc.kill('SIGTERM');
    const force = setTimeout(() => proc.kill('SIGKILL'), 2000);
    force.unref();
    proc.once('close', () => clearTimeout(force));
  };

  if (options.signal?.aborted) halted = true;
  else {
    options.signal?.addEventListener('abort', halt, { once: true });
    launch();
  }

  return {
    source: 'nvidia-smi',
    get pid() {
      return child?.pid;
    },
    get throttleField() {
      return accepted;
    },
    samples: () => [...samples],
    async stop(window?: GpuWindow): Promise<GpuTelemetry> {
      options.signal?.removeEventListener('abort', halt);
      halt();
      await closed;
      if (samples.length === 0 && failure !== undefined) {
        throw new InfrastructureError(`GPU sampling with nvidia-smi produced no readings: ${failure}`, { service: 'nvidia-smi' });
      }
      const notes = [...warnings];
      if (failure !== undefined) notes.push(failure);
      if (unreadable > 0) notes.push(`${unreadable} nvidia-smi lines could not be read; first: ${firstUnreadable}`);
      return summarizeGpu(samples, { source: 'nvidia-smi', intervalMs, ...window, warnings: notes });
    },
  };
}
