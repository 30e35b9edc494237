// promote and rollback: the two moves that end a rollout. Both go through the canary slot while it
// carries all traffic, so the stable slot is only re-pointed at 0%, and both read the result back
// before recording it. Both are idempotent: run twice, the second finds the work done.
import { errorMessage, InputError, silentLogger, type Logger } from '@ferry/core';
import { weightsFor, type Target, type VersionRef } from '../target/types.js';
import { describeVersion, FINISHED_PHASES, logDecision, logHistory, sameVersion, type DecisionEntry, type RolloutRecord } from './record.js';
import { RolloutSession, type SessionOptions } from './session.js';
import { applyAndVerify, pointCanaryAt, readRouting, routingMatches, setSlotVersion, slotServes } from './traffic.js';

export interface ReleaseOptions {
  readonly environment: string;
  readonly session?: Omit<SessionOptions, 'environment'>;
  readonly verifyTimeoutMs?: number;
  readonly logger?: Logger;
}

export interface ReleaseOutcome {
  readonly noop: boolean;
  readonly headline: string;
  /** The version serving all traffic now. */
  readonly stable: VersionRef;
  /** promote: the rollback point; rollback: the version taken out of service. */
  readonly other: VersionRef | null;
  readonly record: RolloutRecord;
  readonly decisions: readonly DecisionEntry[];
  /** Start of the move to verified 100% on the new stable version. */
  readonly elapsedMs: number;
}

/** Lets the target free the canary slot once the move is verified and recorded; traffic no longer depends on it. */
async function retireCanary(target: Target, logger: Logger): Promise<void> {
  try {
    await target.retireCanary?.();
  } catch (error) {
    logger.warn(`all traffic is on the stable slot, but the canary slot of ${target.description} was not freed: ${errorMessage(error)}`);
  }
}

/** Moves all traffic to `to` and makes it the stable slot's version; returns the verified time. */
async function moveStable(target: Target, record: RolloutRecord, to: VersionRef, timeoutMs: number | undefined): Promise<number> {
  const started = performance.now();
  const live = await readRouting(target);
  const onStable = sameVersion(record.stable, to) || (slotServes(live, 'stable', to) && live.weights.stable === 100);
  if (!onStable) {
    // The canary slot takes everything while the stable slot is re-pointed at 0%.
    if (!slotServes(live, 'canary', to)) await pointCanaryAt(target, to, live, timeoutMs);
    await applyAndVerify(target, weightsFor(100), { kind: 'weighted' }, timeoutMs);
    await setSlotVersion(target, 'stable', to);
  }
  await applyAndVerify(target, weightsFor(0), { kind: 'weighted' }, timeoutMs);
  return performance.now() - started;
}

export async function promote(target: Target, expected: string | undefined, o: ReleaseOptions): Promise<ReleaseOutcome> {
  const logger = o.logger ?? silentLogger;
  const session = await RolloutSession.open(target, { environment: o.environment, ...o.session });
  const r = session.record;
  const rollout = r.rollout;
  if (!rollout) throw new InputError(`${target.description} has no canary to promote: no rollout was ever started there`, { subject: 'version' });
  if (expected && rollout.canary.name !== expected) {
    if (rollout.phase === 'promoted' && r.stable?.name === expected) {
      return { noop: true, headline: `nothing to do: ${expected} is already promoted`, stable: r.stable, other: r.previous, record: r, decisions: [], elapsedMs: 0 };
    }
    throw new InputError(`the canary on ${target.description} is ${describeVersion(rollout.canary)}, not ${expected}`, { subject: 'version' });
  }
  if (rollout.phase === 'promoted') {
    return { noop: true, headline: `nothing to do: ${describeVersion(rollout.canary)} was already promoted`, stable: r.stable!, other: r.previous, record: r, decisions: [], elapsedMs: 0 };
  }
  if (rollout.phase === 'aborted' || rollout.phase === 'rolled-back') {
    throw new InputError(`${describeVersion(rollout.canary)} was ${rollout.phase === 'aborted' ? 'aborted' : 'rolled back'} (${rollout.headline ?? 'see the decision log'}); there is nothing to promote`, { subject: 'version' });
  }
  await session.acquire('promote');
  const decisions: DecisionEntry[] = [];
  try {
    if (!FINISHED_PHASES.includes(rollout.phase)) logger.warn(`promoting ${rollout.canary.name} before its canary finished (${rollout.phase} at step ${rollout.step + 1})`);
    const previous = r.stable;
    const elapsedMs = await moveStable(target, r, rollout.canary, o.verifyTimeoutMs);
    r.previous = previous;
    r.stable = rollout.canary;
    rollout.phase = 'promoted';
    rollout.weights = weightsFor(0);
    const detail = `${describeVersion(rollout.canary)} is stable with 100% of traffic (verified in ${Math.round(elapsedMs)} ms); ${describeVersion(previous)} is kept as the rollback point`;
    decisions.push(logDecision(r, { step: 0, weights: weightsFor(0), action: 'promote', detail }));
    logHistory(r, { at: new Date().toISOString(), event: 'promote', from: previous?.name ?? null, to: rollout.canary.name, detail });
    await session.save();
    await retireCanary(target, logger);
    logger.info(detail);
    return { noop: false, headline: detail, stable: rollout.canary, other: previous, record: r, decisions, elapsedMs };
  } finally {
    await session.release().catch(() => undefined);
  }
}

