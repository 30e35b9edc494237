// The three rollout steps as doors see them: inputs in, StepResult out. The engine (engine/) does
// the work; these map inputs to it and its outcome to outputs, a verdict and a report.
import { canaryDeployDefinition, errorMessage, implementStep, InfrastructureError, InputError, promoteDefinition, rollbackDefinition } from '@ferry/core';
import type { DeploymentRecord, OutputValues, ReportSection, StepContext, StepResult } from '@ferry/core';
import { canaryDeploy } from '../engine/canary.js';
import { buildJudgeConfig, buildPlan } from '../engine/plan.js';
import type { RolloutRecord } from '../engine/record.js';
import { promote, rollback, rollbackDestination, type ReleaseOptions, type ReleaseOutcome } from '../engine/release.js';
import { describeVersion } from '../engine/record.js';
import { RolloutSession } from '../engine/session.js';
import { dryRun, isDryRunnable, type PlannedMove } from '../targets/kubernetes/dry-run.js';
import type { Strategy, Target, Weights } from '../target/types.js';
import { weightsFor } from '../target/types.js';
import { MirroredPairsSource } from '../analysis/index.js';
import { LocalRouterTarget } from '../targets/local/index.js';
import { LedgerMirror } from './ledger.js';
import { moveTag } from './registry-tag.js';
import { openSource, openTarget, versionRef, type TargetInputs } from './open.js';
import { decisionLogSection, finalWeights, looksSection, stateSection } from './report.js';

type CanaryOutputs = OutputValues<(typeof canaryDeployDefinition)['outputs']>;
type PromoteOutputs = OutputValues<(typeof promoteDefinition)['outputs']>;
type RollbackOutputs = OutputValues<(typeof rollbackDefinition)['outputs']>;

function jobName(env: StepContext['env']): string | undefined {
  if (env.GITHUB_RUN_ID) return `github run ${env.GITHUB_RUN_ID}${env.GITHUB_JOB ? ` job ${env.GITHUB_JOB}` : ''}`;
  if (env.CI_JOB_ID) return `gitlab job ${env.CI_JOB_ID}`;
  return undefined;
}

function weightsOf(record: RolloutRecord): Weights {
  return record.rollout && !['promoted', 'rolled-back'].includes(record.rollout.phase) ? record.rollout.weights : weightsFor(0);
}

