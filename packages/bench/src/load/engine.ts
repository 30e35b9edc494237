// One thread's load engine: it sends its share of the schedule (open loop) or runs its share of
// the users (closed loop), times every request from its intended send time and from its actual
// send time, and hands each measurement window over once every request in it has settled.
import { performance } from 'node:perf_hooks';
import { monotonicMs, PreciseTimer, threadCpuMs } from '../clock.js';
import { classifyStatus, type RequestErrorClass } from '../errors.js';
import { ConnectionPool, type Exchange, type HttpConnection } from '../http/connection-pool.js';
import type { ResponseHead } from '../http/response-parser.js';
import { createProtocol, type ProtocolAdapter, type StreamObserver } from '../protocols/index.js';
import { arrivalSequence, shareOf, type ArrivalSequence } from '../schedule/arrivals.js';
import { recordStream } from './llm-metrics.js';
import type { EngineConfig, RunPlan, ThreadRunSummary } from './messages.js';
import { WindowStats, type WindowRecord } from './window.js';

/** Arrivals waiting for a connection, per thread, before new ones are dropped (and the run marked invalid). */
const MAX_QUEUED = 200_000;
/** How often windows are checked for closing when no request settles. */
const WINDOW_CHECK_MS = 20;

interface Queued {
  readonly intended: number;
  readonly dispatchedAt: number;
  readonly slot: number;
  readonly payload: number;
  readonly user: number;
}

interface RunState {
  readonly plan: RunPlan;
  /** Absolute (monotonic ms) end of the warm-up, where window 0 starts. */
  readonly measureStart: number;
  /** No request intended at or after this is sent. */
  endAbs: number;
  lastWindow: number;
  readonly windows: Map<number, WindowStats>;
  nextToEmit: number;
  arrivals: ArrivalSequence | undefined;
  nextIntended: number;
  arrivalCount: number;
  dispatchDone: boolean;
  /** Closed loop: users still sending. */
  activeUsers: number;
  outstanding: number;
  readonly queue: Queued[];
  queueHead: number;
  readonly cpuAtStart: number | undefined;
  readonly eluAtStart: ReturnType<typeof performance.eventLoopUtilization>;
  readonly wallAtStart: number;
  resolve: (s: ThreadRunSummary) => void;
  readonly checker: NodeJS.Timeout;
  dropped: number;
}

export class LoadEngine {
  readonly protocol: ProtocolAdapter;
  private readonly requests: Buffer[];
  private readonly pool: ConnectionPool;
  private readonly timer: PreciseTimer;
  private run: RunState | undefined;

  constructor(
    private readonly config: EngineConfig,
    private readonly emit: (record: WindowRecord & { run: number }) => void,
  ) {
    this.protocol = createProtocol(config.protocol);
    this.requests = config.payloads.map((p, i) => serializeRequest(this.protocol, p, i, config.target));
    if (this.requests.length === 0) throw new RangeError('no payloads to send');
    this.pool = new ConnectionPool(config.target.host, config.target.port, Math.max(1, config.maxConnections), config.timeoutMs, config.target.secure);
    this.pool.onAvailable = (c) => {
      const q = this.dequeue();
      if (q === undefined) return false;
      this.sendOn(c, q);
      return true;
    };
    this.pool.onSlotFreed = () => {
      while (this.queued() > 0) {
        const c = this.pool.acquire();
        if (c === undefined) return;
        this.sendOn(c, this.dequeue()!);
      }
    };
    this.timer = new PreciseTimer(() => this.onTick());
  }

  /** Runs one measurement; resolves when every request of it has settled. */
  start(plan: RunPlan): Promise<ThreadRunSummary> {
    if (this.run !== undefined) throw new Error('a run is already in progress on this thread');
    if (plan.load.mode === 'closed') this.pool.maxConnections = Math.max(1, plan.load.users);
    else this.pool.maxConnections = Math.max(1, this.config.maxConnections);
    return new Promise((resolve) => {
      const measureStart = plan.startAt + plan.warmupMs;
      const state: RunState = {
        plan,
        measureStart,
        endAbs: measureStart + plan.maxWindows * plan.windowMs,
        lastWindow: plan.maxWindows - 1,
        windows: new Map(),
        nextToEmit: plan.warmupMs > 0 ? -1 : 0,
        arrivals: undefined,
        nextIntended: Number.POSITIVE_INFINITY,
        arrivalCount: 0,
        dispatchDone: false,
        activeUsers: 0,
        outstanding: 0,
        queue: [],
        queueHead: 0,
        cpuAtStart: threadCpuMs(),
        eluAtStart: performance.eventLoopUtilization(),
        wallAtStart: monotonicMs(),
        resolve,
        checker: setInterval(() => this.checkWindows(), WINDOW_CHECK_MS),
        dropped: 0,
      };
      this.run = state;
      if (plan.load.mode === 'open') {
        const { index, count } = this.config.share;
        state.arrivals = shareOf(arrivalSequence(plan.load.arrival), index, count);
        state.nextIntended = plan.startAt + state.arrivals.next();
      } else {
        state.nextIntended = plan.startAt;
      }
      this.timer.armAt(state.nextIntended);
    });
  }

