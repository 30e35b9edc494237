// The generator judges itself: if it fell behind its schedule (send lag), sent short of it, ran
// its threads flat out, or had to drop arrivals, its numbers say more about the generator than
// about the server, and the run is invalid (never a regression) with the reason spelled out.
import type { LoadPoint, NormalizedOptions } from './options.js';
import type { MeasurementSummary, ThreadUsage, Validity, ValidityReason } from './result.js';

const fmt = (v: number | undefined): string => (v === undefined ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(2));

export function selfCheck(a: {
  load: LoadPoint;
  summary: MeasurementSummary;
  threads: readonly ThreadUsage[];
  limits: NormalizedOptions['selfCheck'];
  connections: number;
  aborted?: boolean;
}): Validity {
  const { summary: s, limits } = a;
  const reasons: ValidityReason[] = [];
  const warnings: string[] = [];
  const lag50 = s.sendLagMs.p50;
  const lag99 = s.sendLagMs.p99;
  if (a.aborted) reasons.push({ code: 'aborted', message: 'the run was cancelled before it finished' });
  if (lag50 !== undefined && lag50 > limits.maxLagP50Ms) {
    reasons.push({ code: 'send-lag', message: `requests went out late: send lag p50 ${fmt(lag50)} ms is above ${limits.maxLagP50Ms} ms (the generator fell behind its schedule)` });
  } else if (lag99 !== undefined && lag99 > limits.maxLagP99Ms) {
    reasons.push({ code: 'send-lag', message: `requests went out late: send lag p99 ${fmt(lag99)} ms is above ${limits.maxLagP99Ms} ms (the generator fell behind its schedule)` });
  }
  // A closed loop sends a user's next request only when the last one is answered: nothing sent in
  // the whole measurement means every user was still waiting, so there is nothing to measure.
  if (!a.aborted && a.load.mode === 'closed' && a.load.concurrency > 0 && s.requests.sent === 0) {
    reasons.push({
      code: 'stalled',
      message: `no request was sent during the measurement: all ${a.load.concurrency} users were still waiting for answers to earlier requests (the server stopped answering, or one request takes longer than the measurement; see timeout and duration)`,
    });
  }
  let ratio: number | undefined;
  if (a.load.mode === 'open' && s.requests.scheduled > 0) {
    ratio = s.requests.sent / s.requests.scheduled;
    const short = 1 - ratio;
    if (short > limits.maxRateShortfall) {
      const waited = s.connectionWaits > 0 ? `; ${s.connectionWaits} requests waited for one of ${a.connections} connections` : '';
      const rateText = `sent ${fmt(s.achievedRate)} req/s of the ${fmt(s.scheduledRate)} req/s scheduled (target ${a.load.rate}), ${(short * 100).toFixed(1)}% short`;
      if (s.connectionWaits > 0 && lag99 !== undefined && lag99 <= limits.maxLagP99Ms) {
        warnings.push(`${rateText}: the server held every connection${waited}; latency from the intended send time includes that wait`);
      } else reasons.push({ code: 'rate-shortfall', message: `${rateText}${waited}` });
    }
  }
  if (s.requests.dropped > 0) {
    reasons.push({
      code: 'dropped',
      message: `${s.requests.dropped} arrivals were dropped because the client queue was full: the server did not keep up with ${a.load.mode === 'open' ? a.load.rate : '—'} req/s over ${a.connections} connections, so those requests' latency is unknown`,
    });
  }
  const cpus = a.threads.map((t) => t.cpuFraction).filter((c): c is number => c !== undefined);
  const maxCpu = cpus.length > 0 ? Math.max(...cpus) : undefined;
  const maxElu = a.threads.length > 0 ? Math.max(...a.threads.map((t) => t.eventLoopUtilization)) : undefined;
  const busiest = maxCpu ?? maxElu;
  if (busiest !== undefined && busiest > limits.maxThreadCpu) {
    reasons.push({
      code: 'generator-cpu',
      message: `a generator thread was busy ${(busiest * 100).toFixed(0)}% of the time (${maxCpu !== undefined ? 'CPU' : 'event loop'}; limit ${(limits.maxThreadCpu * 100).toFixed(0)}%): the generator, not the server, may be what limited this run`,
    });
  }
  if (s.connectionWaits > 0 && !warnings.some((w) => w.includes('waited'))) {
    warnings.push(`${s.connectionWaits} requests waited for a free connection (p99 wait ${fmt(s.connectionWaitMs.p99)} ms); corrected latency includes the wait, raw latency does not`);
  }
  if (s.llm && s.llm.streamsBunched > 0) {
    warnings.push(
      `${s.llm.streamsBunched} of ${s.llm.streams} streams arrived in one read (every chunk at once): their ITL is 0 and their TTFT is their end-to-end time. The server or a proxy buffers the stream, or the generator was too busy to read it as it came.`,
    );
  }
  if (s.requests.sent > 0 && s.requests.ok === 0) warnings.push('no request succeeded, so there is no latency to report');
  return {
    valid: reasons.length === 0,
    reasons,
    warnings,
    checks: { sendLagP50Ms: lag50, sendLagP99Ms: lag99, sentOverScheduled: ratio, maxThreadCpu: maxCpu, maxEventLoopUtilization: maxElu, dropped: s.requests.dropped },
  };
}
