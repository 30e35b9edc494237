// The small interface every rollout target implements (local router, HAProxy; Kubernetes later):
// point a slot at a version, set and read back the traffic split, and keep the rollout record.
// The engine never assumes a write took effect: it reads the routing back and compares.
import type { StateStore } from '../state/store.js';

/** The two places a version can be served from while a rollout runs. */
export type Slot = 'stable' | 'canary';

export const STRATEGIES = ['canary', 'blue-green', 'ab', 'shadow'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** A version as a target serves it. Plain data: it is stored in the rollout record. */
export interface VersionRef {
  /** Version label: the `version` label of its metrics and the name in the decision log. */
  readonly name: string;
  /** Base URLs of this version's servers (http://127.0.0.1:8001), one per replica. */
  readonly endpoints: readonly string[];
  /** Digest of the model or image, when known (sha256:…). */
  readonly digest?: string;
}

/** Traffic shares in whole percent; stable + canary = 100. */
export interface Weights {
  readonly stable: number;
  readonly canary: number;
}

/**
 * How the split is applied.
 * - weighted: each request goes to a version at random by weight (canary, blue-green).
 * - sticky: a request's header or cookie value picks its version (hashed, so one user stays on
 *   one version; the weights set the share of keys); requests without it go to stable (A/B).
 * - mirror: every response comes from stable; `percent` of requests are also copied to the canary
 *   and its answers are compared, never returned (shadow). Weights are stable 100, canary 0.
 */
export type Routing =
  | { readonly kind: 'weighted' }
  | { readonly kind: 'sticky'; readonly header?: string; readonly cookie?: string }
  | { readonly kind: 'mirror'; readonly percent: number };

/** What the router applies right now, read from the router itself (never remembered). */
export interface LiveRouting {
  readonly weights: Weights;
  readonly routing: Routing;
  /** The endpoints each slot sends to, as the router reports them. */
  readonly endpoints: Readonly<Record<Slot, readonly string[]>>;
  /** The versions the router itself names for its slots, when it knows them (the local router does). */
  readonly versions?: Readonly<Partial<Record<Slot, VersionRef | null>>>;
}

export interface Target {
  /** `local`, `haproxy`, … */
  readonly kind: string;
  /** For messages: "HAProxy backend `models` via /run/haproxy/admin.sock". */
  readonly description: string;
  /** The rollout record lives with the deployment (a file next to the router, annotations). */
  readonly state: StateStore;
  /** True when the target can route `strategy`, else the reason it cannot, in one sentence. */
  supports(strategy: Strategy): true | string;
  /** Points `slot` at `version`'s endpoints. Only ever called for a slot at weight 0. */
  setVersion(slot: Slot, version: VersionRef): Promise<void>;
  /** Applies the split. Weights are whole percent and sum to 100. */
  setRouting(weights: Weights, routing: Routing): Promise<void>;
  /** Reads back what the router applies now. Throws TargetUnavailableError when it cannot be reached. */
  readRouting(): Promise<LiveRouting>;
  /**
   * Optional: called after a promote, a rollback or an abort was verified with all traffic on the
   * stable slot and recorded; the target frees what the canary slot still holds, never moving
   * traffic (gateway-api: the canary Deployment; kserve: the predictor spec goes back to stable's).
   * The next setVersion('canary', …) must work after it. A failure here is only warned about.
   */
  retireCanary?(): Promise<void>;
  /** Releases connections; never changes routing. */
  close(): Promise<void>;
}

/** The router (or its control API) cannot be reached or refused a command: exit 3 territory. */
export class TargetUnavailableError extends Error {
  override readonly name = 'TargetUnavailableError';
}

/** Whole-percent weights for a canary share, checked. */
export function weightsFor(canary: number): Weights {
  if (!Number.isInteger(canary) || canary < 0 || canary > 100) throw new RangeError(`canary weight must be a whole percent in [0, 100], got ${canary}`);
  return { stable: 100 - canary, canary };
}

export function sameWeights(a: Weights, b: Weights): boolean {
  return a.stable === b.stable && a.canary === b.canary;
}
