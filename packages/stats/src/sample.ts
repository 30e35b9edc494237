// Samples as sorted Float64Arrays: the one place input numbers are checked and sorted, so every
// test below works on typed arrays in O(n log n) and rejects NaN instead of ordering it silently.

/** Numbers in any array-like form the tests accept. */
export type Sample = ArrayLike<number>;

/** Throws RangeError unless every value is a finite number. */
export function assertFinite(values: Sample, what: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) throw new RangeError(`${what}: value at index ${i} is not a finite number (${String(v)})`);
  }
}

/** A sorted copy (ascending) as a Float64Array; throws RangeError on NaN or ±Infinity. */
export function sortedCopy(values: Sample, what = 'sample'): Float64Array {
  assertFinite(values, what);
  const out = Float64Array.from(values);
  out.sort();
  return out;
}

/** Throws RangeError when a sample is empty. */
export function assertNonEmpty(values: Sample, what: string): void {
  if (values.length === 0) throw new RangeError(`${what} is empty`);
}

/** Greatest common divisor of two non-negative integers. */
export function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) {
    const t = x % y;
    x = y;
    y = t;
  }
  return x;
}
