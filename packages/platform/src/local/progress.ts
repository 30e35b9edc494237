// Progress for long work in a terminal: a redrawn bar on a TTY, a line every 10% otherwise
// (CI logs), always on stderr so --json output on stdout stays clean.
import type { Progress } from '@ferry/core';

export function formatAmount(n: number, unit: 'bytes' | 'items'): string {
  if (unit === 'items') return String(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

export interface ProgressSink {
  readonly isTTY: boolean;
  write(text: string): void;
}

const WIDTH = 28;

export function terminalProgress(sink: ProgressSink, label: string, total: number, unit: 'bytes' | 'items', now: () => number = Date.now): Progress {
  const started = now();
  let lastDraw = 0;
  let lastDecile = 0;
  let current = 0;
  const draw = (final: boolean): void => {
    const frac = total > 0 ? Math.min(1, current / total) : 1;
    const secs = Math.max((now() - started) / 1000, 1e-3);
    const rate = unit === 'bytes' ? `${formatAmount(current / secs, 'bytes')}/s` : `${(current / secs).toFixed(1)}/s`;
    const filled = Math.round(frac * WIDTH);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}`;
    sink.write(`\r${label} ${bar} ${(frac * 100).toFixed(0).padStart(3)}% ${formatAmount(current, unit)}/${formatAmount(total, unit)} ${rate}${final ? '\n' : ''}`);
  };
  return {
    update(done) {
      current = done;
      if (sink.isTTY) {
        const t = now();
        if (t - lastDraw >= 100) {
          lastDraw = t;
          draw(false);
        }
        return;
      }
      const decile = total > 0 ? Math.floor((done / total) * 10) : 10;
      if (decile > lastDecile && decile < 10) {
        lastDecile = decile;
        sink.write(`${label}: ${decile * 10}% (${formatAmount(done, unit)} of ${formatAmount(total, unit)})\n`);
      }
    },
    end() {
      if (sink.isTTY) draw(true);
      else sink.write(`${label}: done, ${formatAmount(current, unit)} in ${((now() - started) / 1000).toFixed(1)} s\n`);
    },
  };
}
