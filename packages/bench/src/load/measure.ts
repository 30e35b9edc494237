// When to stop measuring (successive windows agree) and how sure the repeats make us (Student-t
// intervals over repeat values).
import { studentTCdf, studentTQuantile } from '@ferry/stats';
import type { Interval, WindowSummary } from './result.js';

/**
 * Stable when, over the last `windows` windows, throughput, corrected p50 and corrected p99 each
 * vary by at most `tolerance` ((max − min) / min), as perf_analyzer judges its windows.
 */
export function isStable(series: readonly WindowSummary[], windows: number, tolerance: number): boolean {
  if (series.length < windows) return false;
  const last = series.slice(-windows);
  const metrics: ((w: WindowSummary) => number | undefined)[] = [
    (w) => w.summary.throughput,
    (w) => w.summary.latencyMs.corrected.p50,
    (w) => w.summary.latencyMs.corrected.p99,
  ];
  for (const m of metrics) {
    const values = last.map(m);
    if (values.some((v) => v === undefined || !(v > 0))) return false;
    const min = Math.min(...(values as number[]));
    const max = Math.max(...(values as number[]));
    if ((max - min) / min > tolerance) return false;
  }
  return true;
}

// Student's t comes from @ferry/stats, where it is checked against SciPy.
export { studentTCdf, studentTQuantile };

/** Mean ± t(level, n−1)·s/√n over the values; undefined with fewer than 2. */
export function tInterval(values: readonly number[], level = 0.95): Interval | undefined {
  const n = values.length;
  if (n < 2) return undefined;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
  const half = studentTQuantile(1 - (1 - level) / 2, n - 1) * Math.sqrt(variance / n);
  return { mean, low: mean - half, high: mean + half, n };
}
