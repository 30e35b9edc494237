// The canary judge: one analysis of one window, canary against stable, to a decision with every
// number behind it. Order of work, so that alpha is never chosen after looking at a test:
// 1. read every metric's data and size its minimum sample at this look;
// 2. settle the information fraction: the look's end when no check can extend (enough data, or
//    no extension left), else the look's grid point for this extension (spending.ts);
// 3. run every check at the nominal alpha α(t) − α(t_prev) of its share alpha/m;
// 4. decide: abort > inconclusive > extend > continue over the rows (see Decision).
import { InputError } from '@ferry/core';
import type { CheckContext, PreparedCheck, RowDraft } from './common.js';
import { resolveConfig, type ResolvedMetric } from './config.js';
import { prepareErrorRate } from './error-rate.js';
import { fmtAlpha, fmtCount, fmtInterval, fmtMs, fmtNum, fmtRate, fmtSignedMs } from './format.js';
import { prepareLatency } from './latency.js';
import { prepareQuality } from './quality.js';
import { prepareSlo } from './slo.js';
import { lookFraction, nominalAlpha, obrienFlemingSpending, previousLookFraction } from './spending.js';
import {
  JUDGEMENT_SCHEMA,
  type CheckOutcome,
  type CheckRow,
  type Decision,
  type JudgeConfig,
  type JudgeLook,
  type Judgement,
  type JudgeWindow,
  type MissingPolicy,
  type Need,
  type SpendingFacts,
} from './types.js';

function prepare(m: ResolvedMetric, window: JudgeWindow, ctx: CheckContext): PreparedCheck[] {
  switch (m.kind) {
    case 'latency':
      return prepareLatency(m, window, ctx);
    case 'error-rate':
      return prepareErrorRate(m, window, ctx);
    case 'slo':
      return prepareSlo(m, window, ctx);
    case 'quality':
      return prepareQuality(m, window, ctx);
  }
}

function verdictOf(outcome: CheckOutcome, policy: MissingPolicy, canExtend: boolean): Decision {
  switch (outcome) {
    case 'fail':
      return 'abort';
    case 'need-data':
      return canExtend ? 'extend' : 'inconclusive';
    case 'missing':
      return policy === 'fail' ? 'abort' : policy === 'extend' && canExtend ? 'extend' : 'inconclusive';
    case 'pass':
    case 'info':
      return 'continue';
  }
}

const DECISION_RANK: Record<Decision, number> = { continue: 0, extend: 1, inconclusive: 2, abort: 3 };

function checkLookInput(look: JudgeLook, maxExtensions: number): { index: number; count: number; extension: number } {
  const bad = (field: string, v: unknown, what: string): never => {
    throw new InputError(`canary judge: look.${field} must be ${what}, got ${JSON.stringify(v) ?? String(v)}`, { subject: `look.${field}` });
  };
  if (!look || typeof look !== 'object') bad('', look, 'an object');
  const { index, count } = look;
  const extension = look.extension ?? 0;
  if (!Number.isInteger(count) || count < 1) bad('count', count, 'an integer ≥ 1');
  if (!Number.isInteger(index) || index < 1 || index > count) bad('index', index, `an integer in 1..${count}`);
  if (!Number.isInteger(extension) || extension < 0 || extension > maxExtensions) bad('extension', extension, `an integer in 0..${maxExtensions} (maxExtensions)`);
  if ((look.fraction === undefined) !== (look.previousFraction === undefined)) bad('fraction', look.fraction, 'given together with previousFraction');
  if (look.fraction !== undefined) {
    if (!(typeof look.fraction === 'number' && look.fraction > 0 && look.fraction <= 1)) bad('fraction', look.fraction, 'in (0, 1]');
    if (!(typeof look.previousFraction === 'number' && look.previousFraction >= 0 && look.previousFraction < look.fraction)) {
      bad('previousFraction', look.previousFraction, `in [0, fraction ${look.fraction})`);
    }
  }
  return { index, count, extension };
}

/**
 * Judges one analysis window of a canary against stable. Pure: the same inputs give the same
 * judgement. Throws InputError for malformed configuration or data (never a silent pass).
 */