  /** Ends the run after window `lastWindow` (no request intended later is sent). */
  stop(run: number, lastWindow: number): void {
    const s = this.run;
    if (s === undefined || s.plan.run !== run || lastWindow >= s.lastWindow) return;
    s.lastWindow = lastWindow;
    s.endAbs = Math.min(s.endAbs, s.measureStart + (lastWindow + 1) * s.plan.windowMs);
    if (s.plan.load.mode === 'open' && s.nextIntended >= s.endAbs) {
      s.dispatchDone = true;
      this.timer.cancel();
    }
    this.checkWindows();
  }

  async close(): Promise<void> {
    if (this.run) clearInterval(this.run.checker);
    this.pool.close();
    await this.timer.close();
  }

  private slotOf(s: RunState, intended: number): number {
    return intended < s.measureStart ? -1 : Math.floor((intended - s.measureStart) / s.plan.windowMs);
  }

  private windowOf(s: RunState, slot: number): WindowStats {
    let w = s.windows.get(slot);
    if (w === undefined) {
      w = new WindowStats(slot, this.config.histogram, this.protocol.streaming);
      s.windows.set(slot, w);
    }
    return w;
  }

  private onTick(): void {
    const s = this.run;
    if (s === undefined) return;
    if (s.plan.load.mode === 'closed') {
      if (s.activeUsers === 0 && !s.dispatchDone) this.startUsers(s);
      return;
    }
    let now = monotonicMs();
    while (s.nextIntended <= now) {
      if (s.nextIntended >= s.endAbs) break;
      const globalIndex = this.config.share.index + s.arrivalCount * this.config.share.count;
      this.dispatch(s, s.nextIntended, now, globalIndex % this.requests.length, -1);
      now = monotonicMs();
      s.arrivalCount++;
      s.nextIntended = s.plan.startAt + s.arrivals!.next();
    }
    if (s.nextIntended >= s.endAbs) {
      s.dispatchDone = true;
      this.checkWindows();
    } else this.timer.armAt(s.nextIntended);
  }

  /** An arrival (or a closed-loop user's next request) reaches the generator at `now`. */
  private dispatch(s: RunState, intended: number, now: number, payload: number, user: number, counted = false): void {
    const slot = this.slotOf(s, intended);
    const w = this.windowOf(s, slot);
    if (!counted) {
      w.intended++;
      w.outstanding++;
      s.outstanding++;
    }
    w.sendLag.record(now - intended);
    const c = this.pool.acquire();
    const q: Queued = { intended, dispatchedAt: now, slot, payload, user };
    if (c !== undefined) {
      this.sendOn(c, q, false);
      return;
    }
    if (this.queued() >= MAX_QUEUED) {
      w.dropped++;
      s.dropped++;
      this.settled(s, w);
      return;
    }
    s.queue.push(q);
  }

  private queued(): number {
    const s = this.run;
    return s === undefined ? 0 : s.queue.length - s.queueHead;
  }

  private dequeue(): Queued | undefined {
    const s = this.run;
    if (s === undefined || s.queueHead >= s.queue.length) return undefined;
    const q = s.queue[s.queueHead++]!;
    if (s.queueHead > 4096 && s.queueHead * 2 > s.queue.length) {
      s.queue.splice(0, s.queueHead);
      s.queueHead = 0;
    }
    return q;
  }

  private sendOn(c: HttpConnection, q: Queued, waited = true): void {
    const s = this.run!;
    const w = this.windowOf(s, q.slot);
    const sentAt = monotonicMs();
    w.connectionWait.record(sentAt - q.dispatchedAt);
    if (waited) w.connectionWaits++;
    w.sent++;
    this.pool.send(c, new RequestExchange(this, s, q, sentAt, this.requests[q.payload]!));
  }

