// One candidate through the chain validate → build → benchmark → canary → promote, each step run
// in this process through the same executeStep path as `ferry <step>`. ferry.yml's step sections
// supply the policy; this file supplies only what the pipeline knows (paths, endpoints, the router,
// the digest built) and the embedded local defaults for settings the file leaves out.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { errorMessage, ExitCode, exitCodeOf, type FerryConfig, type Logger, type PipelineCandidate, type RawValue, type StepName, type StepResult } from '@ferry/core';
import { executeStep, type Execution } from '@ferry/platform';
import { LocalDeployment, serveCommand } from './pipeline-local.js';
import { STEPS } from './steps.js';

export type Outcome = 'promoted' | 'rejected' | 'bad-input' | 'infrastructure' | 'cancelled';

export interface StepRecord {
  readonly step: StepName;
  /** The step's verdict, or `error` when it could not finish (then exitCode says why). */
  readonly verdict: 'pass' | 'fail' | 'inconclusive' | 'error';
  readonly exitCode: ExitCode;
  readonly headline: string;
  readonly durationMs: number;
  /** Inputs as resolved (file, pipeline and defaults merged), secrets left out. */
  readonly inputs?: Record<string, unknown>;
  readonly result?: StepResult;
}

export interface CandidateRun {
  readonly candidate: string;
  readonly version: string;
  readonly modelPath?: string;
  readonly outcome: Outcome;
  readonly exitCode: ExitCode;
  /** The step that decided a rejection or failed; absent when promoted. */
  readonly stoppedAt?: StepName;
  readonly reason: string;
  readonly expect?: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly deployment: {
    readonly kind: 'local' | 'configured';
    readonly routerUrl?: string;
    readonly adminUrl?: string;
    readonly stable: { readonly version: string; readonly endpoints: readonly string[] };
    readonly candidate: { readonly version: string; readonly endpoints: readonly string[] };
  };
  readonly steps: readonly StepRecord[];
  /** benchmark-on-gpu-runner's results file as written: load figures with histograms, server start. */
  readonly benchmark?: unknown;
  readonly canary?: {
    readonly phase: string;
    readonly finalWeights: Record<string, number>;
    /** The decision log: weight changes, bakes, looks, rollback. */
    readonly decisions: readonly { at: string; step: number; canary: number; action: string; detail: string }[];
    /** The judge at every look: each metric with its interval, test, samples and outcome. */
    readonly looks: unknown;
    readonly rollbackMs?: number;
  };
  readonly image?: { readonly digest: string; readonly output: string; readonly image: string };
}

export interface RunContext {
  readonly cwd: string;
  readonly configPath: string;
  readonly config: FerryConfig;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** Absolute report directory; this candidate's files go in <reportDir>/<candidate>/. */
  readonly reportDir: string;
  /** Say what is happening, one line per phase. */
  progress(line: string): void;
  /** Called with the local deployment of a finished run; true keeps it running (the caller stops it). */
  readonly keepServing?: (deployment: LocalDeployment) => boolean;
}

const ORDER: readonly StepName[] = ['validate-model', 'build-serving-image', 'benchmark-on-gpu-runner', 'canary-deploy', 'promote'];

function outcomeOf(code: ExitCode, cancelled: boolean): Outcome {
  if (cancelled) return 'cancelled';
  return code === ExitCode.JudgedBad ? 'rejected' : code === ExitCode.BadInput ? 'bad-input' : code === ExitCode.Infrastructure ? 'infrastructure' : 'promoted';
}

/** True when ferry.yml sets `key` for `step`, under the step or in defaults. */
function fileSets(config: FerryConfig, step: StepName, key: string): boolean {
  return config.steps[step]?.[key] !== undefined || config.defaults[key] !== undefined;
}

/** Where the rollout happens: set once under canary-deploy, and used by promote and rollback too. */
const TARGET_KEYS = ['target', 'environment', 'router-url', 'haproxy-runtime', 'haproxy-backend', 'state-file', 'environment-url'] as const;

/** The target settings of canary-deploy in ferry.yml, for promote and rollback where their own sections leave them out. */
function targetSettings(config: FerryConfig, step: 'promote' | 'rollback'): Record<string, RawValue> {
  const out: Record<string, RawValue> = {};
  for (const key of TARGET_KEYS) {
    const value = config.steps['canary-deploy']?.[key];
    if (value !== undefined && config.steps[step]?.[key] === undefined) out[key] = value;
  }
  return out;
}

/** Values ferry.yml left out, from the embedded defaults; the file always wins. */
function defaultsFor(config: FerryConfig, step: StepName, values: Record<string, RawValue>): Record<string, RawValue> {
  return Object.fromEntries(Object.entries(values).filter(([k]) => !fileSets(config, step, k)));
}

function parseJson<T>(text: string | undefined, fallback: T): T {
  try {
    return text ? (JSON.parse(text) as T) : fallback;
  } catch {
    return fallback;
  }
}

