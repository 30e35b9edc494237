// The rollout record a target keeps (Principle 4: state lives with the deployment): which version
// is stable, the rollback point, the rollout in progress or last finished, the lease that keeps
// two jobs apart, and the decision log. Plain JSON, versioned by `schema`, read defensively: a
// record we cannot understand is bad input named by its location, never silently replaced.
import { InputError } from '@ferry/core';
import type { Routing, Strategy, VersionRef, Weights } from '../target/types.js';

export const RECORD_SCHEMA = 'ferry-rollout/1';

/** Where a rollout stands. `interrupted`: its job was cancelled; traffic went back to stable and a re-run resumes. */
export type Phase = 'progressing' | 'interrupted' | 'paused' | 'holding' | 'completed' | 'aborted' | 'promoted' | 'rolled-back';

export const FINISHED_PHASES: readonly Phase[] = ['completed', 'aborted', 'promoted', 'rolled-back'];

export interface PlanStep {
  /** Canary share in whole percent. */
  readonly weight: number;
  readonly bakeMs: number;
  /** Stop before this step until someone re-runs the job (an approval between steps). */
  readonly manualGate: boolean;
  /** Judge after baking (false for blue-green's 0% verification when only synthetic load could tell). */
  readonly analyse: boolean;
}

export interface Plan {
  readonly strategy: Strategy;
  readonly steps: readonly PlanStep[];
  readonly routing: Routing;
  /** Blue-green: how long the old version stays ready at 0% after the switch. */
  readonly keepWarmMs: number;
}

export interface DecisionEntry {
  /** ISO time. */
  readonly at: string;
  /** 1-based plan step, 0 outside the steps. */
  readonly step: number;
  readonly weights: Weights;
  readonly action: 'start' | 'set-weights' | 'verified' | 'reapplied' | 'continue' | 'extend' | 'abort' | 'inconclusive' | 'hold' | 'pause' | 'resume' | 'interrupt' | 'complete' | 'promote' | 'rollback' | 'analysis-unavailable';
  readonly detail: string;
}

export interface LookSummary {
  readonly step: number;
  readonly look: number;
  readonly extension: number;
  readonly decision: string;
  readonly headline: string;
  readonly at: string;
}

export interface ActiveRollout {
  readonly id: string;
  readonly canary: VersionRef;
  readonly plan: Plan;
  phase: Phase;
  /** 0-based index of the plan step reached. */
  step: number;
  weights: Weights;
  /** Epoch ms the canary first took traffic (the judge's windows start here). */
  startedAt: number;
  /** Epoch ms the current step's bake ends (extensions move it). */
  bakeUntil: number | null;
  extensions: number;
  looks: LookSummary[];
  verdict: 'pass' | 'fail' | 'inconclusive' | null;
  headline: string | null;
  /** Decision to verified 100% stable, when the rollout was aborted. */
  rollbackMs: number | null;
}

export interface Lease {
  /** Who holds it: "host:pid" plus the CI job when there is one. */
  readonly holder: string;
  readonly host: string;
  readonly pid: number;
  readonly acquiredAt: string;
  /** Epoch ms. */
  readonly expiresAt: number;
}

export interface HistoryEntry {
  readonly at: string;
  readonly event: 'promote' | 'rollback';
  readonly from: string | null;
  readonly to: string;
  readonly detail: string;
}

export interface RolloutRecord {
  readonly schema: typeof RECORD_SCHEMA;
  readonly environment: string;
  stable: VersionRef | null;
  /** The rollback point: the stable version before the last promotion. */
  previous: VersionRef | null;
  rollout: ActiveRollout | null;
  lease: Lease | null;
  decisions: DecisionEntry[];
  history: HistoryEntry[];
}

/** Decision log entries kept in the record (the oldest go first; the report keeps the whole run). */
const MAX_DECISIONS = 500;
const MAX_HISTORY = 50;

export function emptyRecord(environment: string): RolloutRecord {
  return { schema: RECORD_SCHEMA, environment, stable: null, previous: null, rollout: null, lease: null, decisions: [], history: [] };
}

export function parseRecord(data: unknown, location: string): RolloutRecord {
  const r = data as Partial<RolloutRecord> | null;
  if (typeof r !== 'object' || r === null || r.schema !== RECORD_SCHEMA) {
    throw new InputError(`the rollout record at ${location} is not a ${RECORD_SCHEMA} record (schema ${JSON.stringify((r as { schema?: unknown } | null)?.schema)})`, {
      subject: location,
      hint: 'it was written by another tool or a newer Ferry; move it aside only if no rollout is running',
    });
  }
  if (!Array.isArray(r.decisions) || !Array.isArray(r.history)) throw new InputError(`the rollout record at ${location} lacks its decision log`, { subject: location });
  return r as RolloutRecord;
}

export function logDecision(record: RolloutRecord, entry: Omit<DecisionEntry, 'at'>, now = Date.now()): DecisionEntry {
  const full: DecisionEntry = { at: new Date(now).toISOString(), ...entry };
  record.decisions.push(full);
  if (record.decisions.length > MAX_DECISIONS) record.decisions.splice(0, record.decisions.length - MAX_DECISIONS);
  return full;
}

export function logHistory(record: RolloutRecord, entry: HistoryEntry): void {
  record.history.push(entry);
  if (record.history.length > MAX_HISTORY) record.history.splice(0, record.history.length - MAX_HISTORY);
}

export function sameVersion(a: VersionRef | null | undefined, b: VersionRef | null | undefined): boolean {
  if (!a || !b) return false;
  return a.name === b.name && (a.digest ?? '') === (b.digest ?? '') && a.endpoints.join(' ') === b.endpoints.join(' ');
}

export function describeVersion(v: VersionRef | null | undefined): string {
  if (!v) return '(none)';
  return v.digest ? `${v.name} (${v.digest.slice(0, 19)})` : v.name;
}
