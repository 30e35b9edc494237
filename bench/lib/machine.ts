// What the numbers were measured on: CPU (and whether it has SHA extensions), load, tool versions.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { rssMethod, type RssMethod } from './rss.ts';

export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  /** From /proc/cpuinfo: the SHA-NI extension that OpenSSL (and Node's crypto) use and coreutils does not. */
  readonly shaNi: boolean | undefined;
  readonly memoryBytes: number;
  readonly kernel: string;
  readonly node: string;
  readonly nodeOpenssl: string;
  readonly openssl: string | undefined;
  readonly sha256sum: string | undefined;
  readonly rssMethod: RssMethod;
}

function firstLine(command: string, args: readonly string[]): string | undefined {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return r.status === 0 && typeof r.stdout === 'string' ? r.stdout.split('\n')[0]?.trim() : undefined;
}

function hasShaNi(): boolean | undefined {
  try {
    return /^flags\s*:.*\bsha_ni\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return undefined;
  }
}

export function describeMachine(): Machine {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    shaNi: hasShaNi(),
    memoryBytes: totalmem(),
    kernel: release(),
    node: process.version,
    nodeOpenssl: process.versions.openssl ?? 'unknown',
    openssl: firstLine('openssl', ['version'])?.split(' ').slice(0, 2).join(' '),
    sha256sum: firstLine('sha256sum', ['--version']),
    rssMethod: rssMethod(),
  };
}

export function loadAverage(): readonly number[] {
  return loadavg().map((v) => Math.round(v * 100) / 100);
}

/** A warning when other work shares the CPUs: ratios stay comparable (same run, interleaved) but get noisier. */
export function busyWarning(cores: number): string | undefined {
  const [one] = loadavg();
  return one !== undefined && one > cores * 0.5
    ? `load average ${one.toFixed(2)} on ${cores} cores: other work shares the CPUs, so absolute times are inflated and ratios noisier (the min columns in the details are the least disturbed)`
    : undefined;
}
