// Retries with exponential backoff for the failures a registry recovers from: 5xx, 429, timeouts
// and dropped connections. Anything else fails at once.
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledError } from '@ferry/core';

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 500, maxDelayMs: 20_000 };

/** A failure worth another try. */
export class TransientError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransientError';
  }
}

const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'UND_ERR_SOCKET']);

export function isTransient(error: unknown): boolean {
  if (error instanceof TransientError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  // A response cut short ("aborted") or a socket closed under a request.
  const message = error instanceof Error ? error.message : '';
  return /socket hang up|aborted|premature close/i.test(message);
}

export function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return error instanceof CancelledError || (signal?.aborted === true && (error as { name?: string } | null)?.name === 'AbortError');
}

/** Delay before try `failures + 1`: doubling, capped, with jitter so parallel uploads spread out. */
export function backoffDelay(policy: RetryPolicy, failures: number, retryAfterMs?: number): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failures - 1));
  const jittered = exponential / 2 + (Math.random() * exponential) / 2;
  return retryAfterMs === undefined ? jittered : Math.min(policy.maxDelayMs, Math.max(retryAfterMs, jittered));
}

export async function backoff(policy: RetryPolicy, failures: number, signal: AbortSignal | undefined, retryAfterMs?: number): Promise<void> {
  try {
    await sleep(backoffDelay(policy, failures, retryAfterMs), undefined, signal ? { signal } : {});
  } catch (error) {
    if (signal?.aborted) throw new CancelledError();
    throw error;
  }
}
