// Runs one step the same way for every door: load ferry.yml, resolve inputs, run the engine,
// and turn any failure into one message plus the documented exit code.
import { resolve } from 'node:path';
import {
  errorMessage,
  ExitCode,
  exitCodeOf,
  FerryError,
  InputError,
  loadConfig,
  resolveInputs,
  type DeploymentLedger,
  type Logger,
  type RawInputs,
  type AnyStep,
  type StepDefinition,
  type StepResult,
} from '@ferry/core';

export interface ExecuteOptions {
  readonly raw: RawInputs;
  /** Directory the door was started in; `working-directory` is resolved against it. */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** Deployment records for the rollout steps (GitHub Deployments when the action has a token). */
  readonly ledger?: DeploymentLedger;
}

export type Execution =
  | { readonly ok: true; readonly result: StepResult; readonly exitCode: ExitCode; readonly inputs: Record<string, unknown> }
  | { readonly ok: false; readonly message: string; readonly exitCode: ExitCode; readonly subject?: string };

export function exitCodeForVerdict(result: StepResult): ExitCode {
  return result.verdict === 'pass' ? ExitCode.Pass : ExitCode.JudgedBad;
}

/** Names every secret input's value to the logger before anything else is logged. */
function maskSecrets(def: StepDefinition, raw: RawInputs, logger: Logger): void {
  for (const [name, decl] of Object.entries(def.inputs)) {
    const v = raw.values[name];
    if (decl.secret && typeof v === 'string' && v !== '') logger.setSecret(v);
  }
}

export async function executeStep(step: AnyStep, opts: ExecuteOptions): Promise<Execution> {
  const def = step.definition;
  maskSecrets(def, opts.raw, opts.logger);
  try {
    const wd = typeof opts.raw.values['working-directory'] === 'string' && opts.raw.values['working-directory'] !== '' ? String(opts.raw.values['working-directory']) : '.';
    const cwd = resolve(opts.cwd, wd);
    const configInput = opts.raw.values.config;
    const config = loadConfig(cwd, typeof configInput === 'string' && configInput !== '' ? configInput : undefined);
    if (config.path) opts.logger.info(`settings from ${config.path}`);
    const inputs = resolveInputs(def, opts.raw, config);
    const result = await step.run({ logger: opts.logger, signal: opts.signal, cwd, env: opts.env, ...(opts.ledger ? { ledger: opts.ledger } : {}) }, inputs as never);
    return { ok: true, result, exitCode: exitCodeForVerdict(result), inputs: publicInputs(def, inputs as Record<string, unknown>) };
  } catch (err: unknown) {
    if (opts.signal.aborted && !(err instanceof FerryError)) {
      return { ok: false, message: `${def.name}: cancelled before the step finished`, exitCode: ExitCode.Infrastructure };
    }
    const hint = err instanceof FerryError && err.hint ? ` (${err.hint})` : '';
    const message = `${def.name}: ${errorMessage(err).replace(new RegExp(`^${def.name}: `), '')}${hint}`;
    const subject = err instanceof InputError ? err.subject : undefined;
    return subject === undefined
      ? { ok: false, message, exitCode: exitCodeOf(err) }
      : { ok: false, message, exitCode: exitCodeOf(err), subject };
  }
}

/** Inputs safe to print or store: secrets are dropped. */
export function publicInputs(def: StepDefinition, inputs: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(inputs)) if (!def.inputs[k]?.secret) out[k] = v;
  return out;
}