  /** A request finished, successfully or not. */
  complete(s: RunState, q: Queued, sentAt: number, endAt: number, outcome: { head?: ResponseHead; body?: Buffer; stream?: StreamObserver; error?: { cls: RequestErrorClass; message: string } }): void {
    const w = this.windowOf(s, q.slot);
    let error = outcome.error;
    const head = outcome.head;
    let streamOutcome: ReturnType<StreamObserver['finish']> | undefined;
    if (error === undefined && head !== undefined) {
      w.statuses[head.status] = (w.statuses[head.status] ?? 0) + 1;
      const success = this.protocol.successStatuses ? this.protocol.successStatuses.includes(head.status) : classifyStatus(head.status) === undefined;
      if (!success) {
        error = { cls: classifyStatus(head.status) ?? 'protocol', message: `HTTP ${head.status}` };
      } else if (outcome.stream !== undefined) {
        streamOutcome = outcome.stream.finish(endAt);
        if (streamOutcome.error !== undefined) error = { cls: 'protocol', message: streamOutcome.error };
      } else if (this.protocol.check !== undefined) {
        const why = this.protocol.check(head, outcome.body ?? Buffer.alloc(0));
        if (why !== undefined) error = { cls: 'protocol', message: why };
      }
    }
    if (error !== undefined) {
      w.errors[error.cls]++;
      w.noteError(`${error.cls}: ${error.message}`);
    } else {
      w.ok++;
      w.corrected.record(endAt - q.intended);
      w.raw.record(endAt - sentAt);
      if (streamOutcome !== undefined && w.llm !== undefined) recordStream(w.llm, streamOutcome, { intended: q.intended, sentAt, endAt }, this.config.slo);
    }
    this.settled(s, w);
    if (q.user >= 0) this.userNext(s, q.user, endAt);
  }

  private settled(s: RunState, w: WindowStats): void {
    w.outstanding--;
    s.outstanding--;
    if (w.outstanding === 0 || s.outstanding === 0) this.checkWindows();
  }

  // ----- closed loop -----

  private startUsers(s: RunState): void {
    if (s.plan.load.mode !== 'closed') return;
    const users = s.plan.load.users;
    s.activeUsers = users;
    if (users === 0) {
      s.dispatchDone = true;
      this.checkWindows();
      return;
    }
    const now = monotonicMs();
    for (let u = 0; u < users; u++) this.userSend(s, u, s.plan.startAt, now);
  }

  private userSend(s: RunState, user: number, intended: number, now: number, counted = false): void {
    const globalIndex = this.config.share.index + s.arrivalCount * this.config.share.count;
    s.arrivalCount++;
    this.dispatch(s, intended, now, globalIndex % this.requests.length, user, counted);
  }

  private userNext(s: RunState, user: number, completedAt: number): void {
    if (s.plan.load.mode !== 'closed') return;
    const think = s.plan.load.thinkTimeMs;
    const intended = completedAt + think;
    if (intended >= s.endAbs) {
      s.activeUsers--;
      if (s.activeUsers === 0) {
        s.dispatchDone = true;
        this.checkWindows();
      }
      return;
    }
    if (think <= 0) {
      this.userSend(s, user, intended, monotonicMs());
      return;
    }
    // Count the request in its window now, so the window cannot close while the user thinks.
    const w = this.windowOf(s, this.slotOf(s, intended));
    w.intended++;
    w.outstanding++;
    s.outstanding++;
    setTimeout(() => {
      if (intended < s.endAbs) {
        this.userSend(s, user, intended, monotonicMs(), true);
        return;
      }
      // Stopped while this user was thinking: the request is not sent.
      w.intended--;
      s.activeUsers--;
      if (s.activeUsers === 0) s.dispatchDone = true;
      this.settled(s, w);
    }, Math.max(0, intended - monotonicMs()));
  }

  // ----- windows -----

  /**
   * Arrivals that have waited in the client queue longer than the request timeout fail as
   * timeouts without being sent, as a user would give up; so a server far slower than the offered
   * rate cannot make a run drain for ever.
   */
  private expireQueue(s: RunState, now: number): void {
    while (s.queueHead < s.queue.length && now - s.queue[s.queueHead]!.intended > this.config.timeoutMs) {
      const q = this.dequeue()!;
      const w = this.windowOf(s, q.slot);
      w.errors.timeout++;
      w.noteError('timeout: waited in the client queue for a free connection longer than the request timeout');
      w.outstanding--;
      s.outstanding--;
    }
  }