export function judgeCanary(config: JudgeConfig, look: JudgeLook, window: JudgeWindow): Judgement {
  const cfg = resolveConfig(config);
  const { index, count, extension } = checkLookInput(look, cfg.maxExtensions);
  if (!window || typeof window !== 'object' || !window.stable || !window.canary) {
    throw new InputError('canary judge: the window must have stable and canary data', { subject: 'window' });
  }
  const tests = Math.max(1, cfg.tests);
  const alphaPerTest = cfg.alpha / tests;
  // The plan's final analysis spends what the grid leaves after look K − 1.
  const planningAlpha = nominalAlpha(alphaPerTest, 1, (count - 1) / count);
  const ctx: CheckContext = { power: cfg.power, planningAlpha, lookShare: index / count };

  // 1. Data and sample sizes.
  const prepared = cfg.metrics.map((m) => ({ metric: m, checks: prepare(m, window, ctx) }));
  const canExtend = extension < cfg.maxExtensions;
  const wantsMore = prepared.some(({ metric, checks }) => checks.some((c) => c.short || (c.missing && metric.missing === 'extend')));
  const lastAtLook = !(canExtend && wantsMore);

  // 2. Information fraction and nominal alpha.
  let fraction: number;
  let previousFraction: number;
  if (look.fraction !== undefined && look.previousFraction !== undefined) {
    fraction = index === count && lastAtLook ? 1 : look.fraction;
    previousFraction = look.previousFraction;
  } else {
    fraction = index === count && lastAtLook ? 1 : lookFraction(index, count, extension, cfg.maxExtensions, lastAtLook);
    previousFraction = previousLookFraction(index, count, extension, cfg.maxExtensions);
  }
  const spentBefore = obrienFlemingSpending(alphaPerTest, previousFraction);
  const spentAfter = obrienFlemingSpending(alphaPerTest, fraction);
  const nominal = Math.max(0, spentAfter - spentBefore);
  const spending: SpendingFacts = {
    method: 'lan-demets-obrien-fleming',
    alpha: cfg.alpha,
    tests: cfg.tests,
    alphaPerTest,
    fraction,
    previousFraction,
    spentBefore,
    spentAfter,
    nominal,
    planningAlpha,
  };

  // 3. Checks.
  const rows: CheckRow[] = [];
  for (const { metric, checks } of prepared) {
    for (const c of checks) {
      const draft: RowDraft = c.evaluate(nominal);
      rows.push({ ...draft, verdict: verdictOf(draft.outcome, metric.missing, canExtend) });
    }
  }

  // 4. Decision.
  let decision: Decision = 'continue';
  for (const r of rows) if (DECISION_RANK[r.verdict] > DECISION_RANK[decision]) decision = r.verdict;
  const counts: Record<CheckOutcome, number> = { pass: 0, fail: 0, 'need-data': 0, missing: 0, info: 0 };
  for (const r of rows) counts[r.outcome]++;
  let need: Need | null = null;
  for (const r of rows) {
    if (r.samples.need > 0 && r.outcome !== 'fail' && (need === null || r.samples.need > need.perVersion)) {
      need = { perVersion: r.samples.need, metric: r.metric, title: r.title };
    }
  }
  const final = index === count && lastAtLook;
  return {
    schema: JUDGEMENT_SCHEMA,
    decision,
    final,
    headline: headlineOf(decision, rows, need, { index, count, extension, maxExtensions: cfg.maxExtensions, final, nominal }),
    look: { index, count, extension, maxExtensions: cfg.maxExtensions, lastAtLook },
    spending,
    need,
    rows,
    counts,
  };
}

function more(n: number, what: string): string {
  return n > 0 ? ` (+${n} more ${what})` : '';
}

