// A log-linear latency histogram in the manner of HdrHistogram (Gil Tene's design: exponential
// buckets, each split into linear sub-buckets), written for Ferry. Values are whole microseconds,
// so merging shards is exact: counts, sums, min and max are integers and add in any order.

/** How a histogram is laid out; two histograms merge only when these are equal. */
export interface HistogramConfig {
  /** Decimal digits kept at every magnitude (1–5): 3 keeps every value within 0.1% (1/1024 here). */
  readonly significantDigits: number;
  /** Largest value tracked, in microseconds; larger values are clamped to it and counted as overflow. */
  readonly highestMicros: number;
}

/** 1 µs .. 1 h at 3 significant digits: about 23k counters, 0.1% relative error. */
export const DEFAULT_HISTOGRAM_CONFIG: HistogramConfig = { significantDigits: 3, highestMicros: 3_600_000_000 };

/** The percentiles every report carries. */
export const REPORT_PERCENTILES = [50, 90, 95, 99, 99.9] as const;

export interface HistogramSummary {
  readonly count: number;
  /** Milliseconds; undefined when the histogram is empty. */
  readonly min: number | undefined;
  readonly mean: number | undefined;
  readonly p50: number | undefined;
  readonly p90: number | undefined;
  readonly p95: number | undefined;
  readonly p99: number | undefined;
  readonly p999: number | undefined;
  readonly max: number | undefined;
}

/** The JSON form: layout, exact totals, and the non-zero counters packed as base64 varints. */
export interface SerializedHistogram {
  readonly v: 1;
  readonly significantDigits: number;
  readonly highestMicros: number;
  readonly count: number;
  readonly sumMicros: number;
  readonly minMicros: number;
  readonly maxMicros: number;
  readonly overflow: number;
  /** Pairs (gap since the previous non-zero counter index + 1, count), each an unsigned LEB128 varint. */
  readonly counts: string;
}

const TWO_POW_32 = 2 ** 32;

/** Number of bits needed to write v (v ≥ 1), for v up to 2^53. */
function bitLength(v: number): number {
  if (v >= TWO_POW_32) return 64 - Math.clz32(Math.floor(v / TWO_POW_32));
  return 32 - Math.clz32(v);
}

export class LatencyHistogram {
  readonly config: HistogramConfig;
  /** Sub-buckets per magnitude (a power of two); values below it are recorded exactly. */
  private readonly subBucketCount: number;
  private readonly subBucketHalfCount: number;
  private readonly subBucketBits: number;
  private readonly counts: Float64Array;
  private total = 0;
  private sum = 0;
  private minV = Number.POSITIVE_INFINITY;
  private maxV = 0;
  private overflowCount = 0;

  constructor(config: HistogramConfig = DEFAULT_HISTOGRAM_CONFIG) {
    const { significantDigits: d, highestMicros: h } = config;
    if (!Number.isInteger(d) || d < 1 || d > 5) throw new RangeError(`significantDigits must be an integer in 1..5, got ${d}`);
    if (!Number.isInteger(h) || h < 2 || h > Number.MAX_SAFE_INTEGER / 4) throw new RangeError(`highestMicros must be an integer ≥ 2, got ${h}`);
    this.config = { significantDigits: d, highestMicros: h };
    // Enough linear steps that one step is at most 10^-d of the smallest value in its magnitude.
    this.subBucketBits = Math.ceil(Math.log2(2 * 10 ** d));
    this.subBucketCount = 2 ** this.subBucketBits;
    this.subBucketHalfCount = this.subBucketCount / 2;
    this.counts = new Float64Array(this.indexOf(Math.max(h, this.subBucketCount - 1)) + 1);
  }

  /** Counter index of an integer value ≥ 0 (no range check). */
  private indexOf(v: number): number {
    if (v < this.subBucketCount) return v;
    const bucket = bitLength(v) - this.subBucketBits;
    const sub = Math.floor(v / 2 ** bucket);
    return bucket * this.subBucketHalfCount + sub;
  }

  /** The smallest value that lands in counter `index`, and the width of its range. */
  private rangeOf(index: number): { low: number; width: number } {
    if (index < this.subBucketCount) return { low: index, width: 1 };
    const bucket = Math.floor((index - this.subBucketCount) / this.subBucketHalfCount) + 1;
    const sub = ((index - this.subBucketCount) % this.subBucketHalfCount) + this.subBucketHalfCount;
    const width = 2 ** bucket;
    return { low: sub * width, width };
  }

  /** Records a duration in milliseconds (rounded to the microsecond), `times` times. */
  record(ms: number, times = 1): void {
    this.recordMicros(Math.round(ms * 1000), times);
  }

  /** Records a whole number of microseconds, `times` times. Negative values count as 0. */
  recordMicros(micros: number, times = 1): void {
    if (!(times > 0)) return;
    let v = micros > 0 ? Math.round(micros) : 0;
    if (!Number.isFinite(v) || v > this.config.highestMicros) {
      v = this.config.highestMicros;
      this.overflowCount += times;
    }
    this.counts[this.indexOf(v)]! += times;
    this.total += times;
    this.sum += v * times;
    if (v < this.minV) this.minV = v;
    if (v > this.maxV) this.maxV = v;
  }

  get count(): number {
    return this.total;
  }

  /** Values above the tracked range, clamped to it. */
  get overflow(): number {
    return this.overflowCount;
  }

  /** Exact mean of the recorded (microsecond-rounded) values, in ms. */
  mean(): number | undefined {
    return this.total === 0 ? undefined : this.sum / this.total / 1000;
  }

  min(): number | undefined {
    return this.total === 0 ? undefined : this.minV / 1000;
  }

