// What a step gets from its door: a logger with groups and progress, cancellation, and where it runs.
import type { DeploymentLedger } from './ledger.js';

export interface Progress {
  /** Advances to `done` units of `total`. */
  update(done: number, detail?: string): void;
  end(): void;
}

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Runs `fn` inside a collapsible group titled `title`. */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
  /** Starts a progress report for long work measured in `unit` (for example "bytes"). */
  progress(label: string, total: number, unit: 'bytes' | 'items'): Progress;
  /** Masks `value` in everything logged from now on. */
  setSecret(value: string): void;
}

export interface StepContext {
  readonly logger: Logger;
  /** Fires when the job is cancelled; steps stop cleanly and leave stable state. */
  readonly signal: AbortSignal;
  /** Absolute working directory; relative inputs resolve against it. */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where rollout steps mirror what they did for people (GitHub Deployments), when the door has one. */
  readonly ledger?: DeploymentLedger;
}

/** A logger that drops everything, for engine callers that do not want output. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  group: (_title, fn) => fn(),
  progress: () => ({ update: () => undefined, end: () => undefined }),
  setSecret: () => undefined,
};
