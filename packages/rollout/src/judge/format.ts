// Numbers in the judge's reasons and headlines.

export function fmtMs(ms: number): string {
  const a = Math.abs(ms);
  if (a >= 100) return ms.toFixed(0);
  if (a >= 10) return ms.toFixed(1);
  if (a >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

export function fmtSignedMs(ms: number): string {
  return `${ms >= 0 ? '+' : '−'}${fmtMs(Math.abs(ms))} ms`;
}

export function fmtPct(fraction: number): string {
  const p = Math.abs(fraction) * 100;
  return `${p >= 10 ? p.toFixed(0) : p.toFixed(1)}%`;
}

export function fmtSignedPct(fraction: number): string {
  return `${fraction >= 0 ? '+' : '−'}${fmtPct(fraction)}`;
}

/** A rate as a percentage, with more digits for rare events. */
export function fmtRate(fraction: number): string {
  return `${(fraction * 100).toFixed(fraction !== 0 && Math.abs(fraction) < 0.001 ? 3 : 2)}%`;
}

/** A rate difference in percentage points, signed. */
export function fmtPp(fraction: number): string {
  return `${fraction >= 0 ? '+' : '−'}${(Math.abs(fraction) * 100).toFixed(2)} pp`;
}

export function fmtP(p: number): string {
  if (p < 1e-4) return `p = ${p.toExponential(1)}`;
  return `p = ${Number(p.toPrecision(2))}`;
}

/** A nominal alpha: "α = 0.011", "α = 8.9e-5". */
export function fmtAlpha(alpha: number): string {
  if (alpha === 0) return 'α = 0';
  if (alpha < 1e-3) return `α = ${alpha.toExponential(1)}`;
  return `α = ${Number(alpha.toPrecision(2))}`;
}

export function fmtCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtNum(x: number, digits = 3): string {
  return String(Number(x.toPrecision(digits))).replace(/^-/, '−');
}

/** "[−0.41, 1.20] ms" with open ends for unbounded sides. */
export function fmtInterval(lower: number | null, upper: number | null, fmt: (x: number) => string, unit = ''): string {
  const f = (x: number): string => fmt(x).replace(/^-/, '−');
  return `[${lower === null ? '−∞' : f(lower)}, ${upper === null ? '+∞' : f(upper)}]${unit}`;
}

export function fmtConfidence(c: number): string {
  const p = c * 100;
  if (p >= 99.99) return `${Number(p.toPrecision(6))}%`;
  return `${Number(p.toPrecision(3))}%`;
}

/** A finite number, or null (JSON has no Infinity or NaN). */
export function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
