// What the coordinator and the engine threads tell each other: plain data only (structured clone).
import type { HistogramConfig } from '../histogram/histogram.js';
import type { ProtocolSpec } from '../protocols/types.js';
import type { ArrivalSpec } from '../schedule/arrivals.js';
import type { WindowRecord } from './window.js';

/** Service-level objectives a streamed request must all meet to count toward goodput. */
export interface LlmSlo {
  readonly ttftMs?: number;
  readonly tpotMs?: number;
  readonly e2eMs?: number;
}

export interface EngineConfig {
  readonly target: { readonly host: string; readonly port: number; readonly secure: boolean; readonly hostHeader: string; readonly basePath: string };
  readonly protocol: ProtocolSpec;
  readonly payloads: readonly unknown[];
  readonly timeoutMs: number;
  readonly histogram: HistogramConfig;
  readonly slo: LlmSlo | undefined;
  /** This thread's place among all senders of the schedule (threads × shards). */
  readonly share: { readonly index: number; readonly count: number };
  /** Open loop: most connections this thread opens. */
  readonly maxConnections: number;
}

export type ThreadLoad =
  | { readonly mode: 'open'; readonly arrival: ArrivalSpec }
  | { readonly mode: 'closed'; readonly users: number; readonly thinkTimeMs: number };

export interface RunPlan {
  readonly run: number;
  /** Monotonic ms at which schedule time 0 falls (the same instant for every thread). */
  readonly startAt: number;
  readonly warmupMs: number;
  readonly windowMs: number;
  /** The run stops after this many windows unless stopped earlier. */
  readonly maxWindows: number;
  readonly load: ThreadLoad;
}

export interface ThreadRunSummary {
  readonly run: number;
  readonly thread: number;
  readonly wallMs: number;
  /** This thread's CPU time over the run (undefined where the OS does not tell per thread). */
  readonly cpuMs: number | undefined;
  readonly eventLoopUtilization: number;
  readonly connectionsOpened: number;
  readonly peakConnections: number;
  readonly retried: number;
  readonly dropped: number;
  readonly lastWindow: number;
}

export type ToEngine = { readonly type: 'run'; readonly plan: RunPlan } | { readonly type: 'stop'; readonly run: number; readonly lastWindow: number } | { readonly type: 'close' };

export type FromEngine =
  | { readonly type: 'ready' }
  | { readonly type: 'window'; readonly record: WindowRecord & { run: number } }
  | { readonly type: 'done'; readonly summary: ThreadRunSummary }
  | { readonly type: 'failed'; readonly message: string };
