// When to stop measuring (successive windows agree) and how sure the repeats make us (Student-t
// intervals over repeat values).
import { logGamma } from '@ferry/stats';
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

/** Regularized incomplete beta I_x(a, b), by its continued fraction (modified Lentz). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  const front = Math.exp(a * Math.log(x) + b * Math.log(1 - x) - (logGamma(a) + logGamma(b) - logGamma(a + b))) / a;
  const tiny = 1e-300;
  let f = 1;
  let c = 1;
  let d = 0;
  for (let i = 0; i <= 400; i++) {
    const m = Math.floor(i / 2);
    let numerator: number;
    if (i === 0) numerator = 1;
    else if (i % 2 === 0) numerator = (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m));
    else numerator = -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 + numerator * d;
    if (Math.abs(d) < tiny) d = tiny;
    d = 1 / d;
    c = 1 + numerator / c;
    if (Math.abs(c) < tiny) c = tiny;
    const cd = c * d;
    f *= cd;
    if (Math.abs(1 - cd) < 1e-14) break;
  }
  return front * (f - 1);
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t (bisection on the CDF; p in (0, 1)). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) throw new RangeError(`studentTQuantile needs 0 < p < 1 and df > 0, got ${p}, ${df}`);
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Mean ± t(level, n−1)·s/√n over the values; undefined with fewer than 2. */
export function tInterval(values: readonly number[], level = 0.95): Interval | undefined {
  const n = values.length;
  if (n < 2) return undefined;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
  const half = studentTQuantile(1 - (1 - level) / 2, n - 1) * Math.sqrt(variance / n);
  return { mean, low: mean - half, high: mean + half, n };
}
