// One job's hold on a target's rollout record: read it, take the lease, write it back with
// compare-and-set. The lease keeps a second job off a target while one is moving traffic; it
// expires unless renewed, and one left by a process that died on this machine is stale at once,
// so a killed job can be re-run straight away.
import { hostname } from 'node:os';
import { InfrastructureError, InputError } from '@ferry/core';
import { pidRunning, StateConflictError, type StateStore } from '../state/store.js';
import type { Target } from '../target/types.js';
import { emptyRecord, parseRecord, type Lease, type RolloutRecord } from './record.js';

export const DEFAULT_LEASE_TTL_MS = 60_000;

export interface SessionOptions {
  readonly environment: string;
  /** CI job identity added to the holder name ("github run 123 job deploy"). */
  readonly job?: string;
  readonly leaseTtlMs?: number;
  /** Take the lease even from a live holder (rollback: the emergency path wins). */
  readonly takeOver?: boolean;
}

/** The record changed hands under us (another job took over, or rolled back): stop moving traffic. */
export class SupersededError extends InfrastructureError {
  constructor(message: string) {
    super(message, { service: 'rollout state' });
  }
}

/** Why a lease still counts, or null when it may be taken. */
export function leaseHeld(lease: Lease | null, now = Date.now()): string | null {
  if (!lease) return null;
  if (lease.expiresAt <= now) return null;
  if (lease.host === hostname() && !pidRunning(lease.pid)) return null;
  return `${lease.holder} holds it since ${lease.acquiredAt} (expires ${new Date(lease.expiresAt).toISOString()} unless renewed)`;
}

export class RolloutSession {
  record: RolloutRecord;
  private revision: number;
  private readonly store: StateStore;
  readonly holder: string;
  private readonly ttlMs: number;
  private held = false;

  private constructor(
    readonly target: Target,
    record: RolloutRecord,
    revision: number,
    readonly options: SessionOptions,
  ) {
    this.store = target.state;
    this.record = record;
    this.revision = revision;
    this.ttlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
    this.holder = `${hostname()}:${process.pid}${options.job ? ` (${options.job})` : ''}`;
  }

  static async open(target: Target, options: SessionOptions): Promise<RolloutSession> {
    const stored = await readStore(target);
    const record = stored ? parseRecord(stored.data, target.state.location) : emptyRecord(options.environment);
    if (stored && record.environment !== options.environment) {
      throw new InputError(`${target.description} serves environment "${record.environment}", not "${options.environment}"`, {
        subject: 'environment',
        hint: 'each environment needs its own router or state file',
      });
    }
    return new RolloutSession(target, record, stored?.revision ?? 0, options);
  }

  /** Takes the lease, or refuses with who holds it. */
  async acquire(step: string): Promise<void> {
    const held = leaseHeld(this.record.lease);
    if (held && !this.options.takeOver) {
      throw new InputError(`another rollout job is working on ${this.target.description}: ${held}; ${step} refuses to run beside it`, {
        subject: 'target',
        hint: 'wait for it to finish, or cancel it (a cancelled job hands the lease back); a killed job\'s lease expires on its own',
      });
    }
    this.record.lease = this.newLease();
    await this.save();
    this.held = true;
  }

  /** Extends the lease; call at least every ttl/3 while working. */
  async renew(): Promise<void> {
    if (!this.held) return;
    this.record.lease = this.newLease(this.record.lease?.acquiredAt);
    await this.save();
  }

  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    this.record.lease = null;
    await this.save();
  }

  /** Writes the record; a conflict means another job wrote it: re-read and stop if the lease is no longer ours. */
  async save(): Promise<void> {
    try {
      this.revision = await this.store.write(this.record, this.revision);
    } catch (error) {
      if (!(error instanceof StateConflictError)) throw wrapStoreError(this.target, error);
      const fresh = await readStore(this.target);
      const record = fresh ? parseRecord(fresh.data, this.store.location) : null;
      if (!record || record.lease?.holder !== this.holder) {
        throw new SupersededError(`the rollout record at ${this.store.location} was changed by ${record?.lease?.holder ?? 'another job'} while this job held it; this job stops without moving traffic`);
      }
      // Our own lease, a stale revision (a retried write that did land): write over it once.
      this.revision = fresh!.revision;
      this.revision = await this.store.write(this.record, this.revision).catch((e: unknown) => {
        throw wrapStoreError(this.target, e);
      });
    }
  }

  private newLease(acquiredAt?: string): Lease {
    return { holder: this.holder, host: hostname(), pid: process.pid, acquiredAt: acquiredAt ?? new Date().toISOString(), expiresAt: Date.now() + this.ttlMs };
  }
}

async function readStore(target: Target): Promise<{ data: unknown; revision: number } | null> {
  try {
    return await target.state.read();
  } catch (error) {
    throw wrapStoreError(target, error);
  }
}

function wrapStoreError(target: Target, error: unknown): Error {
  if (error instanceof InputError || error instanceof InfrastructureError || error instanceof StateConflictError) return error;
  if ((error as Error).name === 'StateCorruptError') return new InputError((error as Error).message, { subject: target.state.location });
  if ((error as Error).name === 'TargetUnavailableError') return new InfrastructureError((error as Error).message, { service: target.kind, cause: error });
  return new InfrastructureError(`cannot read or write the rollout record at ${target.state.location}: ${(error as Error).message}`, { service: target.kind, cause: error });
}