/** Known versions by name: stable, the rollback point and the canary. */
function known(r: RolloutRecord): VersionRef[] {
  return [r.stable, r.previous, r.rollout?.canary].filter((v): v is VersionRef => v !== null && v !== undefined);
}

function lastRollbackTo(r: RolloutRecord): string | undefined {
  const last = r.history[r.history.length - 1];
  return last?.event === 'rollback' ? last.to : undefined;
}

/** The version rollback moves to: `toName`, else stable while a canary is live, else the rollback point. */
export function rollbackDestination(r: RolloutRecord, toName: string | undefined, description: string): VersionRef {
  if (!r.stable) throw new InputError(`${description} has no rollout record: there is nothing to roll back to`, { subject: 'to-version' });
  const rollout = r.rollout;
  const canaryLive = rollout !== null && !['promoted', 'aborted', 'rolled-back'].includes(rollout.phase);
  if (toName) {
    const found = known(r).find((v) => v.name === toName);
    if (!found) throw new InputError(`version ${toName} is not known on ${description}; known: ${known(r).map((v) => v.name).join(', ')}`, { subject: 'to-version' });
    return found;
  } else if (canaryLive) {
    return r.stable;
  } else if (lastRollbackTo(r) === r.stable.name) {
    // Rolled back already: a second rollback must not flip back to the version just taken out.
    return r.stable;
  } else if (r.previous) {
    return r.previous;
  } else {
    throw new InputError(`${description} has no previous stable version to roll back to (stable is ${describeVersion(r.stable)})`, { subject: 'to-version' });
  }
}

export async function rollback(target: Target, toName: string | undefined, o: ReleaseOptions): Promise<ReleaseOutcome> {
  const logger = o.logger ?? silentLogger;
  // The emergency path wins over a running rollout: that job finds the record changed and stops.
  const session = await RolloutSession.open(target, { environment: o.environment, ...o.session, takeOver: true });
  const r = session.record;
  if (!r.stable) throw new InputError(`${target.description} has no rollout record: there is nothing to roll back to`, { subject: 'to-version' });
  const rollout = r.rollout;
  const canaryLive = rollout !== null && !['promoted', 'aborted', 'rolled-back'].includes(rollout.phase);
  const to = rollbackDestination(r, toName, target.description);
  const live = await readRouting(target);
  const from = canaryLive ? rollout!.canary : r.stable;
  if (sameVersion(r.stable, to) && !canaryLive && routingMatches(live, weightsFor(0), { kind: 'weighted' })) {
    return { noop: true, headline: `nothing to do: ${describeVersion(to)} already serves all traffic`, stable: to, other: null, record: r, decisions: [], elapsedMs: 0 };
  }
  await session.acquire('rollback');
  const decisions: DecisionEntry[] = [];
  try {
    const elapsedMs = await moveStable(target, r, to, o.verifyTimeoutMs);
    if (!sameVersion(r.stable, to)) {
      r.previous = r.stable;
      r.stable = to;
    }
    if (rollout && canaryLive) {
      rollout.phase = 'rolled-back';
      rollout.weights = weightsFor(0);
      rollout.verdict = rollout.verdict ?? 'fail';
      rollout.headline = `rolled back by hand at step ${rollout.step + 1}`;
    }
    const detail = `${describeVersion(to)} serves 100% of traffic again (verified ${Math.round(elapsedMs)} ms after the rollback started); ${describeVersion(from)} is out of service`;
    decisions.push(logDecision(r, { step: 0, weights: weightsFor(0), action: 'rollback', detail }));
    logHistory(r, { at: new Date().toISOString(), event: 'rollback', from: from?.name ?? null, to: to.name, detail });
    await session.save();
    await retireCanary(target, logger);
    logger.info(detail);
    return { noop: false, headline: detail, stable: to, other: from, record: r, decisions, elapsedMs };
  } finally {
    await session.release().catch(() => undefined);
  }
}
