// The load generator beside autocannon and wrk on the same scripted server (its own process, on
// loopback): max requests/s, latency error against a known 20 ms service, a 1 s stall against its
// ground truth (coordinated omission), rate fidelity, and SSE timing against scripted chunk times.
import { availableParallelism } from 'node:os';
import { runLoad, type LoadOptions, type LoadPointResult } from '@ferry/bench';
import { startScriptedServer, type ScriptedServer } from '../../test/support/scripted-server.ts';
import { errorRow, type Row } from '../lib/report.ts';
import { runTool } from '../lib/spawn.ts';
import type { DetailTable, Suite, SuiteContext, SuiteResult } from '../lib/suite.ts';

const SUITE = 'load-generator';
const AUTOCANNON = 'autocannon@8.0.0';

const PLANS = {
  full: { rpsSeconds: 5, rounds: 2, latencySeconds: 10, stallSeconds: 8, sseSeconds: 5 },
  quick: { rpsSeconds: 2, rounds: 1, latencySeconds: 4, stallSeconds: 8, sseSeconds: 2 },
};


interface AnchorFigures {
  rps?: number;
  p50?: number;
  p90?: number;
  p99?: number;
  min?: number;
  error?: string;
}

/** autocannon's JSON: latency in ms, requests.average per second. */
async function autocannon(url: string, args: readonly string[], seconds: number): Promise<AnchorFigures> {
  const r = await runTool('npx', ['--yes', AUTOCANNON, '-j', '-d', String(seconds), ...args, url], (seconds + 90) * 1000);
  try {
    const j = JSON.parse(r.stdout) as { requests: { average: number; total: number }; duration: number; latency: { p50: number; p90: number; p99: number; min: number } };
    return { rps: j.requests.total / j.duration, p50: j.latency.p50, p90: j.latency.p90, p99: j.latency.p99, min: j.latency.min };
  } catch {
    return { error: `autocannon did not run (${r.stderr.trim().split('\n').at(-1) ?? r.code})` };
  }
}

/** wrk 4 text output with --latency: "Requests/sec:" and the percentile table (us, ms or s). */
async function wrk(url: string, threads: number, connections: number, seconds: number): Promise<AnchorFigures> {
  const r = await runTool('wrk', [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency', url], (seconds + 30) * 1000);
  if (r.code !== 0) return { error: `wrk did not run (${r.stderr.trim() || r.code}); install it with scripts/install-system-deps.sh` };
  const ms = (v: string, unit: string): number => Number(v) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : unit === 'm' ? 60000 : 1);
  const pct = (p: string): number | undefined => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(r.stdout);
    return m ? ms(m[1]!, m[2]!) : undefined;
  };
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  const out: AnchorFigures = {};
  if (rps) out.rps = Number(rps[1]);
  const p50 = pct('50');
  const p90 = pct('90');
  const p99 = pct('99');
  if (p50 !== undefined) out.p50 = p50;
  if (p90 !== undefined) out.p90 = p90;
  if (p99 !== undefined) out.p99 = p99;
  return out;
}

const f = (v: number | undefined, digits = 2): string => (v === undefined ? '—' : v.toFixed(digits));

function nearestRank(sorted: readonly number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
}

/** Latency each request of a constant-rate schedule would see from the server's stall logic. */
function stallTruth(startMs: number, rate: number, seconds: number, serviceMs: number, stall: { start: number; end: number }): number[] {
  const within = (t: number): number | undefined => (t >= stall.start && t < stall.end ? stall.end : undefined);
  const out: number[] = [];
  for (let k = 0; k < rate * seconds; k++) {
    const t = startMs + (k * 1000) / rate;
    out.push((within(t + serviceMs) ?? within(t) ?? t + serviceMs) - t);
  }
  return out.sort((a, b) => a - b);
}

function row(measurement: string, ferry: string, anchor: string, ratio: string, goal: string, pass: boolean | undefined, values: Record<string, number | undefined>): Row {
  return { suite: SUITE, measurement, ferry, anchor, ratio, goal, status: pass === undefined ? 'INFO' : pass ? 'PASS' : 'MISS', values };
}

async function ferry(server: ScriptedServer, options: Omit<LoadOptions, 'target'>): Promise<LoadPointResult> {
  const r = await runLoad({ target: server.url, ...options });
  return r.points[0]!;
}