  max(): number | undefined {
    return this.total === 0 ? undefined : this.maxV / 1000;
  }

  /**
   * The value at percentile p (0–100) in ms, nearest-rank: the value of the ⌈p/100·N⌉-th smallest
   * sample (at least the first), reported as the top of its counter's range and never above the
   * largest value recorded. So it is never below the true sample and at most one step (≤ 10^-d
   * relative) above it.
   */
  percentile(p: number): number | undefined {
    if (this.total === 0) return undefined;
    if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in 0..100, got ${p}`);
    const rank = Math.max(1, Math.ceil((p / 100) * this.total - 1e-9));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const { low, width } = this.rangeOf(i);
        return Math.min(low + width - 1, this.maxV) / 1000;
      }
    }
    return this.maxV / 1000;
  }

  summary(): HistogramSummary {
    return {
      count: this.total,
      min: this.min(),
      mean: this.mean(),
      p50: this.percentile(50),
      p90: this.percentile(90),
      p95: this.percentile(95),
      p99: this.percentile(99),
      p999: this.percentile(99.9),
      max: this.max(),
    };
  }

  /** Adds another histogram's counts into this one; the result equals recording both sets here. */
  add(other: LatencyHistogram): this {
    this.assertSameLayout(other.config);
    if (other.total === 0) return this;
    const src = other.counts;
    for (let i = 0; i < src.length; i++) if (src[i] !== 0) this.counts[i]! += src[i]!;
    this.total += other.total;
    this.sum += other.sum;
    this.overflowCount += other.overflowCount;
    if (other.minV < this.minV) this.minV = other.minV;
    if (other.maxV > this.maxV) this.maxV = other.maxV;
    return this;
  }

  copy(): LatencyHistogram {
    return new LatencyHistogram(this.config).add(this);
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.sum = 0;
    this.minV = Number.POSITIVE_INFINITY;
    this.maxV = 0;
    this.overflowCount = 0;
  }

  /** Calls `fn(lowMs, highMs, count)` for every non-empty counter, in increasing value order. */
  forEachBucket(fn: (lowMs: number, highMs: number, count: number) => void): void {
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i]!;
      if (c === 0) continue;
      const { low, width } = this.rangeOf(i);
      fn(low / 1000, (low + width - 1) / 1000, c);
    }
  }

  private assertSameLayout(c: HistogramConfig): void {
    if (c.significantDigits !== this.config.significantDigits || c.highestMicros !== this.config.highestMicros) {
      throw new RangeError(
        `histograms differ in layout (${c.significantDigits} digits up to ${c.highestMicros} µs vs ${this.config.significantDigits} up to ${this.config.highestMicros}); they cannot be merged exactly`,
      );
    }
  }

  toJSON(): SerializedHistogram {
    const bytes: number[] = [];
    let last = -1;
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i]!;
      if (c === 0) continue;
      writeVarint(bytes, i - last);
      writeVarint(bytes, c);
      last = i;
    }
    return {
      v: 1,
      significantDigits: this.config.significantDigits,
      highestMicros: this.config.highestMicros,
      count: this.total,
      sumMicros: this.sum,
      minMicros: this.total === 0 ? 0 : this.minV,
      maxMicros: this.maxV,
      overflow: this.overflowCount,
      counts: Buffer.from(bytes).toString('base64'),
    };
  }

  static fromJSON(s: SerializedHistogram): LatencyHistogram {
    if (s?.v !== 1) throw new RangeError('not a serialized Ferry histogram (v 1)');
    const h = new LatencyHistogram({ significantDigits: s.significantDigits, highestMicros: s.highestMicros });
    const bytes = Buffer.from(s.counts, 'base64');
    let pos = 0;
    let index = -1;
    let total = 0;
    while (pos < bytes.length) {
      const gap = readVarint(bytes, pos);
      const count = readVarint(bytes, gap.next);
      pos = count.next;
      index += gap.value;
      if (gap.value < 1 || index >= h.counts.length) throw new RangeError('serialized histogram has a counter outside its layout');
      h.counts[index] = count.value;
      total += count.value;
    }
    if (total !== s.count) throw new RangeError(`serialized histogram is inconsistent: counters add up to ${total}, count says ${s.count}`);
    h.total = s.count;
    h.sum = s.sumMicros;
    h.minV = s.count === 0 ? Number.POSITIVE_INFINITY : s.minMicros;
    h.maxV = s.maxMicros;
    h.overflowCount = s.overflow;
    return h;
  }

  /** Merges serialized shards (for example one per runner of a sharded benchmark) into one histogram. */
  static merge(parts: readonly (LatencyHistogram | SerializedHistogram)[], config: HistogramConfig = DEFAULT_HISTOGRAM_CONFIG): LatencyHistogram {
    const out = new LatencyHistogram(parts.length > 0 ? configOf(parts[0]!) : config);
    for (const p of parts) out.add(p instanceof LatencyHistogram ? p : LatencyHistogram.fromJSON(p));
    return out;
  }
}

function configOf(p: LatencyHistogram | SerializedHistogram): HistogramConfig {
  return p instanceof LatencyHistogram ? p.config : { significantDigits: p.significantDigits, highestMicros: p.highestMicros };
}

/** Unsigned LEB128 for integers up to 2^53 (arithmetic, not 32-bit shifts). */
function writeVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function readVarint(bytes: Uint8Array, start: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let pos = start; pos < bytes.length; pos++) {
    const b = bytes[pos]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return { value, next: pos + 1 };
    scale *= 0x80;
    if (scale > 2 ** 56) break;
  }
  throw new RangeError('serialized histogram is truncated or corrupt');
}