export const canaryDeployStep = implementStep(canaryDeployDefinition, async (ctx, inputs): Promise<StepResult<CanaryOutputs>> => {
  const started = performance.now();
  const plan = buildPlan({
    strategy: inputs.strategy as Strategy,
    steps: inputs.steps,
    bakeMs: inputs.bake,
    keepWarmMs: inputs['keep-warm'],
    abHeader: inputs['ab-header'],
    abCookie: inputs['ab-cookie'],
    abWeight: inputs['ab-weight'],
    mirrorPercent: inputs['mirror-percent'],
    analysis: inputs.analysis as 'synthetic' | 'prometheus',
  });
  const judge = buildJudgeConfig({
    alpha: inputs.alpha,
    maxExtensions: inputs['max-extensions'],
    latencyFloor: inputs['latency-floor'],
    errorFloor: inputs['error-floor'],
    sloP95Ms: inputs['slo-p95-ms'],
    sloErrorRate: inputs['slo-error-rate'],
    minAgreement: inputs['min-agreement'],
    paired: inputs.analysis === 'synthetic' || plan.strategy === 'shadow',
  });
  const canary = versionRef(inputs.version, inputs.endpoints, inputs.digest, 'endpoints');
  const stableEndpoints = inputs['stable-endpoints'] ?? [];
  const stable = !inputs['stable-version']
    ? undefined
    : stableEndpoints.length > 0
      ? versionRef(inputs['stable-version'], stableEndpoints, '', 'stable-endpoints')
      : { name: inputs['stable-version'], endpoints: [] };
  const target = openTarget(inputs, ctx.cwd, ctx.logger);
  if (inputs['dry-run']) {
    const first = plan.steps[0]?.weight ?? 0;
    return dryRunStep<CanaryOutputs>(ctx, target, 'canary-deploy', inputs.environment, async () => ({ step: 'canary-deploy', canary, weights: weightsFor(first) }), {
      'new-version': canary.name,
      'new-digest': canary.digest ?? '',
      'environment-url': inputs['environment-url'],
    });
  }
  const base = openSource({ ...inputs, analysis: inputs.analysis as 'synthetic' | 'prometheus' }, ctx.cwd);
  // Shadow: model quality from the requests the router mirrored, not from synthetic ones.
  const source = plan.strategy === 'shadow' && target instanceof LocalRouterTarget ? new MirroredPairsSource(base, target) : base;
  const ledger = new LedgerMirror(ctx, inputs['environment-url']);
  let record: DeploymentRecord | undefined;
  try {
    const outcome = await canaryDeploy(target, {
      onStarted: async (rollout, resumed) => {
        record = await ledger.start(`${inputs.environment}-canary`, canary.name, `${rollout.plan.strategy} rollout of ${canary.name}${resumed ? ` resumed at step ${rollout.step + 1}` : ''}`);
        await ledger.update(record, 'in_progress', resumed ? `resumed at step ${rollout.step + 1}` : `started: ${rollout.plan.steps.map((st) => `${st.weight}%`).join(', ')}`);
      },
      environment: inputs.environment,
      canary,
      ...(stable ? { stable } : {}),
      plan,
      judge,
      source,
      onInconclusive: inputs['on-inconclusive'] as 'abort' | 'hold',
      onResume: inputs['on-resume'] as 'resume' | 'abort',
      session: { leaseTtlMs: inputs['lease-ttl'], ...(jobName(ctx.env) ? { job: jobName(ctx.env)! } : {}) },
      verifyTimeoutMs: inputs['verify-timeout'],
      logger: ctx.logger,
      signal: ctx.signal,
    });
    const state = outcome.record.rollout?.phase;
    await ledger.update(record, outcome.verdict === 'pass' && state === 'completed' ? 'success' : state === 'aborted' ? 'failure' : 'in_progress', outcome.headline);
    const rec = outcome.record;
    const rollout = rec.rollout;
    const weights = weightsOf(rec);
    const report: ReportSection[] = [
      stateSection(rec, [
        ['target', target.description],
        ['analysis', source.description],
        ...(outcome.rollbackMs !== null ? ([['rollback', `${Math.round(outcome.rollbackMs)} ms from the decision to verified 100% stable`]] as const) : []),
      ]),
    ];
    const looks = looksSection(outcome.judgements);
    if (looks) report.push(looks);
    const log = outcome.noop ? rec.decisions.filter((d) => rollout && d.at >= new Date(rollout.startedAt).toISOString()) : outcome.decisions;
    report.push(decisionLogSection(log, true));
    const previous = rollout?.phase === 'promoted' ? rec.previous : rec.stable;
    return {
      step: 'canary-deploy',
      verdict: outcome.verdict,
      headline: outcome.headline,
      outputs: {
        'new-version': canary.name,
        'new-digest': canary.digest ?? '',
        'previous-version': previous?.name ?? '',
        'previous-digest': previous?.digest ?? '',
        phase: rollout?.phase ?? '',
        'final-weights': finalWeights(rec, weights),
        'decision-log': JSON.stringify(log.map((d) => ({ at: d.at, step: d.step, canary: d.weights.canary, action: d.action, detail: d.detail }))),
        'rollback-ms': outcome.rollbackMs === null ? '' : String(Math.round(outcome.rollbackMs)),
        'environment-url': inputs['environment-url'],
        verdict: outcome.verdict,
        'report-path': '',
      },
      report,
      findings: [],
      gates: outcome.judgements.length > 0 ? outcome.judgements[outcome.judgements.length - 1]!.judgement.rows.filter((r) => r.outcome !== 'info').map((r) => ({ name: `${r.metric}: ${r.title}`, passed: r.outcome === 'pass', value: r.canary === null ? '–' : String(r.canary), threshold: r.floor?.rule ?? r.limit?.rule ?? '', detail: r.reason })) : [],
      metrics: {
        rollout_steps_reached: rollout ? Math.min(rollout.step, rollout.plan.steps.length) : 0,
        canary_weight: weights.canary,
        ...(outcome.rollbackMs !== null ? { rollback_ms: Math.round(outcome.rollbackMs) } : {}),
      },
      details: { looks: outcome.judgements.map(({ step, weights, judgement }) => ({ step, weights, judgement })) },
      durationMs: performance.now() - started,
    };
  } catch (error) {
    await ledger.update(record, 'error', (error as Error).message);
    throw error;
  } finally {
    await target.close().catch(() => undefined);
  }
});