export async function runCandidate(ctx: RunContext, candidate: PipelineCandidate): Promise<CandidateRun> {
  const pipeline = ctx.config.pipeline!;
  const started = Date.now();
  const steps: StepRecord[] = [];
  const dir = join(ctx.reportDir, candidate.name);
  const modelPath = candidate.modelPath === undefined ? undefined : resolve(ctx.cwd, candidate.modelPath);
  const stablePath = pipeline.stable.modelPath === undefined ? undefined : resolve(ctx.cwd, pipeline.stable.modelPath);
  const canarySettings = ctx.config.steps['canary-deploy'] ?? {};
  const target = String(canarySettings.target ?? ctx.config.defaults.target ?? 'local');
  // The embedded deployment unless the file points the rollout at a router or target of its own.
  const local = target === 'local' && !fileSets(ctx.config, 'canary-deploy', 'router-url');
  const deployment = local ? new LocalDeployment(pipeline.modelName, ctx.logger) : undefined;
  let stableEndpoints = [...pipeline.stable.endpoints];
  let candidateEndpoints = [...candidate.endpoints];
  let benchmark: unknown;
  let canary: CandidateRun['canary'];
  let image: CandidateRun['image'];

  const run = async (step: StepName, values: Record<string, RawValue>): Promise<Execution> => {
    ctx.progress(`${candidate.name}: ${step} …`);
    const t0 = performance.now();
    const execution = await executeStep(STEPS[step], {
      raw: { platform: 'cli', values: { ...values, 'working-directory': ctx.cwd, config: ctx.configPath }, describe: (n) => `${step}.${n} (set by ferry pipeline)` },
      cwd: ctx.cwd,
      env: ctx.env,
      logger: ctx.logger,
      signal: ctx.signal,
    });
    const durationMs = performance.now() - t0;
    const record: StepRecord = execution.ok
      ? { step, verdict: execution.result.verdict, exitCode: execution.exitCode, headline: execution.result.headline, durationMs, inputs: execution.inputs, result: execution.result }
      : { step, verdict: 'error', exitCode: execution.exitCode, headline: execution.message, durationMs };
    steps.push(record);
    ctx.progress(`${candidate.name}: ${step} ${record.verdict === 'error' ? `error (exit ${record.exitCode})` : record.verdict} in ${(durationMs / 1000).toFixed(1)} s: ${record.headline}`);
    return execution;
  };

  const finish = (exitCode: ExitCode, reason: string, stoppedAt?: StepName): CandidateRun => ({
    candidate: candidate.name,
    version: candidate.version,
    ...(candidate.modelPath !== undefined ? { modelPath: candidate.modelPath } : {}),
    outcome: outcomeOf(exitCode, ctx.signal.aborted),
    exitCode: ctx.signal.aborted ? ExitCode.Infrastructure : exitCode,
    ...(stoppedAt ? { stoppedAt } : {}),
    reason: ctx.signal.aborted ? `cancelled during ${stoppedAt ?? 'the pipeline'}: ${reason}` : reason,
    ...(candidate.expect ? { expect: candidate.expect } : {}),
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    deployment: {
      kind: local ? 'local' : 'configured',
      ...(deployment?.routerUrl ? { routerUrl: deployment.routerUrl, adminUrl: deployment.adminUrl! } : {}),
      stable: { version: pipeline.stable.version, endpoints: stableEndpoints },
      candidate: { version: candidate.version, endpoints: candidateEndpoints },
    },
    steps,
    ...(benchmark !== undefined ? { benchmark } : {}),
    ...(canary ? { canary } : {}),
    ...(image ? { image } : {}),
  });

  /** A step that did not pass ends the run: its exit code and headline say why. */
  const stop = (step: StepName, e: Execution): CandidateRun => finish(e.exitCode, e.ok ? e.result.headline : e.message, step);

  if (!local && candidateEndpoints.length === 0) {
    // Found before any step runs: the configured target serves only what is already running.
    return finish(ExitCode.BadInput, `${ctx.configPath}: pipeline.candidates.${candidate.name} needs endpoints (the candidate's running servers) for the canary on target ${target}; only the embedded local deployment starts servers itself`);
  }
  try {
    // 1. validate-model
    if (modelPath !== undefined) {
      const v = await run('validate-model', { 'model-path': modelPath });
      if (!v.ok || v.exitCode !== ExitCode.Pass) return stop('validate-model', v);

      // 2. build-serving-image: by default an OCI layout directory, no registry.
      const b = await run('build-serving-image', {
        'model-path': modelPath,
        ...defaultsFor(ctx.config, 'build-serving-image', {
          'model-name': pipeline.modelName,
          'model-version': candidate.version,
          ...(fileSets(ctx.config, 'build-serving-image', 'image') ? {} : { output: join(dir, 'image'), 'base-image': 'scratch' }),
        }),
      });
      if (!b.ok || b.exitCode !== ExitCode.Pass) return stop('build-serving-image', b);
      image = { digest: b.result.outputs.digest ?? '', output: String(b.inputs.output ?? ''), image: b.result.outputs.image ?? '' };
    }
    if (ctx.signal.aborted) return finish(ExitCode.Infrastructure, 'cancelled');

    // 3. benchmark-on-gpu-runner: the candidate's own server, started and stopped by the step.
    const serverSet = ['endpoint', 'image', 'command'].some((k) => fileSets(ctx.config, 'benchmark-on-gpu-runner', k));
    const server: Record<string, RawValue> = serverSet ? {} : candidateEndpoints.length > 0 ? { endpoint: candidateEndpoints[0]! } : { command: serveCommand(modelPath!, pipeline.modelName, candidate.version) };
    const results = join(dir, 'benchmark.json');
    const m = await run('benchmark-on-gpu-runner', { ...server, ...defaultsFor(ctx.config, 'benchmark-on-gpu-runner', { 'model-name': pipeline.modelName, results }) });
    const resultsPath = m.ok ? m.result.outputs['results-path'] : undefined;
    if (resultsPath && existsSync(resolve(ctx.cwd, resultsPath))) benchmark = parseJson(readFileSync(resolve(ctx.cwd, resultsPath), 'utf8'), undefined);
    if (!m.ok || m.exitCode !== ExitCode.Pass) return stop('benchmark-on-gpu-runner', m);

    // 4. canary-deploy against stable: on the embedded router, or the target the file names.
    let routing: Record<string, RawValue> = {};
    if (deployment) {
      ctx.progress(`${candidate.name}: starting the local deployment (stable ${pipeline.stable.version}, candidate ${candidate.version}, router)`);
      if (stableEndpoints.length === 0) stableEndpoints = [await deployment.serve(pipeline.stable.version, stablePath!, ctx.signal)];
      if (candidateEndpoints.length === 0) candidateEndpoints = [await deployment.serve(candidate.version, modelPath!, ctx.signal)];
      await deployment.startRouter(join(dir, 'router'), { name: pipeline.stable.version, endpoints: stableEndpoints });
      ctx.progress(`${candidate.name}: router ${deployment.routerUrl} (admin ${deployment.adminUrl}) serves ${pipeline.stable.version}`);
      routing = { 'router-url': deployment.adminUrl! };
    } else if (pipeline.stable.endpoints.length > 0) {
      routing = { 'stable-version': pipeline.stable.version, 'stable-endpoints': stableEndpoints.join(',') };
    }
    const c = await run('canary-deploy', {
      ...routing,
      version: candidate.version,
      endpoints: candidateEndpoints.join(','),
      ...(image?.digest ? { digest: image.digest } : {}),
      ...defaultsFor(ctx.config, 'canary-deploy', { 'model-name': pipeline.modelName }),
    });
    if (c.ok) {
      const looks = (c.result.details?.looks as unknown) ?? [];
      const rollbackMs = c.result.outputs['rollback-ms'];
      canary = {
        phase: c.result.outputs.phase ?? '',
        finalWeights: parseJson(c.result.outputs['final-weights'], {}),
        decisions: parseJson(c.result.outputs['decision-log'], []),
        looks,
        ...(rollbackMs ? { rollbackMs: Number(rollbackMs) } : {}),
      };
    }
    const phase = c.ok ? c.result.outputs.phase : undefined;
    if (!c.ok || c.exitCode !== ExitCode.Pass || phase !== 'completed') {
      // An aborted canary is already back on stable (verified by the step), and so is a cancelled
      // one; bad input stops the step before it moves traffic. Anything else that stopped short (an
      // infrastructure error, a hold, a manual gate) is rolled back here: the pipeline never leaves
      // a canary taking traffic behind it.
      const untouched = !c.ok && (ctx.signal.aborted || c.exitCode === ExitCode.BadInput);
      if (phase !== 'aborted' && !untouched) {
        const r = await run('rollback', { ...targetSettings(ctx.config, 'rollback'), ...(routing['router-url'] ? { 'router-url': routing['router-url'] } : {}) });
        if (!r.ok) ctx.logger.error(`rollback after the canary failed too: ${r.message}`);
      }
      return stop('canary-deploy', c.ok && c.exitCode === ExitCode.Pass ? { ...c, exitCode: ExitCode.JudgedBad } : c);
    }

    // 5. promote
    const p = await run('promote', { ...targetSettings(ctx.config, 'promote'), ...(routing['router-url'] ? { 'router-url': routing['router-url'] } : {}), version: candidate.version });
    if (!p.ok || p.exitCode !== ExitCode.Pass) return stop('promote', p);
    return finish(ExitCode.Pass, p.result.headline);
  } catch (err: unknown) {
    // Starting the local deployment failed (steps never throw: executeStep turns failures into results).
    const failed = ORDER.find((s) => !steps.some((r) => r.step === s)) ?? 'canary-deploy';
    return finish(exitCodeOf(err), errorMessage(err), failed);
  } finally {
    if (deployment && !ctx.keepServing?.(deployment)) await deployment.stop();
  }
}
