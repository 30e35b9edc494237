// `ferry pipeline`: carries candidates from ferry.yml through validate → build → benchmark →
// canary → promote (rolling back on abort), prints a compact summary and writes the full report.
// With no infrastructure named in ferry.yml it runs on an embedded local deployment.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { CONFIG_FILE_NAME, errorMessage, ExitCode, exitCodeOf, InputError, loadConfig, suggest, type FerryConfig, type Logger, type PipelineCandidate } from '@ferry/core';
import { terminalLogger } from '@ferry/platform';
import type { UtilityCommand } from './commands.js';
import type { CliIo } from './main.js';
import type { LocalDeployment } from './pipeline-local.js';
import { writeRenderings, writeReports } from './pipeline-files.js';
import { metExpectation, PIPELINE_REPORT_SCHEMA, terminalSummary, type PipelineReport } from './pipeline-report.js';
import { runCandidate, type CandidateRun } from './pipeline-run.js';

export const PIPELINE_SUMMARY = 'Run the whole chain from ferry.yml for one or more candidates: validate, build, benchmark, canary, promote (rollback on abort).';

const VALUE_FLAGS = {
  '--candidate': { repeat: true, text: 'candidate from pipeline.candidates (repeat for several; default: all of them, in file order)' },
  '--config': { repeat: false, text: 'ferry.yml to read, relative to the working directory (default: ferry.yml)' },
  '--working-directory': { repeat: false, text: 'directory that ferry.yml and its relative paths are in (default: .)' },
  '--report': { repeat: false, text: 'where to write the JSON report; report.md and report.html go beside it (default: <pipeline.report-dir>/report.json)' },
  '--render': { repeat: false, text: 'run nothing: write report.md and report.html again beside this existing report.json' },
} as const;
type ValueFlag = keyof typeof VALUE_FLAGS;

const SWITCHES = {
  '--keep-serving': 'one candidate: keep what the run started (the router on the local target, the servers or containers of model-path versions) running after the run until Ctrl-C',
  '--json': 'print the JSON report on stdout instead of the summary',
  '--quiet': 'show only the pipeline progress lines, not the steps\' logs',
  '--verbose': 'log debug messages',
  '--help': 'show this help',
} as const;
type Switch = keyof typeof SWITCHES;

interface PipelineArgs {
  readonly values: Partial<Record<ValueFlag, string[]>>;
  readonly switches: ReadonlySet<Switch>;
}

export function parsePipelineArgs(argv: readonly string[]): PipelineArgs {
  const values: Partial<Record<ValueFlag, string[]>> = {};
  const switches = new Set<Switch>();
  const known = [...Object.keys(VALUE_FLAGS), ...Object.keys(SWITCHES)];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '-h') {
      switches.add('--help');
      continue;
    }
    if (Object.hasOwn(SWITCHES, arg)) {
      switches.add(arg as Switch);
      continue;
    }
    if (!arg.startsWith('--')) throw new InputError(`unexpected argument "${arg}"; options are given as --<option> <value>`, { subject: arg });
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (!Object.hasOwn(VALUE_FLAGS, flag)) throw new InputError(`unknown option ${flag}${suggest(flag, known)}; see ferry pipeline --help`, { subject: flag });
    const f = flag as ValueFlag;
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') throw new InputError(`${flag} needs a value`, { subject: flag });
    if (values[f] && !VALUE_FLAGS[f].repeat) throw new InputError(`${flag} is given twice`, { subject: flag });
    values[f] = [...(values[f] ?? []), value];
  }
  return { values, switches };
}

export function pipelineHelp(): string {
  const rows: [string, string][] = [
    ...Object.entries(VALUE_FLAGS).map(([f, d]): [string, string] => [`${f} <value>`, d.text]),
    ...Object.entries(SWITCHES).map(([f, t]): [string, string] => [f, t]),
  ];
  const width = Math.max(...rows.map(([f]) => f.length));
  return `ferry pipeline: ${PIPELINE_SUMMARY}

Usage:
  ferry pipeline [--working-directory DIR] [--candidate NAME ...] [--keep-serving] [--json]
  ferry pipeline --render REPORT.json

ferry.yml says what to run on (the pipeline section) and how to judge it (the step sections):

  pipeline:
    model-name: classifier
    stable: {version: v1, model-path: models/v1}
    candidates:
      v2: {model-path: models/v2, expect: promoted}
  validate-model: {smoke-eval: data/eval.csv, gates: {metrics: ["accuracy >= 0.85"]}}
  benchmark-on-gpu-runner: {dataset: data/traffic.jsonl, rate: 10, max-p95-ms: 250}
  canary-deploy: {steps: [10, 50, 100], bake: 5s, dataset: data/traffic.jsonl}

Each candidate goes through validate-model, build-serving-image, benchmark-on-gpu-runner,
canary-deploy and promote, run in this process exactly as \`ferry <step>\` runs them; the first step
that does not pass ends its run. A canary that is aborted is back on stable before the step ends;
one that stops short any other way is rolled back by the pipeline.

Embedded defaults, used for what ferry.yml leaves out:
  build-serving-image      an OCI layout directory <report-dir>/<candidate>/image on a scratch base
                           (no registry); set image (and base-image) to push instead
  benchmark-on-gpu-runner  the step starts \`ferry serve\` on the candidate model itself
  canary-deploy            \`ferry serve\` processes for stable and candidate on loopback, Ferry's router
                           in this process in front of them, synthetic paired analysis
pipeline.serve-with: podman serves the versions given by model-path with the images built instead:
stable's image is built the same way, each runs under podman on a loopback port (the runtime's
pinned base image, or build-serving-image.base-image; not scratch), and the containers are
removed at the end. The candidate's container is also what the benchmark measures.
Real infrastructure: set the step settings (build-serving-image.image, canary-deploy.target and its
haproxy-*, router-url or Kubernetes settings, analysis: prometheus ...); nothing else changes.
Versions given by model-path are still served here (their endpoints go to the target and to
synthetic analysis); give a version endpoints instead to use servers already running. Kubernetes
credentials come from $KUBECONFIG (or ~/.kube/config, or the pod's service account).

Every process and container it starts is stopped at the end, and on SIGINT/SIGTERM (traffic is left on stable).

The report: report.json holds everything (every step's result, the benchmark's histograms, the
judge at every look); report.md is the same for a PR comment or job summary; report.html is one
self-contained page (inline CSS and SVG charts, no scripts, nothing loaded from anywhere) with the
gate table, latency distribution and percentiles, throughput per window, GPU use, the canary's
weights and the judge's intervals against their floors at every look, and the decision log.

Options:
${rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`).join('\n')}

