// Moving traffic and proving it moved: every change is read back from the router until it shows
// the split asked for. A router that never shows it is an infrastructure failure, not a guess.
import { InfrastructureError, InputError } from '@ferry/core';
import { sameWeights, TargetUnavailableError, weightsFor, type LiveRouting, type Routing, type Slot, type Target, type VersionRef, type Weights } from '../target/types.js';

export const DEFAULT_VERIFY_TIMEOUT_MS = 10_000;

export function sameRouting(a: Routing, b: Routing): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'sticky' && b.kind === 'sticky') return (a.header ?? '') === (b.header ?? '') && (a.cookie ?? '') === (b.cookie ?? '');
  if (a.kind === 'mirror' && b.kind === 'mirror') return a.percent === b.percent;
  return true;
}

export function routingMatches(live: LiveRouting, weights: Weights, routing: Routing): boolean {
  return sameWeights(live.weights, weights) && sameRouting(live.routing, routing);
}

export function describeWeights(w: Weights): string {
  return `stable ${w.stable}% / canary ${w.canary}%`;
}

export async function readRouting(target: Target): Promise<LiveRouting> {
  try {
    return await target.readRouting();
  } catch (error) {
    throw infra(target, 'read the routing back from', error);
  }
}

function infra(target: Target, what: string, error: unknown): InfrastructureError | InputError {
  // A target that finds its configuration wrong (a missing object, an unsupported mode) says so: exit 2.
  if (error instanceof InfrastructureError || error instanceof InputError) return error;
  const message = (error as Error).message;
  return new InfrastructureError(`could not ${what} ${target.description}: ${message}`, {
    service: target.kind,
    cause: error,
    ...(error instanceof TargetUnavailableError ? { hint: 'check that the router is running and its control address is right' } : {}),
  });
}

/**
 * Applies the split and polls the router until it reports it; returns the milliseconds from the
 * call to the verified read. Throws InfrastructureError when it is not live within the timeout.
 */
export async function applyAndVerify(target: Target, weights: Weights, routing: Routing, timeoutMs = DEFAULT_VERIFY_TIMEOUT_MS): Promise<number> {
  const start = performance.now();
  try {
    await target.setRouting(weights, routing);
  } catch (error) {
    throw infra(target, `set ${describeWeights(weights)} on`, error);
  }
  let live: LiveRouting | undefined;
  let lastError: unknown;
  let delay = 25;
  while (performance.now() - start < timeoutMs) {
    try {
      live = await target.readRouting();
      if (routingMatches(live, weights, routing)) return performance.now() - start;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 500);
  }
  const seen = live ? describeWeights(live.weights) : `nothing (${(lastError as Error | undefined)?.message ?? 'no answer'})`;
  throw new InfrastructureError(`${target.description} did not show ${describeWeights(weights)} within ${Math.round(timeoutMs / 1000)} s; it reports ${seen}`, { service: target.kind });
}

export async function setSlotVersion(target: Target, slot: Slot, version: VersionRef): Promise<void> {
  try {
    await target.setVersion(slot, version);
  } catch (error) {
    if (error instanceof TargetUnavailableError) throw infra(target, `point the ${slot} slot at ${version.name} on`, error);
    throw error;
  }
}

/** Whether the router sends `slot` to exactly `version`'s endpoints. */
export function slotServes(live: LiveRouting, slot: Slot, version: VersionRef): boolean {
  return live.endpoints[slot].join(' ') === version.endpoints.join(' ');
}

/**
 * Points the canary slot at `version`. A slot only changes while it carries nothing, so any canary
 * traffic (or mirroring) goes back to plain stable first, verified.
 */
export async function pointCanaryAt(target: Target, version: VersionRef, live: LiveRouting, timeoutMs: number | undefined): Promise<void> {
  if (live.weights.canary !== 0 || live.routing.kind !== 'weighted') await applyAndVerify(target, weightsFor(0), { kind: 'weighted' }, timeoutMs);
  await setSlotVersion(target, 'canary', version);
}
