// canary-deploy's engine: the state machine idle → canary(step k, weight w) → completed | aborted,
// driven from CI. Each step sets the weights, reads them back, bakes (re-applying weights a router
// lost, renewing the lease), asks the judge, then continues, extends or aborts. Everything that
// happens goes into the record on the target first, so a killed job's re-run resumes at the
// recorded step, a cancelled job leaves traffic on stable, and a finished rollout re-run is a no-op.
import { CancelledError, InfrastructureError, InputError, silentLogger, type Logger } from '@ferry/core';
import { AnalysisUnavailableError, type AnalysisSource, type AnalysisVersions } from '../analysis/types.js';
import { judgeCanary } from '../judge/judge.js';
import type { JudgeConfig, Judgement } from '../judge/types.js';
import { weightsFor, type Routing, type Target, type VersionRef, type Weights } from '../target/types.js';
import {
  describeVersion,
  FINISHED_PHASES,
  logDecision,
  sameVersion,
  type ActiveRollout,
  type DecisionEntry,
  type Plan,
  type RolloutRecord,
} from './record.js';
import { RolloutSession, type SessionOptions } from './session.js';
import { applyAndVerify, describeWeights, pointCanaryAt, readRouting, routingMatches, slotServes } from './traffic.js';

export interface CanaryOptions {
  readonly environment: string;
  readonly canary: VersionRef;
  /** The stable version, needed only for the first rollout on a target (no record yet). */
  readonly stable?: VersionRef;
  readonly plan: Plan;
  readonly judge: JudgeConfig;
  /** Made by the caller for these versions; the engine starts and closes it. */
  readonly source: AnalysisSource;
  readonly onInconclusive: 'abort' | 'hold';
  /** What a re-run does with a rollout its killed predecessor left in progress. */
  readonly onResume: 'resume' | 'abort';
  readonly session?: Omit<SessionOptions, 'environment'>;
  readonly verifyTimeoutMs?: number;
  /** How often the bake checks the router still applies the weights (default 2 s). */
  readonly watchIntervalMs?: number;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
  /** Called once traffic work begins (a new rollout, or a resumed one), never for a no-op. */
  readonly onStarted?: (rollout: ActiveRollout, resumed: boolean) => Promise<void>;
}

export interface RolloutOutcome {
  readonly verdict: 'pass' | 'fail' | 'inconclusive';
  readonly headline: string;
  /** Nothing was done: the rollout had already finished (or the version is already stable). */
  readonly noop: boolean;
  readonly record: RolloutRecord;
  /** The judge's looks in this run, in order. */
  readonly judgements: readonly { readonly step: number; readonly weights: Weights; readonly judgement: Judgement }[];
  /** Decision-log entries written in this run. */
  readonly decisions: readonly DecisionEntry[];
  /** Decision to verified 100% stable, when this run returned traffic to stable. */
  readonly rollbackMs: number | null;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

function analysedSteps(plan: Plan): number {
  return plan.steps.filter((s) => s.analyse).length;
}

function lookIndex(plan: Plan, step: number): number {
  return plan.steps.slice(0, step + 1).filter((s) => s.analyse).length;
}

export async function canaryDeploy(target: Target, o: CanaryOptions): Promise<RolloutOutcome> {
  const logger = o.logger ?? silentLogger;
  const signal = o.signal ?? new AbortController().signal;
  const supported = target.supports(o.plan.strategy);
  if (supported !== true) throw new InputError(`${target.kind} cannot run a ${o.plan.strategy} rollout: ${supported}`, { subject: 'strategy' });

  const session = await RolloutSession.open(target, { environment: o.environment, ...o.session });
  const run = new CanaryRun(target, session, o, logger, signal);
  await session.acquire('canary-deploy');
  try {
    return await run.execute();
  } finally {
    await o.source.close().catch(() => undefined);
    await session.release().catch((error: unknown) => logger.warn(`could not hand the lease back: ${(error as Error).message}; it expires on its own`));
  }
}

class CanaryRun {
  private readonly decisions: DecisionEntry[] = [];
  private readonly judgements: { step: number; weights: Weights; judgement: Judgement }[] = [];
  private rollbackMs: number | null = null;

