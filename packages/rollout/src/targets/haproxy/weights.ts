// Turns a whole-percent split into HAProxy server weights (0–256 each) and back. HAProxy shares
// a backend's requests in proportion to its servers' weights, so the split is exact when the
// slots' weight totals stand in the ratio of the percents.
import { InputError } from '@ferry/core';
import type { Slot, Weights } from '../../target/types.js';

export const MAX_SERVER_WEIGHT = 256;

export type SlotWeights = Readonly<Record<Slot, readonly number[]>>;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** `total` spread over `count` servers, the first ones taking one more when it does not divide. */
function spread(total: number, count: number): number[] {
  const base = Math.floor(total / count);
  return Array.from({ length: count }, (_, i) => base + (i < total % count ? 1 : 0));
}

/**
 * Server weights for `weights` over `servers` servers per slot. With one server per slot the
 * weight is the percent itself (an operator reading `get weight` sees the split). Otherwise the
 * slot totals are the smallest multiple of the reduced ratio that gives every server of a slot
 * the same weight; failing that, one where they differ by one. Every server of a slot that takes
 * traffic gets at least 1, so no replica sits idle; where 0–256 cannot hold that, it is refused.
 */
export function serverWeightsFor(weights: Weights, servers: Readonly<Record<Slot, number>>): SlotWeights {
  const { stable, canary } = weights;
  if (!Number.isInteger(stable) || !Number.isInteger(canary) || stable < 0 || canary < 0 || stable + canary !== 100) {
    throw new InputError(`weights must be whole percents that sum to 100, got stable ${stable} + canary ${canary}`, { subject: 'weights' });
  }
  for (const slot of ['stable', 'canary'] as const) {
    if (!Number.isInteger(servers[slot]) || servers[slot] < 1) throw new RangeError(`slot ${slot} needs at least one server, got ${servers[slot]}`);
  }
  const g = gcd(stable, canary);
  const ratio = { stable: stable / g, canary: canary / g };
  const fits = (k: number) => ratio.stable * k <= MAX_SERVER_WEIGHT * servers.stable && ratio.canary * k <= MAX_SERVER_WEIGHT * servers.canary;
  const feasible = (k: number) => (ratio.stable === 0 || ratio.stable * k >= servers.stable) && (ratio.canary === 0 || ratio.canary * k >= servers.canary);
  const even = (k: number) => (ratio.stable * k) % servers.stable === 0 && (ratio.canary * k) % servers.canary === 0;
  const at = (k: number): SlotWeights => ({ stable: spread(ratio.stable * k, servers.stable), canary: spread(ratio.canary * k, servers.canary) });

  // k = g makes the slot totals the percents themselves: the most readable choice where it is exact.
  if (feasible(g) && even(g)) return at(g);
  let uneven: number | undefined;
  for (let k = 1; fits(k); k++) {
    if (!feasible(k)) continue;
    if (even(k)) return at(k);
    uneven ??= k;
  }
  if (uneven !== undefined) return at(uneven);
  throw new InputError(
    `cannot split stable ${stable}% / canary ${canary}% over ${servers.stable} stable and ${servers.canary} canary server(s): ` +
      `every server of a slot needs a weight of at least 1 and at most ${MAX_SERVER_WEIGHT}, and no such weights stand in that ratio`,
    { subject: 'weights', hint: 'use a coarser step (a canary percent that divides more evenly) or fewer servers in the smaller slot' },
  );
}

/**
 * Whole-percent shares of two weight totals. A share that is not zero is never rounded to zero
 * (nor a share short of everything up to 100): a rollback verified as "canary 0" must mean the
 * canary gets no requests at all, not 0.4 % of them.
 */
export function sharesOf(totals: Readonly<Record<Slot, number>>): Weights {
  const sum = totals.stable + totals.canary;
  if (sum <= 0) throw new RangeError('no weight in either slot: there is no split to report');
  let canary = Math.round((100 * totals.canary) / sum);
  if (canary === 0 && totals.canary > 0) canary = 1;
  if (canary === 100 && totals.stable > 0) canary = 99;
  return { stable: 100 - canary, canary };
}
