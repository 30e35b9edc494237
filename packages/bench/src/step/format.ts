// Number formatting shared by the benchmark report, the gates and the log.
import type { LoadPoint } from '../load/options.js';

export function fmtMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** Plain number for charts and outputs: a few significant digits, no unit. */
export function num(x: number | undefined, digits = 3): string {
  if (x === undefined || !Number.isFinite(x)) return '';
  return String(Number(x.toPrecision(Math.max(digits, Math.ceil(Math.log10(Math.abs(x) + 1))))));
}

export function pct(fraction: number, digits = 2): string {
  return `${(fraction * 100).toFixed(digits)}%`;
}

export function pointLabel(load: LoadPoint): string {
  if (load.mode === 'closed') return `concurrency ${load.concurrency}`;
  const process = load.process === 'constant' ? '' : load.process === 'gamma' ? ` gamma(${load.burstiness ?? 1})` : ` ${load.process}`;
  return `${num(load.rate)} req/s${process}`;
}

export function money(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  return x >= 1 ? x.toFixed(2) : x.toPrecision(3);
}
