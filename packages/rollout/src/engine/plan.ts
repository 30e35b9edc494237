// Turns the step inputs into a plan and a judge configuration. Each strategy is a plan of steps:
// canary walks its weights; blue-green verifies at 0% and switches at once; A/B holds one sticky
// split for its duration; shadow mirrors only. Bad combinations are refused here, by input name.
import { InputError } from '@ferry/core';
import { COUNTS_KEY, LATENCY_KEY, PAIRED_KEY } from '../analysis/types.js';
import type { JudgeConfig, MetricConfig } from '../judge/types.js';
import type { Routing, Strategy } from '../target/types.js';
import type { Plan, PlanStep } from './record.js';

export interface PlanInputs {
  readonly strategy: Strategy;
  readonly steps: readonly string[];
  readonly bakeMs: number;
  readonly keepWarmMs: number;
  readonly abHeader: string;
  readonly abCookie: string;
  readonly abWeight: number;
  readonly mirrorPercent: number;
  readonly analysis: 'synthetic' | 'prometheus';
}

/** Canary weights: whole percents in (0, 100], rising; `manual` gates the weight after it. */
export function parseCanarySteps(entries: readonly string[], bakeMs: number): PlanStep[] {
  const steps: PlanStep[] = [];
  let gate = false;
  for (const raw of entries.flatMap((e) => e.split(',')).map((e) => e.trim().replace(/%$/, '')).filter((e) => e !== '')) {
    if (raw.toLowerCase() === 'manual') {
      gate = true;
      continue;
    }
    const weight = Number(raw);
    if (!Number.isInteger(weight) || weight < 1 || weight > 100) {
      throw new InputError(`steps: "${raw}" is not a whole percent from 1 to 100 (or "manual")`, { subject: 'steps' });
    }
    const last = steps[steps.length - 1];
    if (last && weight <= last.weight) throw new InputError(`steps must rise: ${weight}% comes after ${last.weight}%`, { subject: 'steps' });
    steps.push({ weight, bakeMs, manualGate: gate, analyse: true });
    gate = false;
  }
  if (gate) throw new InputError('steps: "manual" must come before a weight', { subject: 'steps' });
  if (steps.length === 0) throw new InputError('steps is empty: give at least one weight such as 5,25,50,100', { subject: 'steps' });
  return steps;
}

export function buildPlan(i: PlanInputs): Plan {
  if (i.bakeMs <= 0) throw new InputError('bake must be longer than zero: the judge needs a window to look at', { subject: 'bake' });
  const weighted: Routing = { kind: 'weighted' };
  switch (i.strategy) {
    case 'canary':
      return { strategy: 'canary', steps: parseCanarySteps(i.steps, i.bakeMs), routing: weighted, keepWarmMs: 0 };
    case 'blue-green':
      if (i.analysis !== 'synthetic') {
        throw new InputError('blue-green verifies the new version at 0% of traffic and then serves it alone, so only paired synthetic load can compare the two; set analysis: synthetic', { subject: 'analysis' });
      }
      return {
        strategy: 'blue-green',
        steps: [
          { weight: 0, bakeMs: i.bakeMs, manualGate: false, analyse: true },
          { weight: 100, bakeMs: i.bakeMs, manualGate: false, analyse: true },
        ],
        routing: weighted,
        keepWarmMs: i.keepWarmMs,
      };
    case 'ab': {
      if (!i.abHeader && !i.abCookie) throw new InputError('an A/B rollout needs ab-header or ab-cookie: the request value that keeps a user on one version', { subject: 'ab-header' });
      const routing: Routing = i.abHeader ? { kind: 'sticky', header: i.abHeader.toLowerCase() } : { kind: 'sticky', cookie: i.abCookie };
      return { strategy: 'ab', steps: [{ weight: i.abWeight, bakeMs: i.bakeMs, manualGate: false, analyse: true }], routing, keepWarmMs: 0 };
    }
    case 'shadow':
      return { strategy: 'shadow', steps: [{ weight: 0, bakeMs: i.bakeMs, manualGate: false, analyse: true }], routing: { kind: 'mirror', percent: i.mirrorPercent }, keepWarmMs: 0 };
  }
}

export interface JudgeInputs {
  readonly alpha: number;
  readonly maxExtensions: number;
  readonly latencyFloor: number;
  readonly errorFloor: number;
  readonly sloP95Ms: number;
  readonly sloErrorRate: number;
  readonly minAgreement: number;
  /** Whether the source gives paired outputs (synthetic load): then model quality is judged too. */
  readonly paired: boolean;
}

export function buildJudgeConfig(i: JudgeInputs): JudgeConfig {
  const metrics: MetricConfig[] = [
    { name: 'latency', kind: 'latency', source: LATENCY_KEY, floor: { relative: i.latencyFloor } },
    { name: 'errors', kind: 'error-rate', source: COUNTS_KEY, floor: { absolute: i.errorFloor } },
  ];
  if (i.paired) metrics.push({ name: 'agreement', kind: 'quality', source: PAIRED_KEY, minAgreement: i.minAgreement });
  if (i.sloP95Ms > 0) metrics.push({ name: 'slo-p95', kind: 'slo', source: LATENCY_KEY, objective: { percentile: 95, maxMs: i.sloP95Ms } });
  if (i.sloErrorRate > 0) metrics.push({ name: 'slo-errors', kind: 'slo', source: COUNTS_KEY, objective: { maxErrorRate: i.sloErrorRate } });
  return { alpha: i.alpha, maxExtensions: i.maxExtensions, metrics };
}