/**
 * A dry run: the objects the step would apply, validated by the API server (server-side apply with
 * dryRun=All) and diffed against the live ones. No lease, no record write, no deployment record.
 */
async function dryRunStep<O extends Record<string, string>>(
  ctx: StepContext,
  target: Target,
  step: 'canary-deploy' | 'promote' | 'rollback',
  environment: string,
  move: (record: RolloutRecord) => Promise<PlannedMove>,
  outputs: Record<string, string>,
): Promise<StepResult<O>> {
  const started = performance.now();
  try {
    if (!isDryRunnable(target)) {
      throw new InputError(`dry-run is for the Kubernetes targets (gateway-api, kserve); the ${target.kind} target cannot preview a change without making it`, { subject: 'dry-run' });
    }
    // Reads the record without taking the lease: a dry run never writes it.
    const session = await RolloutSession.open(target, { environment });
    const plan = await dryRun(target, await move(session.record));
    ctx.logger.info(plan.text);
    const [headline, ...rest] = plan.text.split('\n');
    const changed = plan.changes.filter((c) => c.action !== 'unchanged' && c.action !== 'absent').length;
    return {
      step,
      verdict: 'pass',
      headline: `${headline!} (${changed} of ${plan.changes.length} objects would change)`,
      outputs: { ...outputs, verdict: 'pass', 'report-path': '' } as unknown as O,
      report: [
        { heading: 'Dry run', blocks: [{ kind: 'paragraph', text: headline! }, { kind: 'code', language: 'diff', text: rest.join('\n').trim() || 'no objects' }] },
        stateSection(session.record, [['target', target.description]]),
      ],
      findings: [],
      gates: [],
      metrics: { dry_run_changes: changed },
      durationMs: performance.now() - started,
    };
  } finally {
    await target.close().catch(() => undefined);
  }
}

function releaseReport(outcome: ReleaseOutcome, description: string): ReportSection[] {
  return [stateSection(outcome.record, [['target', description]]), decisionLogSection(outcome.decisions)];
}