  /** Emits, in order, every window that is over and has no request left in flight. */
  private checkWindows(): void {
    const s = this.run;
    if (s === undefined) return;
    const now = monotonicMs();
    this.expireQueue(s, now);
    const { windowMs } = s.plan;
    for (;;) {
      const k = s.nextToEmit;
      if (k > s.lastWindow) break;
      const end = k < 0 ? s.measureStart : s.measureStart + (k + 1) * windowMs;
      const arrivalsPast = s.dispatchDone || (s.plan.load.mode === 'open' ? s.nextIntended >= end : now >= end);
      const w = s.windows.get(k);
      if (!(now >= end || s.dispatchDone) || !arrivalsPast || (w !== undefined && w.outstanding > 0)) break;
      this.emit({ ...(w ?? new WindowStats(k, this.config.histogram, this.protocol.streaming)).toRecord(), run: s.plan.run });
      s.windows.delete(k);
      s.nextToEmit++;
    }
    if (s.dispatchDone && s.outstanding === 0 && this.queued() === 0) this.finish(s);
  }

  private finish(s: RunState): void {
    clearInterval(s.checker);
    this.run = undefined;
    // Windows past a stop are discarded: their arrivals were cut short.
    const cpuEnd = threadCpuMs();
    const elu = performance.eventLoopUtilization(s.eluAtStart);
    s.resolve({
      run: s.plan.run,
      thread: this.config.share.index,
      wallMs: monotonicMs() - s.wallAtStart,
      cpuMs: cpuEnd !== undefined && s.cpuAtStart !== undefined ? cpuEnd - s.cpuAtStart : undefined,
      eventLoopUtilization: elu.utilization,
      connectionsOpened: this.pool.stats.opened,
      peakConnections: this.pool.stats.peak,
      retried: this.pool.stats.retried,
      dropped: s.dropped,
      lastWindow: s.lastWindow,
    });
  }
}

/** One request on the wire: collects what the protocol needs, then reports to the engine once. */
class RequestExchange implements Exchange {
  private head: ResponseHead | undefined;
  private chunks: Buffer[] | undefined;
  private stream: StreamObserver | undefined;
  private done = false;

  constructor(
    private readonly engine: LoadEngine,
    private readonly state: RunState,
    private readonly q: Queued,
    private readonly sentAt: number,
    readonly bytes: Buffer,
  ) {}

  onHead(head: ResponseHead): void {
    this.head = head;
    const adapter = this.engine.protocol;
    if (head.status >= 200 && head.status < 300) {
      if (adapter.openStream) this.stream = adapter.openStream();
      else if (adapter.readsBody) this.chunks = [];
    }
  }

  onBody(chunk: Buffer, atMs: number): void {
    this.engineWindowBytes(chunk.length);
    if (this.stream) this.stream.onData(chunk, atMs);
    else if (this.chunks) this.chunks.push(chunk);
  }

  onComplete(atMs: number): void {
    if (this.done) return;
    this.done = true;
    this.engine.complete(this.state, this.q, this.sentAt, atMs, {
      ...(this.head ? { head: this.head } : {}),
      ...(this.chunks ? { body: Buffer.concat(this.chunks) } : {}),
      ...(this.stream ? { stream: this.stream } : {}),
    });
  }

  onError(cls: RequestErrorClass, message: string, atMs: number): void {
    if (this.done) return;
    this.done = true;
    this.engine.complete(this.state, this.q, this.sentAt, atMs, { error: { cls, message } });
  }

  private engineWindowBytes(n: number): void {
    const w = this.state.windows.get(this.q.slot);
    if (w) w.bytesIn += n;
  }
}

/** The request's bytes as they go on the wire: request line, Host, the protocol's headers, Content-Length, body. */
export function serializeRequest(protocol: ProtocolAdapter, payload: unknown, index: number, target: EngineConfig['target']): Buffer {
  const spec = protocol.build(payload, index);
  const body = spec.body === undefined ? undefined : Buffer.isBuffer(spec.body) ? spec.body : Buffer.from(spec.body, 'utf8');
  let head = `${spec.method} ${target.basePath}${spec.path} HTTP/1.1\r\nHost: ${target.hostHeader}\r\n`;
  for (const [k, v] of Object.entries(spec.headers ?? {})) {
    if (/[\r\n]/.test(k + v)) throw new TypeError(`header ${k} contains a line break`);
    if (/^(host|content-length|transfer-encoding|connection)$/i.test(k)) continue;
    head += `${k}: ${v}\r\n`;
  }
  if (body !== undefined || spec.method === 'POST' || spec.method === 'PUT') head += `Content-Length: ${body?.length ?? 0}\r\n`;
  head += '\r\n';
  return body === undefined ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), body]);
}
