// How gate numbers read in reports: short but never misleading (a p-value of 3e-12 is not "0.000").

/** A measured value: up to 4 significant digits, exponent form for very small or large magnitudes. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e6) return String(Number(v.toPrecision(4)));
  return v.toExponential(2);
}

/** A p-value: two significant digits, and "< 1e-300" instead of a rounded zero. */
export function formatPValue(p: number): string {
  if (Number.isNaN(p)) return 'n/a';
  if (p === 0) return '< 1e-300';
  if (p >= 0.001) return String(Number(p.toPrecision(2)));
  return p.toExponential(1);
}

/** A count with thousands separators. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
