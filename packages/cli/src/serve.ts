// `ferry serve`: a utility command, not a pipeline step. Flags come from @ferry/serve's option
// declarations; logs go to stderr and the ready/stopped events to stdout as JSON lines.
import { coerceInput, describeDefault, errorMessage, ExitCode, exitCodeOf, FerryError, InputError, isUnset, suggest } from '@ferry/core';
import { terminalLogger } from '@ferry/platform';
import { OPTION_GROUP, OPTION_GROUPS, serve, SERVE_OPTIONS, serveSettings, type ServeOptionValues } from '@ferry/serve';
import type { UtilityCommand } from './commands.js';

type OptionName = keyof typeof SERVE_OPTIONS;

export const SERVE_SUMMARY = 'Serve an ONNX model over the Open Inference Protocol v2 (KServe v2 REST), with Prometheus /metrics.';

const EXTRA_FLAGS: readonly (readonly [string, string])[] = [
  ['--quiet', 'log only warnings and errors'],
  ['--verbose', 'log debug messages'],
  ['--help', 'show this help'],
];

function isOption(name: string): name is OptionName {
  return Object.hasOwn(SERVE_OPTIONS, name);
}

interface ServeArgs {
  readonly values: ServeOptionValues;
  readonly help: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
}

export function parseServeArgs(argv: readonly string[]): ServeArgs {
  const raw: Partial<Record<OptionName, string>> = {};
  const flags = { help: false, quiet: false, verbose: false };
  const known = [...Object.keys(SERVE_OPTIONS).map((n) => `--${n}`), ...EXTRA_FLAGS.map(([f]) => f)];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') {
      flags.help = true;
      continue;
    }
    if (arg === '--quiet' || arg === '--verbose') {
      flags[arg.slice(2) as 'quiet' | 'verbose'] = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new InputError(`serve: unexpected argument "${arg}"; options are given as --<option> <value>`, { subject: arg });
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq > 0 ? eq : undefined);
    if (!isOption(name)) throw new InputError(`serve: unknown option --${name}${suggest(`--${name}`, known)}; see ferry serve --help`, { subject: `--${name}` });
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new InputError(`serve: --${name} needs a value`, { subject: name });
    if (raw[name] !== undefined) throw new InputError(`serve: --${name} is given twice`, { subject: name });
    raw[name] = value;
  }
  const values: Record<string, unknown> = {};
  if (!flags.help) {
    for (const [name, decl] of Object.entries(SERVE_OPTIONS)) {
      const given = raw[name as OptionName];
      if (!isUnset(given)) values[name] = coerceInput(name, decl, given, `--${name}`);
      else if ('default' in decl) values[name] = coerceInput(name, decl, decl.default, `default of --${name}`);
      else if ('required' in decl && decl.required) throw new InputError(`serve: missing required --${name}`, { subject: name });
    }
  }
  return { values: values as ServeOptionValues, ...flags };
}

function columns(rows: readonly (readonly [string, string])[], width: number): string {
  return rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`).join('\n');
}

export function serveHelp(): string {
  const rows = Object.entries(SERVE_OPTIONS).map(([name, d]): [OptionName, string, string] => {
    const dflt = describeDefault(d);
    const extra = 'required' in d && d.required ? ' (required)' : dflt !== '' ? ` (default: ${dflt})` : '';
    return [name as OptionName, `--${name} <${d.type}>`, `${d.description}${extra}`];
  });
  const width = Math.max(...rows.map(([, flag]) => flag.length), ...EXTRA_FLAGS.map(([f]) => f.length));
  const sections = OPTION_GROUPS.map((group) => {
    const title = group === 'test knobs' ? 'Test and demo knobs (never for production)' : `${group[0]!.toUpperCase()}${group.slice(1)}`;
    const groupRows = rows.filter(([name]) => OPTION_GROUP[name] === group).map(([, flag, text]): [string, string] => [flag, text]);
    return `${title}:\n${columns(groupRows, width)}`;
  });
  return `ferry serve: ${SERVE_SUMMARY}

Usage:
  ferry serve --model-path model.onnx [--model-name NAME] [--model-version V] [--host 127.0.0.1] [--port 8080] [options]

Endpoints:
  GET  /v2/health/live, /v2/health/ready        liveness; readiness (503 while loading or draining)
  GET  /v2                                      server metadata
  GET  /v2/models/<name>[/versions/<v>]         model metadata: inputs and outputs from the ONNX session
  GET  /v2/models/<name>[/versions/<v>]/ready   model readiness
  POST /v2/models/<name>[/versions/<v>]/infer   inference (JSON tensors, or the binary tensor data extension)
  GET  /metrics                                 Prometheus text 0.0.4, or OpenMetrics when the Accept header asks

On stdout, one JSON line when ready ({"event":"ready","url":...}) and one when stopped.
SIGTERM or SIGINT: readiness turns false, in-flight requests finish (up to --drain-timeout), exit 0.

${sections.join('\n\n')}

Options:
${columns(EXTRA_FLAGS, width)}

Exit codes:
  0  stopped cleanly after SIGTERM/SIGINT
  2  bad input: missing or invalid model, bad option, port in use
  3  infrastructure failure
`;
}

async function runServe(io: Parameters<UtilityCommand['run']>[0], argv: readonly string[], version: string): Promise<ExitCode> {
  let args: ServeArgs;
  try {
    args = parseServeArgs(argv);
  } catch (err: unknown) {
    io.stderr.write(`ferry serve: error: ${errorMessage(err).replace(/^serve: /, '')}\n`);
    return exitCodeOf(err);
  }
  if (args.help) {
    io.stdout.write(serveHelp());
    return ExitCode.Pass;
  }
  const logger = terminalLogger({ stream: io.stderr, verbose: args.verbose, quiet: args.quiet });
  try {
    const settings = serveSettings(args.values);
    await serve(settings, {
      logger,
      signal: io.signal,
      ferryVersion: version,
      announce: (event) => io.stdout.write(`${JSON.stringify(event)}\n`),
    });
    return ExitCode.Pass;
  } catch (err: unknown) {
    const hint = err instanceof FerryError && err.hint ? ` (${err.hint})` : '';
    io.stderr.write(`ferry serve: error: ${errorMessage(err)}${hint}\n`);
    return exitCodeOf(err);
  }
}

export const serveCommand: UtilityCommand = { name: 'serve', summary: SERVE_SUMMARY, run: runServe };