function headlineOf(
  decision: Decision,
  rows: readonly CheckRow[],
  need: Need | null,
  look: { index: number; count: number; extension: number; maxExtensions: number; final: boolean; nominal: number },
): string {
  const where = `look ${look.index}/${look.count}${look.extension > 0 ? `, extension ${look.extension}/${look.maxExtensions}` : ''}`;
  const by = (v: Decision): CheckRow[] => rows.filter((r) => r.verdict === v);
  switch (decision) {
    case 'abort': {
      const hits = by('abort');
      const first = hits[0]!;
      // A metric without data fails once, whatever the number of its checks.
      const others = new Set(hits.slice(1).filter((r) => !(r.outcome === 'missing' && r.metric === first.metric)).map((r) => (r.outcome === 'missing' ? r.metric : r.title))).size;
      return `abort at ${where}: ${first.title}: ${first.reason}${more(others, others > 1 ? 'failing checks' : 'failing check')}`;
    }
    case 'inconclusive': {
      const hits = by('inconclusive');
      const missing = hits.filter((r) => r.outcome === 'missing');
      if (missing.length > 0 && missing.length === hits.length) {
        const metrics = new Set(missing.map((r) => r.metric)).size;
        return `inconclusive at ${where}: ${missing[0]!.reason}${more(metrics - 1, metrics > 2 ? 'metrics without data' : 'metric without data')}`;
      }
      const short = hits.filter((r) => r.outcome === 'need-data');
      const largest = short.reduce<CheckRow | undefined>((a, r) => (a === undefined || r.samples.need > a.samples.need ? r : a), undefined) ?? hits[0]!;
      const outOf = look.extension >= look.maxExtensions ? `out of extensions (${look.maxExtensions})` : 'cannot extend';
      return `inconclusive at ${where}: ${outOf} with ${largest.title} below its minimum sample, ${fmtCount(largest.samples.effective ?? largest.samples.canary ?? 0)} of ${fmtCount(largest.samples.required ?? 0)} requests per version (${fmtCount(largest.samples.need)} more needed)${more(hits.length - 1, 'undecided checks')}${look.final ? '; the caller decides abort or hold' : ''}`;
    }
    case 'extend': {
      const missing = by('extend').filter((r) => r.outcome === 'missing');
      const noData = missing.length > 0 ? `no data yet for ${missing.map((r) => r.title).join(', ')}` : '';
      const row = need === null ? undefined : rows.find((r) => r.title === need.title);
      if (need !== null && row !== undefined) {
        const s = row.samples;
        return `extend ${where}: need ${fmtCount(need.perVersion)} more requests per version for ${need.title} (${fmtCount(s.effective ?? s.canary ?? 0)} of ${fmtCount(s.required ?? 0)} at this look, ${fmtCount(s.planned ?? 0)} by the final one)${noData ? `; ${noData}` : ''}; no check failed`;
      }
      return `extend ${where}: ${noData}; no check failed`;
    }
    case 'continue': {
      const decided = rows.filter((r) => r.outcome === 'pass');
      const summary = decided
        .slice(0, 3)
        .map((r) => `${r.title} ${shortFigure(r)}`)
        .join('; ');
      const all = decided.length === 1 ? 'the 1 check passes' : `all ${decided.length} checks pass`;
      return `${look.final ? 'promote' : 'continue'} after ${where}: ${all} at ${fmtAlpha(look.nominal)} per test (${summary}${decided.length > 3 ? '; …' : ''})`;
    }
  }
}

/** The row's figure in a few characters: the effect and, where there is one, its interval. */
function shortFigure(r: CheckRow): string {
  const ms = (x: number | null): string => (x === null ? '—' : fmtMs(x));
  switch (r.check) {
    case 'shift':
      return `${fmtSignedMs(r.effect ?? 0)}${r.interval ? ` ${fmtInterval(r.interval.lower, r.interval.upper, fmtMs)}` : ''}`;
    case 'tail':
      return `${ms(r.stable)} → ${ms(r.canary)} ms`;
    case 'rate':
      return `${fmtRate(r.stable ?? 0)} → ${fmtRate(r.canary ?? 0)}`;
    case 'slo':
      return r.unit === 'ms' ? `${ms(r.canary)} ms` : fmtRate(r.canary ?? 0);
    case 'agreement':
      return fmtRate(r.canary ?? 0);
    case 'psi':
    case 'score-delta':
      return fmtNum(r.canary ?? 0);
  }
}
