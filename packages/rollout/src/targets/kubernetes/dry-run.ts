// Dry runs of the Kubernetes targets: the objects a step would apply (or delete), sent through
// server-side apply with dryRun=All so the API server validates them (schema, RBAC, admission)
// without storing anything, and shown as a diff against the live objects, as `kubectl diff` does.
import { InputError } from '@ferry/core';
import { stringify } from 'yaml';
import { TargetUnavailableError, type Target, type VersionRef, type Weights } from '../../target/types.js';
import { KubeApiError, type KubeClient, type KubeObject } from './client.js';

/** What a step would do to the target, decided from its inputs and the rollout record. */
export type PlannedMove =
  /** canary-deploy: the canary slot runs `canary`, then the route moves to the first step's weights. */
  | { readonly step: 'canary-deploy'; readonly canary: VersionRef; readonly weights: Weights }
  /** promote: the stable slot runs `to` (the canary's version), and all traffic goes back to stable. */
  | { readonly step: 'promote'; readonly to: VersionRef }
  /** rollback: the stable slot runs `to` (the rollback version), and all traffic goes back to stable. */
  | { readonly step: 'rollback'; readonly to: VersionRef };

/** One change: an object applied (server-side apply under `ferry`) or deleted. */
export type PlannedChange =
  | { readonly path: string; readonly object: KubeObject }
  | { readonly path: string; readonly delete: true; readonly kind: string; readonly name: string };

/** A Kubernetes target that can say, without changing anything, which objects a move applies. */
export interface DryRunnable {
  readonly description: string;
  readonly client: KubeClient;
  /** The end state of `move`, as the objects the target would apply or delete; may read live objects. */
  plannedObjects(move: PlannedMove): Promise<PlannedChange[]>;
}

export function isDryRunnable(target: Target): target is Target & DryRunnable {
  return typeof (target as Partial<DryRunnable>).plannedObjects === 'function' && (target as Partial<DryRunnable>).client !== undefined;
}

export interface DryRunChange {
  /** "Deployment default/classifier-canary". */
  readonly object: string;
  readonly action: 'create' | 'update' | 'unchanged' | 'delete' | 'absent';
  /** Unified-style diff of the YAML, live → would-be ("+" lines only for a new object). */
  readonly diff: string;
}

export interface DryRunPlan {
  readonly changes: readonly DryRunChange[];
  /** The whole plan as text, for the log and the job summary. */
  readonly text: string;
}

/** Fields the API server owns; they would only make every diff noisy. */
const SERVER_FIELDS = ['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp', 'selfLink'];

/** The object as a person compares it: server-owned metadata and status left out, as YAML. */
export function comparableYaml(object: KubeObject | null): string {
  if (object === null) return '';
  const metadata: Record<string, unknown> = { ...object.metadata };
  for (const field of SERVER_FIELDS) delete metadata[field];
  const annotations = { ...((metadata.annotations as Record<string, string> | undefined) ?? {}) };
  delete annotations['deployment.kubernetes.io/revision'];
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  else delete metadata.annotations;
  const { status: _status, ...rest } = object;
  return stringify({ ...rest, metadata }, { sortMapEntries: true, lineWidth: 0 });
}

/** A unified-style line diff (longest common subsequence), with `context` unchanged lines around each change. */
export function unifiedDiff(before: string, after: string, context = 3): string {
  const a = before === '' ? [] : before.replace(/\n$/, '').split('\n');
  const b = after === '' ? [] : after.replace(/\n$/, '').split('\n');
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const lines: { op: ' ' | '-' | '+'; text: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      lines.push({ op: ' ', text: a[i]! });
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      lines.push({ op: '-', text: a[i]! });
      i++;
    } else {
      lines.push({ op: '+', text: b[j]! });
      j++;
    }
  }
  const keep = lines.map((l, k) => l.op !== ' ' || lines.slice(Math.max(0, k - context), k + context + 1).some((x) => x.op !== ' '));
  const out: string[] = [];
  let skipped = false;
  lines.forEach((l, k) => {
    if (keep[k]) {
      if (skipped && out.length > 0) out.push('@@ … @@');
      skipped = false;
      out.push(`${l.op} ${l.text}`);
    } else skipped = true;
  });
  return out.join('\n');
}

function nameOf(object: KubeObject): string {
  return `${object.kind ?? 'object'} ${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name}`;
}

/**
 * Sends each planned object through server-side apply with dryRun=All (the API server validates
 * it and answers with the object it would store) and diffs that against the live object. Nothing
 * is written. API errors (403 from RBAC, 422 from the schema) are thrown as KubeApiError for the
 * target to map, with `what` saying which object.
 */
export async function dryRun(target: DryRunnable, move: PlannedMove): Promise<DryRunPlan> {
  const changes: DryRunChange[] = [];
  for (const change of await target.plannedObjects(move)) {
    const what = 'delete' in change ? `${change.kind} ${change.name}` : nameOf(change.object);
    try {
      changes.push(await dryRunOne(target, change));
    } catch (error) {
      throw explain(target, what, error);
    }
  }
  return { changes, text: renderDryRun(target.description, move, changes) };
}

/** API errors as the steps report them: refused credentials and invalid objects are input (exit 2). */
function explain(target: DryRunnable, what: string, error: unknown): Error {
  if (!(error instanceof KubeApiError)) return error as Error;
  if (error.status === 401 || error.status === 403) {
    return new InputError(`dry run of ${target.description}: the API server refused ${what}: ${error.message}`, { subject: 'kubeconfig', hint: 'the kubeconfig\'s user or service account needs the Role in the README' });
  }
  if (error.status === 422 || error.status === 400 || error.reason === 'Invalid') return new InputError(`dry run of ${target.description}: the API server refused ${what}: ${error.message}`, { subject: 'target' });
  return new TargetUnavailableError(`dry run of ${target.description}: could not check ${what}: ${error.message}`);
}

async function dryRunOne(target: DryRunnable, change: PlannedChange): Promise<DryRunChange> {
  {
    const live = await target.client.get(change.path);
    if ('delete' in change) {
      const object = `${change.kind} ${change.name}`;
      if (live === null) return { object, action: 'absent', diff: '' };
      // A dry-run delete checks the right to delete it without deleting.
      await target.client.request('DELETE', change.path, { query: { dryRun: 'All' } });
      return { object, action: 'delete', diff: unifiedDiff(comparableYaml(live), '', 0) };
    }
    const would = await target.client.apply(change.path, change.object, { force: true, dryRun: true });
    const before = comparableYaml(live);
    const after = comparableYaml(would);
    const action = live === null ? 'create' : before === after ? 'unchanged' : 'update';
    return { object: nameOf(change.object), action, diff: action === 'unchanged' ? '' : unifiedDiff(before, after) };
  }
}

function describeMove(move: PlannedMove): string {
  switch (move.step) {
    case 'canary-deploy':
      return `canary-deploy would run ${move.canary.name} in the canary slot and move the route to stable ${move.weights.stable}% / canary ${move.weights.canary}% (the first step)`;
    case 'promote':
      return `promote would run ${move.to.name} in the stable slot and send all traffic to it`;
    case 'rollback':
      return `rollback would run ${move.to.name} in the stable slot and send all traffic to it`;
  }
}

export function renderDryRun(description: string, move: PlannedMove, changes: readonly DryRunChange[]): string {
  const out = [`dry run on ${description}: ${describeMove(move)}; nothing was changed.`];
  for (const c of changes) {
    out.push('', `${c.object}: ${c.action === 'absent' ? 'absent, nothing to delete' : c.action}`);
    if (c.diff) out.push(c.diff);
  }
  return out.join('\n');
}

