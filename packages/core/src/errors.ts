// Typed failures of the engine. Each carries the exit-code class, so the one failure boundary
// in each door (action, CLI) can print one clear message and exit with the documented code.

/** Documented exit codes, the same for every door. */
export const ExitCode = {
  /** The step passed. */
  Pass: 0,
  /** A gate or an analysis judged the model or the canary bad (policy). */
  JudgedBad: 1,
  /** Bad input or configuration: the message names the input, key or file. */
  BadInput: 2,
  /** Infrastructure failed after retries (registry, cluster, metrics backend), or the job was cancelled. */
  Infrastructure: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorClass = 'input' | 'infrastructure' | 'policy' | 'cancelled';

export abstract class FerryError extends Error {
  abstract readonly errorClass: ErrorClass;
  abstract readonly exitCode: ExitCode;
  /** A short hint on how to fix it, shown after the message. */
  readonly hint: string | undefined;
  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options?.hint;
  }
}

/** Bad input, configuration or file. `subject` names the input, key or file at fault. */
export class InputError extends FerryError {
  readonly errorClass = 'input' as const;
  readonly exitCode = ExitCode.BadInput;
  readonly subject: string | undefined;
  constructor(message: string, options?: { subject?: string; cause?: unknown; hint?: string }) {
    super(message, options);
    this.subject = options?.subject;
  }
}

/** A service or the machine failed after retries. */
export class InfrastructureError extends FerryError {
  readonly errorClass = 'infrastructure' as const;
  readonly exitCode = ExitCode.Infrastructure;
  readonly service: string | undefined;
  constructor(message: string, options?: { service?: string; cause?: unknown; hint?: string }) {
    super(message, options);
    this.service = options?.service;
  }
}

/** A policy stopped the step outright (used where no structured result can be produced). */
export class PolicyError extends FerryError {
  readonly errorClass = 'policy' as const;
  readonly exitCode = ExitCode.JudgedBad;
}

/** The job was cancelled (signal or AbortSignal); work stopped cleanly. */
export class CancelledError extends FerryError {
  readonly errorClass = 'cancelled' as const;
  readonly exitCode = ExitCode.Infrastructure;
  constructor(message = 'cancelled before the step finished') {
    super(message);
  }
}

/** Formats anything thrown into one line of text. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause;
    const base = err.message || err.name;
    if (cause instanceof Error && cause.message && !base.includes(cause.message)) {
      return `${base}: ${cause.message}`;
    }
    return base;
  }
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

/** The exit code an error maps to; unknown errors are infrastructure failures, never a pass. */
export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof FerryError) return err.exitCode;
  if (err instanceof Error && err.name === 'AbortError') return ExitCode.Infrastructure;
  return ExitCode.Infrastructure;
}

/** Throws CancelledError when the signal has fired; call it between units of work. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}
