// One candidate through the chain validate → build → benchmark → canary → promote, each step run
// in this process through the same executeStep path as `ferry <step>`. ferry.yml's step sections
// supply the policy; this file supplies only what the pipeline knows (paths, endpoints, the router,
// the digest built) and the embedded local defaults for settings the file leaves out.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { errorMessage, ExitCode, exitCodeOf, type FerryConfig, type Logger, type PipelineCandidate, type RawValue, type StepName, type StepResult } from '@ferry/core';
import { executeStep, type Execution } from '@ferry/platform';
import { LocalDeployment, serveCommand } from './pipeline-local.js';
import type { ServedContainer } from './pipeline-podman.js';
import { buildValues, checkServeWith, defaultsFor, fileSets, imageSource, secretsFromEnv, targetSettings } from './pipeline-settings.js';
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
    /** How versions given by model-path were served (pipeline.serve-with). */
    readonly serveWith: 'process' | 'podman';
    readonly stable: ServedVersion;
    readonly candidate: ServedVersion;
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
    readonly analysis?: AnalysisSource;
    readonly rollbackMs?: number;
  };
  readonly image?: BuiltImage;
  /** serve-with: podman: stable's image, built the same way as the candidate's (not a step of the run). */
  readonly stableImage?: BuiltImage;
}

export interface BuiltImage {
  readonly digest: string;
  /** The OCI layout written, or empty. */
  readonly output: string;
  /** registry/repository@digest pushed, or empty. */
  readonly image: string;
}

export interface ServedVersion {
  readonly version: string;
  readonly endpoints: readonly string[];
  /** serve-with: podman: the containers that served it (image digest as podman reports it). */
  readonly containers?: readonly ServedContainer[];
}

/** Where the canary's judge got its data: paired synthetic requests to the versions' endpoints, or Prometheus. */
export type AnalysisSource = { readonly source: 'synthetic'; readonly endpoints: { readonly stable: readonly string[]; readonly canary: readonly string[] } } | { readonly source: 'prometheus'; readonly url: string; readonly metrics: string };

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
  /**
   * Called with the local deployment of a finished run, and whether the run got as far as the
   * canary (both versions served); true keeps it running (the caller stops it).
   */
  readonly keepServing?: (deployment: LocalDeployment, servedBoth: boolean) => boolean;
}

const ORDER: readonly StepName[] = ['validate-model', 'build-serving-image', 'benchmark-on-gpu-runner', 'canary-deploy', 'promote'];

