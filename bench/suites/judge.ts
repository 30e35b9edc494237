// The canary judge (@ferry/rollout) on simulated canaries: how often it aborts a canary that is no
// worse than stable, how often it catches real regressions, and how many requests it needed.
// Every canary runs a plan of 3 looks (say 10%, 25%, 50% of the traffic) with 667 + 667 + 666
// requests per version (cumulative: 2000 per version by the last look); an extension bakes until the requests the judge said it needs have
// arrived (at least 100 per version; at most 2 extensions per look). Latencies are
// seeded lognormals recorded into Ferry's histograms, errors seeded Bernoulli draws. The anchor is
// the same tests without Ferry's corrections: every check at p < 0.05 at every analysis, no alpha
// spending, no effect floor (how an uncorrected repeated-look judge behaves on the same data).
// Canaries are split across worker threads (this file is also the worker).
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { LatencyHistogram, SeededRandom } from '@ferry/bench';
import { wilsonInterval } from '@ferry/stats';
import { JUDGE_DEFAULTS, judgeCanary, type JudgeConfig, type Judgement } from '@ferry/rollout';
import type { Row } from '../lib/report.ts';
import type { DetailTable, Suite, SuiteContext, SuiteResult } from '../lib/suite.ts';

const SUITE = 'judge';

const PLAN = { looks: 3, perLook: [667, 667, 666] as readonly number[], minExtension: 100, maxExtensions: 2 } as const;
const PLAN_TOTAL = PLAN.perLook.reduce((a, b) => a + b, 0);
const MEDIAN_MS = 20;
const SIGMA = 0.5;
const STABLE_ERROR_RATE = 0.001;
/** z of the 95th percentile: a lognormal's p95 is median · e^(1.645σ). */
const Z95 = 1.6448536269514722;

const CONFIG: JudgeConfig = {
  maxExtensions: PLAN.maxExtensions,
  metrics: [
    { kind: 'latency', name: 'latency' },
    { kind: 'error-rate', name: 'errors' },
  ],
};

interface Scenario {
  readonly id: string;
  readonly title: string;
  /** Canary latency: multiplier of the median and log spread. */
  readonly scale: number;
  readonly sigma: number;
  readonly errorRate: number;
  /** true: the canary is worse and should be aborted; false: it is no worse. */
  readonly regression: boolean;
  readonly goal: { readonly kind: 'max' | 'min'; readonly rate: number };
  readonly seed: number;
}

const SCENARIOS: readonly Scenario[] = [
  { id: 'same', title: 'canary = stable', scale: 1, sigma: SIGMA, errorRate: STABLE_ERROR_RATE, regression: false, goal: { kind: 'max', rate: 0.01 }, seed: 0x5a3e },
  { id: 'slow', title: '+20% p95 (every request 1.2× slower)', scale: 1.2, sigma: SIGMA, errorRate: STABLE_ERROR_RATE, regression: true, goal: { kind: 'min', rate: 0.95 }, seed: 0x51e2 },
  // Same median, p95 · 1.2: σ' = σ + ln 1.2 / z₀.₉₅.
  { id: 'tail', title: '+20% p95 (tail only, p50 unchanged)', scale: 1, sigma: SIGMA + Math.log(1.2) / Z95, errorRate: STABLE_ERROR_RATE, regression: true, goal: { kind: 'min', rate: 0.95 }, seed: 0x7a11 },
  { id: 'errors', title: '1% vs 0.1% errors', scale: 1, sigma: SIGMA, errorRate: 0.01, regression: true, goal: { kind: 'min', rate: 0.95 }, seed: 0xe770 },
];

type Outcome = 'promoted' | 'aborted' | 'inconclusive';

interface CanaryRecord {
  readonly outcome: Outcome;
  /** Requests per version when the judge decided. */
  readonly requests: number;
  readonly look: number;
  readonly analyses: number;
  readonly extensions: number;
  /** Titles of the rows that failed at the abort. */
  readonly failed: readonly string[];
  /** The uncorrected anchor aborted somewhere along the same data. */
  readonly naiveAbort: boolean;
}

interface WorkerJob {
  readonly judgeBenchWorker: true;
  readonly scenarios: readonly Scenario[];
  readonly canaries: number;
  readonly lane: number;
  readonly lanes: number;
}