/** promote and rollback share everything but the move and the names of their outputs. */
async function releaseStep<O extends Record<string, string>>(
  ctx: StepContext,
  inputs: TargetInputs & { readonly environment: string; readonly 'environment-url': string; readonly 'lease-ttl': number; readonly 'verify-timeout': number; readonly 'dry-run': boolean },
  step: 'promote' | 'rollback',
  move: (target: Target, options: ReleaseOptions) => Promise<ReleaseOutcome>,
  outputs: (outcome: ReleaseOutcome) => Omit<O, 'verdict' | 'report-path' | 'tagged' | 'environment-url'>,
  after?: (outcome: ReleaseOutcome) => Promise<Record<string, string>>,
  planned?: (record: RolloutRecord, description: string) => PlannedMove,
): Promise<StepResult<O>> {
  const started = performance.now();
  const target = openTarget(inputs, ctx.cwd, ctx.logger);
  if (inputs['dry-run']) {
    return dryRunStep<O>(ctx, target, step, inputs.environment, async (record) => planned!(record, target.description), { 'environment-url': inputs['environment-url'], ...(step === 'promote' ? { tagged: '' } : {}) });
  }
  try {
    const outcome = await move(target, {
      environment: inputs.environment,
      session: { leaseTtlMs: inputs['lease-ttl'], ...(jobName(ctx.env) ? { job: jobName(ctx.env)! } : {}) },
      verifyTimeoutMs: inputs['verify-timeout'],
      logger: ctx.logger,
    });
    if (!outcome.noop) {
      // The environment's deployment record: success marks the one before it inactive.
      const ledger = new LedgerMirror(ctx, inputs['environment-url']);
      await ledger.update(await ledger.start(inputs.environment, outcome.stable.name, `${step} to ${outcome.stable.name}`), 'success', outcome.headline);
    }
    return {
      step,
      verdict: 'pass',
      headline: outcome.headline,
      outputs: { ...outputs(outcome), ...(after ? await after(outcome) : {}), 'environment-url': inputs['environment-url'], verdict: 'pass', 'report-path': '' } as unknown as O,
      report: releaseReport(outcome, target.description),
      findings: [],
      gates: [],
      metrics: outcome.noop ? {} : { [`${step}_ms`]: Math.round(outcome.elapsedMs) },
      durationMs: performance.now() - started,
    };
  } finally {
    await target.close().catch(() => undefined);
  }
}

export const promoteStep = implementStep(promoteDefinition, (ctx, inputs) =>
  releaseStep<PromoteOutputs>(ctx, inputs, 'promote', (target, options) => promote(target, inputs.version || undefined, options), (outcome) => ({
    'stable-version': outcome.stable.name,
    'stable-digest': outcome.stable.digest ?? '',
    'previous-version': outcome.other?.name ?? '',
    'previous-digest': outcome.other?.digest ?? '',
    'final-weights': JSON.stringify({ [outcome.stable.name]: 100 }),
    'decision-log': JSON.stringify(outcome.decisions),
  }), async (outcome) => {
    if (!inputs['registry-tag']) return { tagged: '' };
    try {
      const { tagged } = await moveTag({
        reference: inputs['registry-tag'],
        digest: outcome.stable.digest ?? '',
        username: inputs['registry-username'],
        password: inputs['registry-password'],
        plainHttp: inputs['insecure-registry'],
        env: ctx.env,
        logger: ctx.logger,
        signal: ctx.signal,
      });
      return { tagged };
    } catch (error) {
      // Traffic is the truth and it did move: say so, so nobody rolls back a good promotion.
      const message = `${outcome.stable.name} is promoted and serves all traffic, but ${inputs['registry-tag']} was not moved to it: ${errorMessage(error)}; re-run promote to retry the tag`;
      if (error instanceof InputError) throw new InputError(message, { subject: 'registry-tag' });
      throw new InfrastructureError(message, { service: 'registry', cause: error });
    }
  }, (record, description) => {
    const rollout = record.rollout;
    if (!rollout) throw new InputError(`${description} has no canary to promote: no rollout was ever started there`, { subject: 'version' });
    if (inputs.version && rollout.canary.name !== inputs.version) throw new InputError(`the canary on ${description} is ${describeVersion(rollout.canary)}, not ${inputs.version}`, { subject: 'version' });
    return { step: 'promote', to: rollout.canary };
  }),
);

export const rollbackStep = implementStep(rollbackDefinition, (ctx, inputs) =>
  releaseStep<RollbackOutputs>(ctx, inputs, 'rollback', (target, options) => rollback(target, inputs['to-version'] || undefined, options), (outcome) => ({
    'stable-version': outcome.stable.name,
    'stable-digest': outcome.stable.digest ?? '',
    'rolled-back-from': outcome.other?.name ?? '',
    'final-weights': JSON.stringify({ [outcome.stable.name]: 100 }),
    'rollback-ms': outcome.noop ? '0' : String(Math.round(outcome.elapsedMs)),
    'decision-log': JSON.stringify(outcome.decisions),
  }), undefined, (record, description) => ({ step: 'rollback', to: rollbackDestination(record, inputs['to-version'] || undefined, description) })),
);