Exit codes:
  0  promoted (several candidates: each ended as its expect says, or promoted where none is given)
  1  rejected: a gate, the benchmark or the canary judged a candidate bad
  2  bad input: ferry.yml, an option or a file (the message names it)
  3  infrastructure failure, or cancelled
`;
}

/** Step logs, indented under the pipeline's progress lines. */
function indented(base: Logger): Logger {
  const pad = (m: string): string => m.replace(/^/gm, '    ');
  return {
    debug: (m) => base.debug(pad(m)),
    info: (m) => base.info(pad(m)),
    warn: (m) => base.warn(m),
    error: (m) => base.error(m),
    group: (title, fn) => base.group(`  ${title}`, fn),
    progress: (label, total, unit) => base.progress(`    ${label}`, total, unit),
    setSecret: (v) => base.setSecret(v),
  };
}

/** A report.json written by ferry pipeline, for --render. */
function readReport(path: string): PipelineReport {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err: unknown) {
    throw new InputError(`--render: cannot read ${path} as JSON: ${errorMessage(err)}`, { subject: '--render' });
  }
  const schema = (value as { schema?: unknown } | null)?.schema;
  if (schema !== PIPELINE_REPORT_SCHEMA) throw new InputError(`--render: ${path} is not a ferry pipeline report (schema ${JSON.stringify(schema)}, expected ${PIPELINE_REPORT_SCHEMA})`, { subject: '--render' });
  return value as PipelineReport;
}

function selectCandidates(config: FerryConfig, names: readonly string[] | undefined): PipelineCandidate[] {
  const all = config.pipeline!.candidates;
  if (!names) return [...all];
  return names.map((n) => {
    const c = all.find((x) => x.name === n);
    if (!c) throw new InputError(`--candidate ${n}: ${config.path} has no such candidate${suggest(n, all.map((x) => x.name))}; candidates: ${all.map((x) => x.name).join(', ')}`, { subject: '--candidate' });
    return c;
  });
}

/** One candidate: its own code. Several: 0 when each met its expectation (or was promoted), 2/3 before 1. */
function overallExit(runs: readonly CandidateRun[]): ExitCode {
  if (runs.length === 1) return runs[0]!.exitCode;
  if (runs.some((r) => r.outcome === 'cancelled' || r.outcome === 'infrastructure')) return ExitCode.Infrastructure;
  if (runs.some((r) => r.outcome === 'bad-input')) return ExitCode.BadInput;
  return runs.every((r) => metExpectation(r) ?? r.outcome === 'promoted') ? ExitCode.Pass : ExitCode.JudgedBad;
}

/**
 * Resolves at SIGINT/SIGTERM. A timer holds the event loop open meanwhile: containers and a remote
 * target keep nothing open in this process, and node would otherwise exit (13) with them running.
 */
function waitForSignal(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  const hold = setInterval(() => undefined, 60_000);
  return new Promise((resolve) =>
    signal.addEventListener(
      'abort',
      () => {
        clearInterval(hold);
        resolve();
      },
      { once: true },
    ),
  );
}

async function runPipeline(io: CliIo, argv: readonly string[]): Promise<ExitCode> {
  const started = Date.now();
  let args: PipelineArgs;
  let config: FerryConfig;
  let cwd: string;
  let candidates: PipelineCandidate[];
  try {
    args = parsePipelineArgs(argv);
    if (args.switches.has('--help')) {
      io.stdout.write(pipelineHelp());
      return ExitCode.Pass;
    }
    const render = args.values['--render']?.[0];
    if (render !== undefined) {
      const paths = writeRenderings(readReport(resolve(io.cwd, render)), resolve(io.cwd, render));
      io.stdout.write(`${paths.markdown}\n${paths.html}\n`);
      return ExitCode.Pass;
    }
    cwd = resolve(io.cwd, args.values['--working-directory']?.[0] ?? '.');
    const explicit = args.values['--config']?.[0];
    config = loadConfig(cwd, explicit);
    if (!config.path) throw new InputError(`no ${CONFIG_FILE_NAME} in ${cwd}: give --working-directory or --config (see ferry pipeline --help)`, { subject: 'config' });
    if (!config.pipeline) throw new InputError(`${config.path}: no "pipeline" section: add pipeline.stable and pipeline.candidates (see ferry pipeline --help)`, { subject: 'pipeline' });
    candidates = selectCandidates(config, args.values['--candidate']);
    if (args.switches.has('--keep-serving') && candidates.length !== 1) throw new InputError('--keep-serving needs exactly one --candidate', { subject: '--keep-serving' });
  } catch (err: unknown) {
    io.stderr.write(`ferry pipeline: error: ${errorMessage(err)}\n`);
    return exitCodeOf(err);
  }
  const pipeline = config.pipeline;
  const quiet = args.switches.has('--quiet');
  const base = terminalLogger({ stream: io.stderr, verbose: args.switches.has('--verbose') });
  const logger = quiet ? terminalLogger({ stream: io.stderr, quiet: true }) : indented(base);
  const reportDir = isAbsolute(pipeline.reportDir) ? pipeline.reportDir : resolve(cwd, pipeline.reportDir);
  const reportPath = resolve(io.cwd, args.values['--report']?.[0] ?? resolve(reportDir, 'report.json'));
  const progress = (line: string): void => void io.stderr.write(`[ferry pipeline ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);
  let kept: LocalDeployment | undefined;
  const keepServing = args.switches.has('--keep-serving');

  const runs: CandidateRun[] = [];
  progress(`${config.path}: stable ${pipeline.stable.version}, candidate(s) ${candidates.map((c) => c.name).join(', ')}`);
  for (const candidate of candidates) {
    if (io.signal.aborted) break;
    const run = await runCandidate(
      {
        cwd,
        configPath: config.path!,
        config,
        env: io.env,
        logger,
        signal: io.signal,
        reportDir,
        progress,
        keepServing: (d, servedBoth) => {
          // Only a run that got as far as the canary: an earlier rejection has nothing to keep, and
          // nothing to keep is left when every version ran elsewhere (endpoints) on a configured target.
          if (!keepServing || io.signal.aborted || !servedBoth || (d.routerUrl === undefined && d.endpoints.length === 0)) return false;
          kept = d;
          return true;
        },
      },
      candidate,
    );
    runs.push(run);
    progress(`${candidate.name}: ${run.outcome}${run.stoppedAt ? ` at ${run.stoppedAt}` : ''}: ${run.reason}`);
  }

  const exitCode = overallExit(runs);
  const met = runs.map(metExpectation);
  const report: PipelineReport = {
    schema: PIPELINE_REPORT_SCHEMA,
    createdAt: new Date(started).toISOString(),
    workingDirectory: cwd,
    config: config.path!,
    modelName: pipeline.modelName,
    stable: { version: pipeline.stable.version, ...(pipeline.stable.modelPath ? { modelPath: pipeline.stable.modelPath } : {}) },
    durationMs: Date.now() - started,
    exitCode,
    ...(met.some((m) => m !== undefined) ? { expectationsMet: met.every((m, i) => m ?? runs[i]!.outcome === 'promoted') } : {}),
    candidates: runs,
  };
  try {
    writeReports(report, reportPath);
  } catch (err: unknown) {
    io.stderr.write(`ferry pipeline: error: cannot write the report ${reportPath}: ${errorMessage(err)}\n`);
    await kept?.stop();
    return ExitCode.Infrastructure;
  }
  io.stdout.write(args.switches.has('--json') ? `${JSON.stringify(report, null, 2)}\n` : terminalSummary(report, reportPath));

  if (kept) {
    const deployment = kept;
    io.stderr.write(
      deployment.routerUrl
        ? `\nserving until Ctrl-C: send requests to ${deployment.routerUrl}/v2/models/${pipeline.modelName}/infer (admin ${deployment.adminUrl})\n`
        : `\nserving until Ctrl-C: the versions this run started stay up behind canary-deploy's target (${deployment.endpoints.join(', ')})\n`,
    );
    io.stdout.write(
      `${JSON.stringify({ event: 'serving', ...(deployment.routerUrl ? { url: deployment.routerUrl, adminUrl: deployment.adminUrl } : {}), endpoints: deployment.endpoints, pids: deployment.pids, containers: deployment.containers.map((c) => c.name) })}\n`,
    );
    await waitForSignal(io.signal);
    await deployment.stop();
    io.stdout.write(`${JSON.stringify({ event: 'stopped' })}\n`);
  }
  return exitCode;
}

export const pipelineCommand: UtilityCommand = { name: 'pipeline', summary: PIPELINE_SUMMARY, run: (io, argv) => runPipeline(io, argv) };