function outcomeOf(code: ExitCode, cancelled: boolean): Outcome {
  if (cancelled) return 'cancelled';
  return code === ExitCode.JudgedBad ? 'rejected' : code === ExitCode.BadInput ? 'bad-input' : code === ExitCode.Infrastructure ? 'infrastructure' : 'promoted';
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
  // The embedded router unless the file points the rollout at a router or target of its own.
  const local = target === 'local' && !fileSets(ctx.config, 'canary-deploy', 'router-url');
  const podman = pipeline.serveWith === 'podman';
  // Versions given by model-path are served here on any target (their endpoints are what synthetic
  // analysis compares, and what HAProxy is pointed at); the router only runs for the local target.
  const deployment = new LocalDeployment(pipeline.modelName, ctx.logger);
  let stableEndpoints = [...pipeline.stable.endpoints];
  let candidateEndpoints = [...candidate.endpoints];
  const containers: Record<'stable' | 'candidate', ServedContainer[]> = { stable: [], candidate: [] };
  let benchmark: unknown;
  let canary: CandidateRun['canary'];
  let image: CandidateRun['image'];
  let stableImage: CandidateRun['stableImage'];

  const run = async (step: StepName, values: Record<string, RawValue>): Promise<Execution> => {
    ctx.progress(`${candidate.name}: ${step} …`);
    const t0 = performance.now();
    const execution = await executeStep(STEPS[step], {
      raw: { platform: 'cli', values: { ...secretsFromEnv(step, ctx.env), ...values, 'working-directory': ctx.cwd, config: ctx.configPath }, describe: (n) => `${step}.${n} (set by ferry pipeline)` },
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

  const served = (version: string, endpoints: string[], cs: ServedContainer[]): ServedVersion => ({ version, endpoints, ...(cs.length > 0 ? { containers: cs } : {}) });
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
      ...(deployment.routerUrl ? { routerUrl: deployment.routerUrl, adminUrl: deployment.adminUrl! } : {}),
      serveWith: pipeline.serveWith,
      stable: served(pipeline.stable.version, stableEndpoints, containers.stable),
      candidate: served(candidate.version, candidateEndpoints, containers.candidate),
    },
    steps,
    ...(benchmark !== undefined ? { benchmark } : {}),
    ...(canary ? { canary } : {}),
    ...(image ? { image } : {}),
    ...(stableImage ? { stableImage } : {}),
  });

  /** A step that did not pass ends the run: its exit code and headline say why. */
  const stop = (step: StepName, e: Execution): CandidateRun => finish(e.exitCode, e.ok ? e.result.headline : e.message, step);

  try {
    checkServeWith(ctx.config);
  } catch (err: unknown) {
    // Found before any step runs.
    return finish(exitCodeOf(err), errorMessage(err));
  }
  let imageInputs: Record<string, unknown> = {};
  try {
    // 1. validate-model
    if (modelPath !== undefined) {
      const v = await run('validate-model', { 'model-path': modelPath });
      if (!v.ok || v.exitCode !== ExitCode.Pass) return stop('validate-model', v);

      // 2. build-serving-image: by default an OCI layout directory, no registry.
      const b = await run('build-serving-image', buildValues(ctx.config, modelPath, candidate.version, join(dir, 'image')));
      if (!b.ok || b.exitCode !== ExitCode.Pass) return stop('build-serving-image', b);
      image = { digest: b.result.outputs.digest ?? '', output: String(b.inputs.output ?? ''), image: b.result.outputs.image ?? '' };
      imageInputs = b.inputs;
    }
    if (ctx.signal.aborted) return finish(ExitCode.Infrastructure, 'cancelled');

    // serve-with: podman: the candidate's built image runs from here on, for the benchmark and the canary.
    if (podman && candidateEndpoints.length === 0 && image) {
      ctx.progress(`${candidate.name}: podman runs ${candidate.version}'s image ${image.digest}`);
      const c = await deployment.serveImage(candidate.version, imageSource(image, imageInputs), ctx.signal, candidate.port);
      containers.candidate.push(c);
      candidateEndpoints = [c.url];
    }

    // 3. benchmark-on-gpu-runner: the candidate's own server, started and stopped by the step.
    const serverSet = ['endpoint', 'image', 'command'].some((k) => fileSets(ctx.config, 'benchmark-on-gpu-runner', k));
    const server: Record<string, RawValue> = serverSet ? {} : candidateEndpoints.length > 0 ? { endpoint: candidateEndpoints[0]! } : { command: serveCommand(modelPath!, pipeline.modelName, candidate.version) };
    const results = join(dir, 'benchmark.json');
    const m = await run('benchmark-on-gpu-runner', { ...server, ...defaultsFor(ctx.config, 'benchmark-on-gpu-runner', { 'model-name': pipeline.modelName, results }) });
    const resultsPath = m.ok ? m.result.outputs['results-path'] : undefined;
    if (resultsPath && existsSync(resolve(ctx.cwd, resultsPath))) benchmark = parseJson(readFileSync(resolve(ctx.cwd, resultsPath), 'utf8'), undefined);
    if (!m.ok || m.exitCode !== ExitCode.Pass) return stop('benchmark-on-gpu-runner', m);

    // 4. canary-deploy against stable: on the embedded router, or the target the file names.
    if (stableEndpoints.length === 0 || candidateEndpoints.length === 0) {
      ctx.progress(`${candidate.name}: serving stable ${pipeline.stable.version} and candidate ${candidate.version} (${pipeline.serveWith})`);
    }
    if (stableEndpoints.length === 0 && podman) {
      // Stable's image is built the same way as the candidate's, so both run the same base.
      ctx.progress(`${candidate.name}: building stable ${pipeline.stable.version}'s image for podman`);
      const built = await executeStep(STEPS['build-serving-image'], {
        raw: {
          platform: 'cli',
          // Its own tag, so a tag ferry.yml asks for stays on the candidate.
          values: {
            ...buildValues(ctx.config, stablePath!, pipeline.stable.version, join(dir, 'stable-image')),
            ...(fileSets(ctx.config, 'build-serving-image', 'image') ? { tags: pipeline.stable.version, 'tag-rules': 'none' } : {}),
            'working-directory': ctx.cwd,
            config: ctx.configPath,
          },
          describe: (n) => `build-serving-image.${n} (stable ${pipeline.stable.version}, set by ferry pipeline)`,
        },
        cwd: ctx.cwd,
        env: ctx.env,
        logger: ctx.logger,
        signal: ctx.signal,
      });
      if (!built.ok || built.exitCode !== ExitCode.Pass) {
        const why = built.ok ? built.result.headline : built.message;
        return finish(built.exitCode === ExitCode.Pass ? ExitCode.Infrastructure : built.exitCode, `building stable ${pipeline.stable.version}'s image for podman failed: ${why}`, 'canary-deploy');
      }
      stableImage = { digest: built.result.outputs.digest ?? '', output: String(built.inputs.output ?? ''), image: built.result.outputs.image ?? '' };
      const c = await deployment.serveImage(pipeline.stable.version, imageSource(stableImage, built.inputs), ctx.signal, pipeline.stable.port);
      containers.stable.push(c);
      stableEndpoints = [c.url];
    }
    if (stableEndpoints.length === 0) stableEndpoints = [await deployment.serve(pipeline.stable.version, stablePath!, ctx.signal, pipeline.stable.port)];
    if (candidateEndpoints.length === 0) candidateEndpoints = [await deployment.serve(candidate.version, modelPath!, ctx.signal, candidate.port)];
    let routing: Record<string, RawValue> = {};
    if (local) {
      await deployment.startRouter(join(dir, 'router'), { name: pipeline.stable.version, endpoints: stableEndpoints });
      ctx.progress(`${candidate.name}: router ${deployment.routerUrl} (admin ${deployment.adminUrl}) serves ${pipeline.stable.version}`);
      routing = { 'router-url': deployment.adminUrl! };
    } else {
      // The first rollout on a target learns stable from these; later ones read the target's record.
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
        analysis: analysisSource(c.inputs, stableEndpoints, candidateEndpoints),
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
    // Serving a version failed (steps never throw: executeStep turns failures into results).
    const failed = ORDER.find((s) => !steps.some((r) => r.step === s)) ?? 'canary-deploy';
    return finish(exitCodeOf(err), errorMessage(err), failed);
  } finally {
    if (!ctx.keepServing?.(deployment, steps.some((s) => s.step === 'canary-deploy'))) await deployment.stop();
  }
}

/** Where the canary's judge read its data, from the step's resolved inputs. */
function analysisSource(inputs: Record<string, unknown>, stable: readonly string[], canary: readonly string[]): AnalysisSource {
  return inputs.analysis === 'prometheus'
    ? { source: 'prometheus', url: String(inputs['prometheus-url'] ?? ''), metrics: String(inputs['prometheus-metrics'] ?? 'ferry-serve') }
    : { source: 'synthetic', endpoints: { stable: [...stable], canary: [...canary] } };
}