  constructor(
    private readonly target: Target,
    private readonly session: RolloutSession,
    private readonly o: CanaryOptions,
    private readonly logger: Logger,
    private readonly signal: AbortSignal,
  ) {}

  private get record(): RolloutRecord {
    return this.session.record;
  }

  private log(entry: Omit<DecisionEntry, 'at'>): void {
    const full = logDecision(this.record, entry);
    this.decisions.push(full);
    this.logger.info(`[step ${entry.step}] ${entry.action}: ${entry.detail}`);
  }

  private outcome(verdict: RolloutOutcome['verdict'], headline: string, noop = false): RolloutOutcome {
    return { verdict, headline, noop, record: this.record, judgements: this.judgements, decisions: this.decisions, rollbackMs: this.rollbackMs };
  }

  async execute(): Promise<RolloutOutcome> {
    const r = this.record;
    const existing = r.rollout;
    if (existing && sameVersion(existing.canary, this.o.canary)) {
      if (FINISHED_PHASES.includes(existing.phase)) {
        return this.outcome(existing.verdict ?? 'pass', `nothing to do: the rollout of ${describeVersion(existing.canary)} already ended (${existing.phase}): ${existing.headline ?? ''}`.trim(), true);
      }
      if (this.o.onResume === 'abort') {
        this.log({ step: existing.step + 1, weights: existing.weights, action: 'abort', detail: `re-run with on-resume=abort: the interrupted rollout of ${existing.canary.name} goes back to stable` });
        return this.abort(existing, 'fail', `aborted on request after an interrupted job: traffic is back on ${describeVersion(r.stable)}`);
      }
      this.log({ step: existing.step + 1, weights: existing.weights, action: 'resume', detail: `resuming ${existing.phase} rollout of ${existing.canary.name} at step ${existing.step + 1} of ${existing.plan.steps.length}` });
      await this.repointCanary(existing);
      await this.o.onStarted?.(existing, true);
      // Re-running a paused rollout is the approval its manual gate waited for.
      return this.steps(existing, existing.phase === 'paused');
    }
    if (existing && !FINISHED_PHASES.includes(existing.phase)) {
      throw new InputError(
        `a rollout of ${describeVersion(existing.canary)} is ${existing.phase} on ${this.target.description} (step ${existing.step + 1} of ${existing.plan.steps.length}, ${describeWeights(existing.weights)}); finish it before starting ${this.o.canary.name}`,
        { subject: 'version', hint: 'run promote or rollback first, or re-run canary-deploy for that version' },
      );
    }
    if (existing?.phase === 'completed') {
      throw new InputError(`${describeVersion(existing.canary)} finished its canary but was never promoted or rolled back; do that before starting ${this.o.canary.name}`, { subject: 'version' });
    }
    if (sameVersion(r.stable, this.o.canary)) {
      return this.outcome('pass', `nothing to do: ${describeVersion(this.o.canary)} is already the stable version`, true);
    }
    return this.start();
  }