export const loadGeneratorSuite: Suite = {
  name: SUITE,
  title: 'load generator vs autocannon and wrk on a scripted server (max req/s, latency error, stall, rate, SSE)',
  async run(ctx: SuiteContext): Promise<SuiteResult> {
    const plan = ctx.quick ? PLANS.quick : PLANS.full;
    const cores = availableParallelism();
    const rows: Row[] = [];
    const details: DetailTable[] = [];
    const notes: string[] = [];
    const data: Record<string, unknown> = { plan, cores };
    const server = await startScriptedServer();
    try {
      // ---- 1. max requests/s on the trivial route, closed loop, same connection count for all.
      const connections = 64;
      const ferryRps: number[] = [];
      const acRps: number[] = [];
      const wrkRps: number[] = [];
      let ferryValidity = '';
      for (let round = 1; round <= plan.rounds; round++) {
        const pt = await ferry(server, { protocol: { kind: 'http', path: '/' }, load: { mode: 'closed', concurrency: connections }, warmupMs: 1000, windowMs: plan.rpsSeconds * 1000, maxWindows: 1, stability: false });
        ferryRps.push(pt.summary.throughput);
        ferryValidity = pt.validity.valid ? 'valid' : `invalid: ${pt.validity.reasons.map((r) => r.code).join(', ')}`;
        const ac = await autocannon(`${server.url}/`, ['-c', String(connections)], plan.rpsSeconds);
        if (ac.rps !== undefined) acRps.push(ac.rps);
        else data['autocannonError'] = ac.error;
        const w = await wrk(`${server.url}/`, cores, connections, plan.rpsSeconds);
        if (w.rps !== undefined) wrkRps.push(w.rps);
        else data['wrkError'] = w.error;
        ctx.log(`max rps round ${round}: ferry ${f(ferryRps.at(-1), 0)}, autocannon ${f(ac.rps, 0)}, wrk ${f(w.rps, 0)}`);
      }
      const med = (xs: number[]): number | undefined => (xs.length === 0 ? undefined : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]);
      const fr = med(ferryRps)!;
      for (const [name, xs, goal] of [
        ['autocannon', acRps, 1.0],
        ['wrk', wrkRps, 0.7],
      ] as const) {
        const a = med(xs);
        if (a === undefined) rows.push(errorRow(SUITE, `max req/s vs ${name}`, String(data[`${name}Error`] ?? `${name} gave no figure`)));
        else rows.push(row(`max req/s, c=${connections}, GET / (vs ${name})`, `${f(fr, 0)} req/s`, `${name} ${f(a, 0)} req/s`, `${(fr / a).toFixed(2)}×`, `≥ ${goal.toFixed(2)}×`, fr / a >= goal, { ferry: fr, anchor: a, ratio: fr / a }));
      }
      details.push({
        title: `max req/s (closed loop, ${connections} connections, ${plan.rpsSeconds} s, ${plan.rounds} round(s), medians)`,
        header: ['contender', 'req/s (each round)', 'median'],
        rightAligned: [false, false, true],
        rows: [
          [`ferry (${cores} worker threads; ${ferryValidity})`, ferryRps.map((x) => f(x, 0)).join(', '), f(fr, 0)],
          [`${AUTOCANNON} -c ${connections} (1 thread)`, acRps.map((x) => f(x, 0)).join(', '), f(med(acRps), 0)],
          [`wrk -t${cores} -c${connections}`, wrkRps.map((x) => f(x, 0)).join(', '), f(med(wrkRps), 0)],
        ],
      });
      data['maxRps'] = { ferry: ferryRps, autocannon: acRps, wrk: wrkRps };

      // ---- 2. latency error against a fixed 20 ms service at 500 req/s; rate fidelity from the same run.
      const fixed = await ferry(server, { protocol: { kind: 'http', path: '/fixed?ms=20' }, load: { mode: 'open', rate: 500 }, warmupMs: 1000, windowMs: 2000, maxWindows: plan.latencySeconds / 2, stability: false });
      const c = fixed.summary.latencyMs.corrected;
      const raw = fixed.summary.latencyMs.raw;
      const acFixed = await autocannon(`${server.url}/fixed?ms=20`, ['-c', '10', '-R', '500'], plan.latencySeconds);
      const wrkFixed = await wrk(`${server.url}/fixed?ms=20`, 2, 10, plan.latencySeconds);
      rows.push(row('20 ms service at 500 req/s: p50', `${f(c.p50)} ms`, `wrk -c10 ${f(wrkFixed.p50)} ms, autocannon -R500 ${f(acFixed.p50)} ms`, '—', 'in [20, 21.5] ms', c.p50! >= 20 && c.p50! <= 21.5, { p50: c.p50 }));
      rows.push(row('20 ms service at 500 req/s: p99', `${f(c.p99)} ms`, `wrk -c10 ${f(wrkFixed.p99)} ms, autocannon -R500 ${f(acFixed.p99)} ms`, '—', '≤ 23 ms', c.p99! <= 23, { p99: c.p99 }));
      rows.push(row('20 ms service at 500 req/s: min', `${f(c.min)} ms`, `autocannon -R500 min ${f(acFixed.min)} ms`, '—', '≥ 20 ms', c.min! >= 20, { min: c.min }));
      const sentRatio = fixed.summary.requests.sent / (500 * plan.latencySeconds);
      rows.push(row('rate fidelity at 500 req/s (sent ÷ target)', `${f(fixed.summary.achievedRate, 1)} req/s`, 'target 500 req/s', `${sentRatio.toFixed(4)}×`, 'within 1%', Math.abs(1 - sentRatio) <= 0.01, { achieved: fixed.summary.achievedRate, throughput: fixed.summary.throughput }));
      details.push({
        title: 'fixed 20 ms service, 500 req/s (ferry open loop constant; wrk closed loop c=10 ≈ 500 req/s; autocannon -R 500 -c 10)',
        header: ['contender', 'min', 'p50', 'p90', 'p99', 'max', 'note'],
        rightAligned: [false, true, true, true, true, true, false],
        rows: [
          ['ferry corrected', f(c.min), f(c.p50), f(c.p90), f(c.p99), f(c.max), fixed.validity.valid ? 'valid' : `invalid: ${fixed.validity.reasons.map((r) => r.message).join('; ')}`],
          ['ferry raw', f(raw.min), f(raw.p50), f(raw.p90), f(raw.p99), f(raw.max), `send lag p50 ${f(fixed.summary.sendLagMs.p50, 3)} ms, p99 ${f(fixed.summary.sendLagMs.p99, 3)} ms`],
          ['wrk 4.1.0', '—', f(wrkFixed.p50), f(wrkFixed.p90), f(wrkFixed.p99), '—', wrkFixed.error ?? `${f(wrkFixed.rps, 0)} req/s`],
          [`${AUTOCANNON}`, f(acFixed.min), f(acFixed.p50), f(acFixed.p90), f(acFixed.p99), '—', acFixed.error ?? `${f(acFixed.rps, 0)} req/s`],
        ],
      });
      data['fixed20'] = { ferry: fixed.summary, autocannon: acFixed, wrk: wrkFixed };

      // ---- 3. a 1 s stall: 5 ms service, 1000 req/s, 8 s measured, stall 3.5 s into the measurement.
      const rate = 1000;
      const service = 5;
      const stallAtMs = 3500;
      const stallRun = runLoad({ target: server.url, protocol: { kind: 'http', path: `/stalling?ms=${service}` }, load: { mode: 'open', rate, connections: 100 }, warmupMs: 1000, windowMs: 1000, maxWindows: plan.stallSeconds, stability: false });
      // START_LEAD (100 ms) + warm-up (1000 ms) come before window 0.
      const stall = await server.stall(1100 + stallAtMs, 1000);
      const stallPt = (await stallRun).points[0]!;
      const m0 = stallPt.repeats[0]!.measureStartMonotonicMs;
      const truth = stallTruth(m0, rate, plan.stallSeconds, service, stall);
      const tc = stallPt.summary.latencyMs.corrected;
      const tr = stallPt.summary.latencyMs.raw;
      const truthP = { p50: nearestRank(truth, 50), p90: nearestRank(truth, 90), p99: nearestRank(truth, 99) };
      const acT0 = Date.now();
      const acStallP = autocannon(`${server.url}/stalling?ms=${service}`, ['-c', '100', '-R', String(rate)], plan.stallSeconds);
      await server.stall(stallAtMs, 1000);
      const acStall = await acStallP;
      data['autocannonStallWallMs'] = Date.now() - acT0;
      const acUncorrP = autocannon(`${server.url}/stalling?ms=${service}`, ['-c', '100', '-R', String(rate), '-C'], plan.stallSeconds);
      await server.stall(stallAtMs, 1000);
      const acUncorr = await acUncorrP;
      const wrkStallP = wrk(`${server.url}/stalling?ms=${service}`, 2, 10, plan.stallSeconds);
      await server.stall(stallAtMs, 1000);
      const wrkStall = await wrkStallP;
      const err = Math.abs(tc.p99! / truthP.p99 - 1);
      rows.push(
        row(
          '1 s stall (5 ms, 1000 req/s): corrected p99 vs truth',
          `${f(tc.p99, 0)} ms`,
          `truth ${f(truthP.p99, 0)} ms; autocannon ${f(acStall.p99, 0)}, wrk ${f(wrkStall.p99, 0)} ms`,
          `${(tc.p99! / truthP.p99).toFixed(3)}×`,
          'within 10%',
          err <= 0.1,
          { ferryP99: tc.p99, truthP99: truthP.p99, autocannonP99: acStall.p99, wrkP99: wrkStall.p99 },
        ),
      );
      details.push({
        title: `1 s stall: ${service} ms service, ${rate} req/s intended, ${plan.stallSeconds} s, stall ${stallAtMs / 1000} s in (truth from the schedule and the server's stall)`,
        header: ['contender', 'p50', 'p90', 'p99', 'max'],
        rightAligned: [false, true, true, true, true],
        rows: [
          ['ground truth', f(truthP.p50), f(truthP.p90), f(truthP.p99), f(truth.at(-1))],
          ['ferry corrected (100 connections)', f(tc.p50), f(tc.p90), f(tc.p99), f(tc.max)],
          ['ferry raw (from actual send)', f(tr.p50), f(tr.p90), f(tr.p99), f(tr.max)],
          [`${AUTOCANNON} -R ${rate} -c 100 (corrected)`, f(acStall.p50), f(acStall.p90), f(acStall.p99), acStall.error ?? '—'],
          [`${AUTOCANNON} -R ${rate} -c 100 -C (uncorrected)`, f(acUncorr.p50), f(acUncorr.p90), f(acUncorr.p99), acUncorr.error ?? '—'],
          ['wrk -c10 (closed loop, uncorrected)', f(wrkStall.p50), f(wrkStall.p90), f(wrkStall.p99), wrkStall.error ?? '—'],
        ],
      });
      data['stall'] = { truth: truthP, ferry: { corrected: tc, raw: tr, validity: stallPt.validity }, autocannon: acStall, autocannonUncorrected: acUncorr, wrk: wrkStall };

      // ---- 4. SSE: TTFT 50 ms, then a chunk every 20 ms, one token each.
      const sse = await ferry(server, {
        protocol: { kind: 'openai-completions', model: 'scripted', path: '/v1/completions?ttft=50&itl=20&tokens=20' },
        load: { mode: 'closed', concurrency: 8 },
        warmupMs: 500,
        windowMs: plan.sseSeconds * 1000,
        maxWindows: 1,
        stability: false,
      });
      const llm = sse.summary.llm!;
      rows.push(row('SSE TTFT p50 vs scripted 50 ms', `${f(llm.ttftMs.p50, 3)} ms`, 'scripted 50 ms', `+${f(llm.ttftMs.p50! - 50, 3)} ms`, 'within 1 ms', Math.abs(llm.ttftMs.p50! - 50) <= 1, { ttftP50: llm.ttftMs.p50 }));
      rows.push(row('SSE chunk ITL p50 vs scripted 20 ms', `${f(llm.itlChunkMs.p50, 3)} ms`, 'scripted 20 ms', `${llm.itlChunkMs.p50! >= 20 ? '+' : ''}${f(llm.itlChunkMs.p50! - 20, 3)} ms`, 'within 1 ms', Math.abs(llm.itlChunkMs.p50! - 20) <= 1, { itlP50: llm.itlChunkMs.p50 }));
      data['sse'] = llm;
      notes.push(
        'The scripted server (test/support/scripted-server.ts) runs in its own process and times its responses with a helper thread in Atomics.wait, so its 20 ms is 20 ms (never less), not Node timer slop.',
        `Machine: ${cores} cores shared by the server, the generator and the anchors; ferry uses ${cores} worker threads, wrk ${cores} threads, autocannon its default single thread (as users run it).`,
        'Ground truth for the stall is computed from the constant-rate schedule and the stall window the server reports (same monotonic clock): each request intended at t completes at the stall end if t or t + 5 ms falls in the stall, else at t + 5 ms.',
        'perf_analyzer and AIPerf: see the perf-analyzer suite (same server, same load, p50/p99 agreement).',
      );
    } finally {
      await server.close();
    }
    return { rows, details, notes, data };
  },
};
