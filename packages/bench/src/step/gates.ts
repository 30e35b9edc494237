// SLO gates: absolute limits a run must meet at every load point. A gate whose figure is missing
// (no streams for a TTFT gate, no started server for time-to-ready) fails and says why: an SLO
// that could not be checked never passes silently.
import type { GateResult } from '@ferry/core';
import type { LoadPointResult } from '../load/result.js';
import { fmtMs, pointLabel } from './format.js';
import type { SloGates } from './plan.js';

export function evaluateGates(gates: SloGates, points: readonly LoadPointResult[], timeToReadyMs: number | undefined): GateResult[] {
  const out: GateResult[] = [];
  const many = points.length > 1;
  for (const pt of points) {
    const where = many ? ` at ${pointLabel(pt.load)}` : '';
    const s = pt.summary;
    const latency = (name: string, value: number | undefined, limit: number): void => {
      out.push({
        name: `${name}${where}`,
        passed: value !== undefined && value <= limit,
        value: value === undefined ? 'no successful request' : fmtMs(value),
        threshold: `≤ ${fmtMs(limit)}`,
        detail: 'corrected latency: from the intended send time, so queueing in the server counts',
      });
    };
    if (gates.maxP95Ms !== undefined) latency('p95 latency', s.latencyMs.corrected.p95, gates.maxP95Ms);
    if (gates.maxP99Ms !== undefined) latency('p99 latency', s.latencyMs.corrected.p99, gates.maxP99Ms);
    if (gates.maxErrorRate !== undefined) {
      const settled = s.requests.ok + s.requests.failed;
      out.push({
        name: `error rate${where}`,
        passed: settled > 0 && s.errorRate <= gates.maxErrorRate,
        value: settled > 0 ? `${(s.errorRate * 100).toFixed(2)}% (${s.requests.failed} of ${settled})` : 'no request settled',
        threshold: `≤ ${(gates.maxErrorRate * 100).toFixed(2)}%`,
      });
    }
    if (gates.minThroughput !== undefined) {
      out.push({ name: `throughput${where}`, passed: s.throughput >= gates.minThroughput, value: `${s.throughput.toFixed(1)} req/s`, threshold: `≥ ${gates.minThroughput} req/s` });
    }
    if (gates.maxTtftP95Ms !== undefined) {
      const ttft = s.llm?.ttftMs.p95;
      out.push({
        name: `TTFT p95${where}`,
        passed: ttft !== undefined && ttft <= gates.maxTtftP95Ms,
        value: ttft === undefined ? 'no streamed response with content' : fmtMs(ttft),
        threshold: `≤ ${fmtMs(gates.maxTtftP95Ms)}`,
      });
    }
  }
  if (gates.maxTimeToReadyMs !== undefined) {
    out.push({
      name: 'time to ready',
      passed: timeToReadyMs !== undefined && timeToReadyMs <= gates.maxTimeToReadyMs,
      value: timeToReadyMs === undefined ? 'not measured: the step did not start the server' : fmtMs(timeToReadyMs),
      threshold: `≤ ${fmtMs(gates.maxTimeToReadyMs)}`,
    });
  }
  return out;
}
