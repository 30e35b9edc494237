// Number formatting for the tables: durations, sizes, throughput and ratios in one consistent style.
import { GiB, KiB, MiB } from './data-files.ts';

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '—';
  const abs = Math.abs(bytes);
  // Number(toFixed) drops trailing zeros: "1 GiB", "64 MiB", "1.6 MiB".
  if (abs >= GiB) return `${Number((bytes / GiB).toFixed(2))} GiB`;
  if (abs >= MiB) return `${Number((bytes / MiB).toFixed(abs >= 100 * MiB ? 0 : 1))} MiB`;
  if (abs >= KiB) return `${Number((bytes / KiB).toFixed(0))} KiB`;
  return `${bytes} B`;
}

/** A size for a file name: "1GiB", "256MiB". */
export function sizeTag(bytes: number): string {
  return formatBytes(bytes).replace(' ', '');
}

/** Bytes per second from a size and a duration. */
export function formatThroughput(bytes: number, ms: number): string {
  const perS = bytes / (ms / 1000);
  if (!Number.isFinite(perS)) return '—';
  return perS >= GiB ? `${(perS / GiB).toFixed(2)} GiB/s` : `${(perS / MiB).toFixed(0)} MiB/s`;
}

export function formatRatio(r: number): string {
  if (!Number.isFinite(r)) return '—';
  return r >= 10 ? `${r.toFixed(1)}×` : `${r.toFixed(2)}×`;
}

export function formatSigned(value: number, format: (v: number) => string): string {
  return value < 0 ? `−${format(-value)}` : `+${format(value)}`;
}

/** Pads cells into aligned columns; numeric-looking columns are right-aligned. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: readonly boolean[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (rightAligned[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