function seedOf(scenario: Scenario, i: number): number {
  return (scenario.seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0;
}

/** The anchor's rule on one judgement: any check with a p-value below 0.05. */
function naiveAborts(j: Judgement): boolean {
  return j.rows.some((r) => r.test !== null && r.test.pValue < 0.05);
}

function simulate(s: Scenario, i: number): CanaryRecord {
  const rng = new SeededRandom(seedOf(s, i));
  const stableLatency = new LatencyHistogram();
  const canaryLatency = new LatencyHistogram();
  let requests = 0;
  let stableErrors = 0;
  let canaryErrors = 0;
  const add = (n: number): void => {
    for (let k = 0; k < n; k++) {
      stableLatency.record(MEDIAN_MS * Math.exp(SIGMA * rng.normal()));
      canaryLatency.record(MEDIAN_MS * s.scale * Math.exp(s.sigma * rng.normal()));
      if (rng.uniform() < STABLE_ERROR_RATE) stableErrors++;
      if (rng.uniform() < s.errorRate) canaryErrors++;
    }
    requests += n;
  };
  let analyses = 0;
  let extensions = 0;
  let naiveAbort = false;
  for (let look = 1; look <= PLAN.looks; look++) {
    add(PLAN.perLook[look - 1]!);
    for (let extension = 0; ; extension++) {
      const j = judgeCanary(CONFIG, { index: look, count: PLAN.looks, extension }, {
        stable: { latency: { latency: stableLatency }, counts: { errors: { requests, errors: stableErrors } } },
        canary: { latency: { latency: canaryLatency }, counts: { errors: { requests, errors: canaryErrors } } },
      });
      analyses++;
      naiveAbort ||= naiveAborts(j);
      if (j.decision === 'extend') {
        // Bake as long as the judge says it needs (at least a minimum extension).
        extensions++;
        add(Math.max(PLAN.minExtension, j.need?.perVersion ?? PLAN.minExtension));
        continue;
      }
      if (j.decision === 'abort') {
        return { outcome: 'aborted', requests, look, analyses, extensions, failed: j.rows.filter((r) => r.outcome === 'fail').map((r) => r.title), naiveAbort };
      }
      if (j.decision === 'inconclusive') return { outcome: 'inconclusive', requests, look, analyses, extensions, failed: [], naiveAbort };
      break;
    }
  }
  return { outcome: 'promoted', requests, look: PLAN.looks, analyses, extensions, failed: [], naiveAbort };
}

function runLane(job: WorkerJob): Record<string, CanaryRecord[]> {
  const out: Record<string, CanaryRecord[]> = {};
  for (const s of job.scenarios) {
    const records: CanaryRecord[] = [];
    for (let i = job.lane; i < job.canaries; i += job.lanes) records.push(simulate(s, i));
    out[s.id] = records;
  }
  return out;
}

if (!isMainThread && (workerData as WorkerJob | undefined)?.judgeBenchWorker) {
  parentPort!.postMessage(runLane(workerData as WorkerJob));
}

function runLanes(canaries: number, lanes: number): Promise<Record<string, CanaryRecord[]>> {
  const jobs = Array.from({ length: lanes }, (_, lane) => {
    const job: WorkerJob = { judgeBenchWorker: true, scenarios: SCENARIOS, canaries, lane, lanes };
    return new Promise<Record<string, CanaryRecord[]>>((resolve, reject) => {
      const w = new Worker(new URL(import.meta.url), { workerData: job });
      w.once('message', resolve);
      w.once('error', reject);
      w.once('exit', (code) => {
        if (code !== 0) reject(new Error(`judge bench worker ${lane} exited with ${code}`));
      });
    });
  });
  return Promise.all(jobs).then((parts) => {
    const merged: Record<string, CanaryRecord[]> = {};
    for (const s of SCENARIOS) merged[s.id] = parts.flatMap((p) => p[s.id] ?? []);
    return merged;
  });
}

// ---------------------------------------------------------------------------------------------
// Summary

function pct(x: number): string {
  const p = x * 100;
  return `${p < 10 && p !== 0 ? p.toFixed(1) : p.toFixed(0)}%`;
}

function quantileOf(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const canaries = ctx.quick ? 200 : 1000;
  const lanes = Math.max(1, Math.min(availableParallelism(), 8));
  ctx.log(`${SCENARIOS.length} scenarios × ${canaries} canaries, ${PLAN.looks} looks, ${PLAN.perLook.join(' + ')} requests per version, on ${lanes} worker thread(s)`);
  const t0 = performance.now();
  const results = await runLanes(canaries, lanes);
  const seconds = (performance.now() - t0) / 1000;
  ctx.log(`simulated in ${seconds.toFixed(1)} s`);

  const rows: Row[] = [];
  const detail: string[][] = [];
  const data: Record<string, unknown> = { plan: PLAN, canaries, lanes, seconds, medianMs: MEDIAN_MS, sigma: SIGMA, stableErrorRate: STABLE_ERROR_RATE, scenarios: {} as Record<string, unknown> };
  for (const s of SCENARIOS) {
    const records = results[s.id]!;
    const n = records.length;
    const count = (o: Outcome): number => records.filter((r) => r.outcome === o).length;
    const aborted = count('aborted');
    const naive = records.filter((r) => r.naiveAbort).length;
    const rate = aborted / n;
    const naiveRate = naive / n;
    const ci = wilsonInterval(aborted, n, 0.95);
    const pass = s.goal.kind === 'max' ? rate <= s.goal.rate : rate >= s.goal.rate;
    const what = s.regression ? 'detected (aborted)' : 'false aborts';
    rows.push({
      suite: SUITE,
      measurement: `${s.title}: ${what}`,
      ferry: `${pct(rate)} (${aborted}/${n})`,
      anchor: `uncorrected ${pct(naiveRate)}`,
      ratio: naiveRate > 0 ? `${(rate / naiveRate).toFixed(2)}×` : '—',
      goal: `${s.goal.kind === 'max' ? '≤' : '≥'} ${pct(s.goal.rate)}`,
      status: pass ? 'PASS' : 'MISS',
      values: { aborted, canaries: n, rate, lower95: ci.lower, upper95: ci.upper, naiveAborted: naive, naiveRate, goal: s.goal.rate },
    });
    const decided = records.map((r) => r.requests);
    const median = quantileOf(decided, 0.5);
    rows.push({
      suite: SUITE,
      measurement: `${s.title}: requests per version to a decision (median)`,
      ferry: `${median}`,
      anchor: '—',
      ratio: '—',
      goal: '—',
      status: 'INFO',
      values: { median, p90: quantileOf(decided, 0.9), max: Math.max(...decided) },
    });
    const byLook = Array.from({ length: PLAN.looks }, (_, k) => records.filter((r) => r.outcome === 'aborted' && r.look === k + 1).length);
    const withinPlan = records.filter((r) => r.outcome === 'aborted' && r.requests <= PLAN_TOTAL).length;
    const failedChecks = new Map<string, number>();
    for (const r of records) for (const t of r.failed) failedChecks.set(t, (failedChecks.get(t) ?? 0) + 1);
    detail.push([
      s.title,
      String(count('promoted')),
      String(aborted),
      String(count('inconclusive')),
      `${pct(ci.lower)}–${pct(ci.upper)}`,
      `${pct(withinPlan / n)}`,
      byLook.join(' / '),
      String(median),
      String(quantileOf(decided, 0.9)),
      (records.reduce((a, r) => a + r.extensions, 0) / n).toFixed(2),
      [...failedChecks].sort((a, b) => b[1] - a[1]).map(([t, c]) => `${t} ${c}`).join(', ') || '—',
    ]);
    (data.scenarios as Record<string, unknown>)[s.id] = {
      title: s.title,
      promoted: count('promoted'),
      aborted,
      inconclusive: count('inconclusive'),
      abortsByLook: byLook,
      abortedWithinPlan: withinPlan,
      requestsMedian: median,
      requestsP90: quantileOf(decided, 0.9),
      meanAnalyses: records.reduce((a, r) => a + r.analyses, 0) / n,
      meanExtensions: records.reduce((a, r) => a + r.extensions, 0) / n,
      failedChecks: Object.fromEntries(failedChecks),
      naiveAborted: naive,
    };
  }
  const details: DetailTable[] = [
    {
      title: `judge on ${canaries} simulated canaries per scenario (plan: ${PLAN.looks} looks, ${PLAN.perLook.join(' + ')} requests per version; an extension adds what the judge says it needs, ≥ ${PLAN.minExtension}, ≤ ${PLAN.maxExtensions} per look)`,
      header: ['scenario', 'promoted', 'aborted', 'inconclusive', 'abort rate 95% CI', `aborted by ${PLAN_TOTAL} req`, `aborts at look ${Array.from({ length: PLAN.looks }, (_, k) => k + 1).join('/')}`, 'requests median', 'p90', 'extensions/canary', 'failing checks'],
      rightAligned: [false, true, true, true, true, true, true, true, true, true, false],
      rows: detail,
    },
  ];
  const d = JUDGE_DEFAULTS;
  const notes = [
    `latency lognormal, median ${MEDIAN_MS} ms, σ = ${SIGMA} (p95 ≈ ${(MEDIAN_MS * Math.exp(Z95 * SIGMA)).toFixed(1)} ms), recorded in @ferry/bench histograms (3 significant digits); stable errors ${pct(STABLE_ERROR_RATE)}`,
    `judge defaults: family alpha ${d.alpha} shared by 3 checks (latency shift, p95 tail, error rate), O'Brien–Fleming spending over the looks; floors ${pct(d.latency.floorRelative)} of stable's p50/p95 and ${d.errorRate.floorAbsolute * 100} pp; minimum samples planned for a ${pct(2 * d.latency.floorRelative)} slow-down and +${2 * d.errorRate.floorAbsolute * 100} pp at ${pct(d.power)} power`,
    'anchor "uncorrected": every check at one-sided p < 0.05 at every analysis of the same data, no spending, no floor (Kayenta-style repeated looks)',
    `"requests": per version when the judge decided, extensions included; "aborted by ${PLAN_TOTAL} req": aborted without needing more than the plan's ${PLAN_TOTAL} requests`,
    `${SCENARIOS.length * canaries} canaries in ${seconds.toFixed(1)} s on ${lanes} worker thread(s)`,
  ];
  return { rows, details, notes, data };
}

export const judgeSuite: Suite = { name: SUITE, title: 'the canary judge on simulated canaries: false aborts, detection, requests needed', run };