  private async start(): Promise<RolloutOutcome> {
    const r = this.record;
    const live = await readRouting(this.target);
    if (!r.stable) {
      // The first rollout on a target: the stable version is what the router serves now, named by
      // the router itself (the local router knows it) or by stable-version.
      const named = live.versions?.stable ?? null;
      if (this.o.stable) {
        r.stable = this.o.stable.endpoints.length > 0 ? this.o.stable : { ...this.o.stable, endpoints: live.endpoints.stable };
      } else if (named) {
        r.stable = named;
      } else {
        throw new InputError(`${this.target.description} has no rollout record yet and does not name its stable version, so Ferry does not know what serves now`, {
          subject: 'stable-version',
          hint: 'give stable-version (and stable-endpoints, unless the router already points at them) for the first rollout on a target',
        });
      }
      if (r.stable.endpoints.length === 0) throw new InputError(`the stable slot of ${this.target.description} has no servers: give stable-endpoints`, { subject: 'stable-endpoints' });
    }
    if (r.stable.name === this.o.canary.name) throw new InputError(`the canary version ${this.o.canary.name} has the same name as the stable version with different endpoints or digest; give the new version its own name`, { subject: 'version' });
    await pointCanaryAt(this.target, this.o.canary, live, this.o.verifyTimeoutMs);
    const rollout: ActiveRollout = {
      id: `${this.o.canary.name}@${new Date().toISOString()}`,
      canary: this.o.canary,
      plan: this.o.plan,
      phase: 'progressing',
      step: 0,
      weights: weightsFor(0),
      startedAt: Date.now(),
      bakeUntil: null,
      extensions: 0,
      looks: [],
      verdict: null,
      headline: null,
      rollbackMs: null,
    };
    r.rollout = rollout;
    this.log({ step: 0, weights: rollout.weights, action: 'start', detail: `${this.o.plan.strategy} rollout of ${describeVersion(this.o.canary)} against stable ${describeVersion(r.stable)}: steps ${this.o.plan.steps.map((s) => `${s.weight}%`).join(', ')}` });
    await this.session.save();
    await this.o.onStarted?.(rollout, false);
    return this.steps(rollout, false);
  }

  private versions(rollout: ActiveRollout): AnalysisVersions {
    return { stable: this.record.stable!, canary: rollout.canary };
  }

  private async steps(rollout: ActiveRollout, gatePassed: boolean): Promise<RolloutOutcome> {
    const plan = rollout.plan;
    try {
      await this.o.source.start(this.versions(rollout), this.signal);
      let passedGate = gatePassed;
      let firstRound = true;
      while (rollout.step < plan.steps.length) {
        const index = rollout.step;
        const step = plan.steps[index]!;
        // Shadow mirrors at 0%; otherwise a step at 0% (blue-green's verification) is plain weighted.
        const routing: Routing = plan.routing.kind === 'mirror' || step.weight > 0 ? plan.routing : { kind: 'weighted' };
        const weights = plan.routing.kind === 'mirror' ? weightsFor(0) : weightsFor(step.weight);
        if (step.manualGate && !passedGate && rollout.bakeUntil === null) {
          rollout.phase = 'paused';
          this.log({ step: index + 1, weights: rollout.weights, action: 'pause', detail: `manual gate before ${step.weight}%: re-run canary-deploy for ${rollout.canary.name} to go on` });
          await this.session.save();
          return this.outcome('inconclusive', `paused at the manual gate before step ${index + 1} (${step.weight}%): re-run canary-deploy to continue, or roll back`);
        }
        passedGate = false;
        rollout.phase = 'progressing';
        const verifiedMs = await applyAndVerify(this.target, weights, routing, this.o.verifyTimeoutMs);
        rollout.weights = weights;
        // A new step, or the first of this job: worth a log line. An extension only re-checks.
        const announce = rollout.bakeUntil === null || firstRound;
        firstRound = false;
        if (rollout.bakeUntil === null) {
          rollout.bakeUntil = Date.now() + step.bakeMs;
          rollout.extensions = 0;
        }
        if (announce) this.log({ step: index + 1, weights, action: 'verified', detail: `${describeWeights(weights)}${routing.kind === 'weighted' ? '' : ` (${routing.kind})`} live on ${this.target.kind}, read back in ${Math.round(verifiedMs)} ms` });
        await this.session.save();

        await this.bake(rollout, weights, routing);
        if (!step.analyse) {
          this.advance(rollout);
          await this.session.save();
          continue;
        }
        const judgement = await this.look(rollout, index);
        if (judgement === 'unavailable') {
          if (rollout.extensions < (this.o.judge.maxExtensions ?? 2)) {
            rollout.extensions += 1;
            rollout.bakeUntil = Date.now() + step.bakeMs;
            await this.session.save();
            continue;
          }
          await this.abort(rollout, 'inconclusive', 'the analysis source stayed unreachable');
          throw new InfrastructureError(`${this.o.source.description} could not be reached for step ${index + 1}; the canary was not promoted and traffic is back on ${describeVersion(this.record.stable)}`, {
            service: this.o.source.kind,
          });
        }
        const decision = judgement.decision;
        rollout.looks.push({ step: index + 1, look: judgement.look.index, extension: judgement.look.extension, decision, headline: judgement.headline, at: new Date().toISOString() });
        if (decision === 'continue') {
          this.log({ step: index + 1, weights, action: 'continue', detail: judgement.headline });
          this.advance(rollout);
          await this.session.save();
          continue;
        }
        if (decision === 'extend') {
          rollout.extensions += 1;
          rollout.bakeUntil = Date.now() + step.bakeMs;
          this.log({ step: index + 1, weights, action: 'extend', detail: `${judgement.headline}; baking ${Math.round(step.bakeMs / 1000)} s more` });
          await this.session.save();
          continue;
        }
        if (decision === 'abort') {
          this.log({ step: index + 1, weights, action: 'abort', detail: judgement.headline });
          return await this.abort(rollout, 'fail', `aborted at step ${index + 1} (${step.weight}%): ${judgement.headline}`);
        }
        // inconclusive
        if (this.o.onInconclusive === 'hold') {
          rollout.phase = 'holding';
          rollout.verdict = 'inconclusive';
          rollout.headline = `held for approval at step ${index + 1} (${step.weight}%): ${judgement.headline}`;
          this.log({ step: index + 1, weights, action: 'hold', detail: judgement.headline });
          await this.session.save();
          return this.outcome('inconclusive', rollout.headline);
        }
        this.log({ step: index + 1, weights, action: 'inconclusive', detail: `${judgement.headline}; on-inconclusive=abort` });
        return await this.abort(rollout, 'inconclusive', `inconclusive at step ${index + 1} (${step.weight}%), so aborted: ${judgement.headline}`);
      }
      rollout.phase = 'completed';
      rollout.verdict = 'pass';
      rollout.headline = `${rollout.canary.name} passed every step (${plan.steps.map((s) => `${s.weight}%`).join(' → ')}); promote makes it stable`;
      this.log({ step: plan.steps.length, weights: rollout.weights, action: 'complete', detail: rollout.headline });
      await this.session.save();
      return this.outcome('pass', rollout.headline);
    } catch (error) {
      if (this.signal.aborted && !(error instanceof InputError)) return this.interrupt(rollout);
      throw error;
    }
  }

