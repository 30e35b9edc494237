// One monotonic clock for every thread and process on the machine (CLOCK_MONOTONIC, in ms), and a
// timer that fires within tens of microseconds of a deadline without spinning the event loop.
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

// performance.now() is per thread (each worker has its own origin); hrtime is the system monotonic
// clock. Anchoring one to the other once keeps reads cheap (no BigInt per call) and comparable.
// The anchor must be measured with care: the global `performance` is loaded lazily, so the first
// performance.now() in a thread takes about a millisecond, and the naive `hrtime − now()` read on a
// cold thread put each thread's clock 1–2 ms early (by a different amount in every thread), which
// showed up as ~1.5 ms of send lag. Warm both up, then keep the tightest bracketed reading.
function calibrateOffsetMs(): number {
  performance.now();
  process.hrtime.bigint();
  let best = Number.POSITIVE_INFINITY;
  let offset = 0;
  for (let i = 0; i < 25; i++) {
    const before = performance.now();
    const hr = Number(process.hrtime.bigint()) / 1e6;
    const after = performance.now();
    if (after - before < best) {
      best = after - before;
      offset = hr - (before + after) / 2;
    }
  }
  return offset;
}

const OFFSET_MS = calibrateOffsetMs();

/** Milliseconds on the system monotonic clock: the same value in every thread and every process. */
export function monotonicMs(): number {
  return performance.now() + OFFSET_MS;
}

/**
 * Node's timers have whole-millisecond resolution and fire up to a millisecond or more late (and,
 * measured from the caller's clock, sometimes early), which would put that slop straight into
 * latency measured from the intended send time. This helper thread sleeps in `Atomics.wait` with a
 * fractional timeout and wakes the owning thread's event loop with a message at the deadline.
 */
const TIMER_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const i32 = new Int32Array(workerData, 0, 2);
const f64 = new Float64Array(workerData, 8, 1);
// The system monotonic clock itself (what monotonicMs() is anchored to), so this thread needs no
// offset of its own; a BigInt per wake-up is nothing on a thread that only sleeps.
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
for (;;) {
  const seq = Atomics.load(i32, 0);
  const due = f64[0];
  if (due === -2) break;
  if (due < 0) { Atomics.wait(i32, 0, seq); continue; }
  const wait = due - nowMs();
  if (wait > 0) { Atomics.wait(i32, 0, seq, wait); continue; }
  parentPort.postMessage(seq);
  Atomics.wait(i32, 0, seq);
}
`;

export class PreciseTimer {
  private readonly worker: Worker;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private closed = false;

  /** `onFire` runs on this thread's event loop at (or just after) each armed deadline. */
  constructor(onFire: () => void) {
    const shared = new SharedArrayBuffer(16);
    this.i32 = new Int32Array(shared, 0, 2);
    this.f64 = new Float64Array(shared, 8, 1);
    this.f64[0] = -1;
    this.worker = new Worker(TIMER_THREAD, { eval: true, workerData: shared });
    this.worker.on('message', (seq: number) => {
      // A fire for a deadline that has since been re-armed is stale.
      if (!this.closed && seq === Atomics.load(this.i32, 0)) onFire();
    });
    this.worker.unref();
  }

  /** Fires once at `dueMs` (monotonicMs clock); replaces any deadline armed before. */
  armAt(dueMs: number): void {
    this.set(dueMs);
  }

  cancel(): void {
    this.set(-1);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.set(-2);
    await this.worker.terminate();
  }

  private set(value: number): void {
    if (this.closed && value !== -2) return;
    this.f64[0] = value;
    Atomics.add(this.i32, 0, 1);
    Atomics.notify(this.i32, 0);
  }
}

const CLOCK_TICKS_PER_SECOND = 100; // Linux USER_HZ, fixed at 100 on every mainstream kernel build

/**
 * CPU time (user + system) of the calling thread in ms, from /proc/thread-self/stat (10 ms
 * resolution); undefined where that file does not exist. process.cpuUsage() would give the whole
 * process, which cannot tell one saturated worker from several busy ones.
 */
export function threadCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}