  /**
   * A killed job may have left the canary slot half-moved (a server still in maintenance, or the
   * router restarted from its config): before resuming, traffic goes back to stable and the slot is
   * pointed at the canary again. The steps then re-apply the recorded weight.
   */
  private async repointCanary(rollout: ActiveRollout): Promise<void> {
    await pointCanaryAt(this.target, rollout.canary, await readRouting(this.target), this.o.verifyTimeoutMs);
  }

  private advance(rollout: ActiveRollout): void {
    rollout.step += 1;
    rollout.bakeUntil = null;
    rollout.extensions = 0;
  }

  /** Waits out the bake; every watch interval the lease is renewed and the router checked (a lost split is re-applied). */
  private async bake(rollout: ActiveRollout, weights: Weights, routing: Routing): Promise<void> {
    const watch = this.o.watchIntervalMs ?? 2_000;
    let lastRenew = Date.now();
    const renewEvery = Math.max(1_000, (this.o.session?.leaseTtlMs ?? 60_000) / 3);
    while (rollout.bakeUntil !== null && Date.now() < rollout.bakeUntil) {
      await sleep(Math.min(watch, rollout.bakeUntil - Date.now()), this.signal);
      if (this.signal.aborted) throw new CancelledError();
      const live = await readRouting(this.target).catch((error: unknown) => error as Error);
      if (live instanceof Error) {
        this.logger.warn(`could not read the routing back: ${live.message}`);
      } else {
        // A router restarted from its config may point the canary slot elsewhere, or have lost the split.
        const repoint = !slotServes(live, 'canary', rollout.canary);
        if (repoint || !routingMatches(live, weights, routing)) {
          // Renew first: if another job (a rollback) took the record, this throws and we touch nothing.
          await this.session.renew();
          lastRenew = Date.now();
          if (repoint) await pointCanaryAt(this.target, rollout.canary, live, this.o.verifyTimeoutMs);
          const ms = await applyAndVerify(this.target, weights, routing, this.o.verifyTimeoutMs);
          const found = repoint
            ? `had the canary slot on ${live.endpoints.canary.join(', ') || 'nothing'}; pointed it back at ${rollout.canary.name} and re-applied ${describeWeights(weights)}`
            : `showed ${describeWeights(live.weights)} (restarted or changed by hand); ${describeWeights(weights)} re-applied and verified`;
          this.log({ step: rollout.step + 1, weights, action: 'reapplied', detail: `${this.target.kind} ${found} in ${Math.round(ms)} ms` });
          await this.session.save();
        }
      }
      if (Date.now() - lastRenew >= renewEvery) {
        await this.session.renew();
        lastRenew = Date.now();
      }
    }
  }

  private async look(rollout: ActiveRollout, index: number): Promise<Judgement | 'unavailable'> {
    const window = { startMs: rollout.startedAt, endMs: Date.now() };
    let data;
    try {
      data = await this.o.source.collect(this.versions(rollout), window, this.signal);
    } catch (error) {
      if (!(error instanceof AnalysisUnavailableError)) throw error;
      this.log({ step: index + 1, weights: rollout.weights, action: 'analysis-unavailable', detail: `${error.message}: no data, so no decision (never a pass)` });
      return 'unavailable';
    }
    const judgement = judgeCanary(this.o.judge, { index: lookIndex(rollout.plan, index), count: analysedSteps(rollout.plan), extension: rollout.extensions }, data);
    this.judgements.push({ step: index + 1, weights: rollout.weights, judgement });
    return judgement;
  }

  /** All traffic back to stable, verified; the measured time goes in the record. */
  private async abort(rollout: ActiveRollout, verdict: 'fail' | 'inconclusive', headline: string): Promise<RolloutOutcome> {
    const started = performance.now();
    await applyAndVerify(this.target, weightsFor(0), { kind: 'weighted' }, this.o.verifyTimeoutMs);
    this.rollbackMs = performance.now() - started;
    rollout.phase = 'aborted';
    rollout.weights = weightsFor(0);
    rollout.verdict = verdict;
    rollout.headline = headline;
    rollout.rollbackMs = this.rollbackMs;
    this.log({ step: rollout.step + 1, weights: rollout.weights, action: 'rollback', detail: `${describeWeights(rollout.weights)} verified ${Math.round(this.rollbackMs)} ms after the decision` });
    await this.session.save();
    await this.target.retireCanary?.().catch((error: unknown) => this.logger.warn(`all traffic is on stable, but the canary slot of ${this.target.description} was not freed: ${(error as Error).message}`));
    return this.outcome(verdict, headline);
  }

  /** The job was cancelled: traffic back on stable, the step kept, so a re-run resumes. */
  private async interrupt(rollout: ActiveRollout): Promise<never> {
    await applyAndVerify(this.target, weightsFor(0), { kind: 'weighted' }, this.o.verifyTimeoutMs).catch((error: unknown) => {
      this.logger.error(`cancelled, and could not return traffic to stable: ${(error as Error).message}`);
    });
    rollout.phase = 'interrupted';
    rollout.weights = weightsFor(0);
    this.log({ step: rollout.step + 1, weights: rollout.weights, action: 'interrupt', detail: `job cancelled at step ${rollout.step + 1}: traffic back on stable; a re-run resumes here` });
    await this.session.save().catch(() => undefined);
    throw new CancelledError(`cancelled at step ${rollout.step + 1} of ${rollout.plan.steps.length}: traffic is back on ${describeVersion(this.record.stable)}; re-run canary-deploy to resume or rollback to end it`);
  }
}
