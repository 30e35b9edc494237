// `ferry router`: a utility command that runs Ferry's local weighted router until SIGTERM/SIGINT.
// Logs go to stderr; the ready and stopped events to stdout as JSON lines, so tests and pipelines
// can start it on port 0 and read where it listens.
import { errorMessage, ExitCode, exitCodeOf, FerryError, InputError, suggest } from '@ferry/core';
import { terminalLogger } from '@ferry/platform';
import { startRouter, type RouterOptions, type VersionRef } from '@ferry/rollout';
import type { UtilityCommand } from './commands.js';

export const ROUTER_SUMMARY = 'Run the local weighted router (canary, A/B, shadow) with its admin API, for rollouts on one machine.';

/** Flags that take a value; `repeat` ones may be given more than once. */
const VALUE_FLAGS = {
  '--port': { repeat: false, text: 'data-plane port on 127.0.0.1; 0 picks a free one (default: 8000)' },
  '--admin-port': { repeat: false, text: 'admin API port on 127.0.0.1; 0 picks a free one (default: 8001)' },
  '--state-dir': { repeat: false, text: 'directory for routing.json (the split, kept across restarts) and rollout.json (required)' },
  '--stable-version': { repeat: false, text: 'name of the stable version, for a router with no stored routing' },
  '--stable-endpoint': { repeat: true, text: 'base URL of a stable replica (repeat for several)' },
  '--canary-version': { repeat: false, text: 'name of a canary version to start with (at weight 0)' },
  '--canary-endpoint': { repeat: true, text: 'base URL of a canary replica (repeat for several)' },
  '--token-env': { repeat: false, text: 'environment variable holding the admin API bearer token' },
} as const;
type ValueFlag = keyof typeof VALUE_FLAGS;

const SWITCHES: readonly (readonly [string, string])[] = [
  ['--quiet', 'log only warnings and errors'],
  ['--verbose', 'log debug messages'],
  ['--help', 'show this help'],
];

interface RouterArgs {
  readonly values: Partial<Record<ValueFlag, string[]>>;
  readonly help: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
}

function isValueFlag(flag: string): flag is ValueFlag {
  return Object.hasOwn(VALUE_FLAGS, flag);
}

export function parseRouterArgs(argv: readonly string[]): RouterArgs {
  const values: Partial<Record<ValueFlag, string[]>> = {};
  const flags = { help: false, quiet: false, verbose: false };
  const known = [...Object.keys(VALUE_FLAGS), ...SWITCHES.map(([f]) => f)];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') flags.help = true;
    else if (arg === '--quiet' || arg === '--verbose') flags[arg.slice(2) as 'quiet' | 'verbose'] = true;
    else {
      if (!arg.startsWith('--')) throw new InputError(`unexpected argument "${arg}"; options are given as --<option> <value>`, { subject: arg });
      const eq = arg.indexOf('=');
      const flag = eq > 0 ? arg.slice(0, eq) : arg;
      if (!isValueFlag(flag)) throw new InputError(`unknown option ${flag}${suggest(flag, known)}; see ferry router --help`, { subject: flag });
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') throw new InputError(`${flag} needs a value`, { subject: flag });
      const prev = values[flag];
      if (prev && !VALUE_FLAGS[flag].repeat) throw new InputError(`${flag} is given twice`, { subject: flag });
      values[flag] = [...(prev ?? []), value];
    }
  }
  return { values, ...flags };
}

function port(args: RouterArgs, flag: '--port' | '--admin-port', dflt: number): number {
  const raw = args.values[flag]?.[0];
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 65_535) throw new InputError(`${flag} must be a port number in [0, 65535], got "${raw}"`, { subject: flag });
  return n;
}

function version(args: RouterArgs, slot: 'stable' | 'canary'): VersionRef | undefined {
  const name = args.values[`--${slot}-version`]?.[0];
  const endpoints = args.values[`--${slot}-endpoint`] ?? [];
  if (name === undefined && endpoints.length === 0) return undefined;
  if (name === undefined) throw new InputError(`--${slot}-endpoint is given without --${slot}-version (the name its metrics carry)`, { subject: `--${slot}-version` });
  if (endpoints.length === 0) throw new InputError(`--${slot}-version ${name} needs at least one --${slot}-endpoint URL`, { subject: `--${slot}-endpoint` });
  for (const e of endpoints) {
    // The router checks the URL fully; this names the flag for the common slip of a bare host:port.
    if (!/^https?:\/\//.test(e)) throw new InputError(`--${slot}-endpoint must be a base URL like http://127.0.0.1:8001, got "${e}"`, { subject: `--${slot}-endpoint` });
  }
  return { name, endpoints };
}

/** Turns parsed flags into router options; reads the token from the named variable. */
export function routerOptions(args: RouterArgs, env: Readonly<Record<string, string | undefined>>): Omit<RouterOptions, 'logger'> {
  const stateDir = args.values['--state-dir']?.[0];
  if (stateDir === undefined) throw new InputError('missing required --state-dir (where the router keeps its routing across restarts)', { subject: '--state-dir' });
  const tokenVar = args.values['--token-env']?.[0];
  let token: string | undefined;
  if (tokenVar !== undefined) {
    token = env[tokenVar];
    // Name the variable, never its value.
    if (token === undefined || token === '') throw new InputError(`--token-env ${tokenVar}: the variable is not set or empty`, { subject: '--token-env' });
  }
  const stable = version(args, 'stable');
  const canary = version(args, 'canary');
  return {
    port: port(args, '--port', 8000),
    adminPort: port(args, '--admin-port', 8001),
    stateDir,
    ...(stable ? { stable } : {}),
    ...(canary ? { canary } : {}),
    ...(token !== undefined ? { token } : {}),
  };
}

export function routerHelp(): string {
  const rows: [string, string][] = [
    ...Object.entries(VALUE_FLAGS).map(([flag, d]): [string, string] => [`${flag} <value>`, d.text]),
    ...SWITCHES.map(([f, t]): [string, string] => [f, t]),
  ];
  const width = Math.max(...rows.map(([f]) => f.length));
  return `ferry router: ${ROUTER_SUMMARY}

Usage:
  ferry router --state-dir DIR [--port 8000] [--admin-port 8001]
               [--stable-version NAME --stable-endpoint URL ...] [--token-env VAR]

Every request to the data port goes to the stable or canary version's replicas by the routing set
on the admin API (weighted, sticky by header or cookie, or mirror), streamed back with the headers
x-ferry-version and x-ferry-slot. The routing and the slots' versions are kept in DIR/routing.json;
a router restarted on the same DIR serves the same split. Versions given here apply only when DIR
holds no routing yet.

Admin API (JSON; Authorization: Bearer <token> when --token-env is given):
  GET  /routing, PUT /routing {weights, routing}    the split
  PUT  /slots/stable|canary {version}               point a slot (at weight 0) at a version
  GET  /state, PUT /state (If-Match: <revision>)    the rollout record, compare-and-set
  GET  /mirror/pairs?since=<epoch ms>               paired stable/canary outputs of mirrored inferences
  GET  /metrics                                     Prometheus text, per slot and version
  GET  /healthz                                     liveness (no token needed)

On stdout, one JSON line when listening ({"event":"ready","url":...,"adminUrl":...}) and one when stopped.
SIGTERM or SIGINT: stop accepting, let in-flight requests finish (up to 5 s), exit 0.

Options:
${rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`).join('\n')}

Exit codes:
  0  stopped cleanly after SIGTERM/SIGINT
  2  bad input: bad option, port in use, unreadable state directory
  3  infrastructure failure
`;
}

async function runRouter(io: Parameters<UtilityCommand['run']>[0], argv: readonly string[]): Promise<ExitCode> {
  let args: RouterArgs;
  let options: Omit<RouterOptions, 'logger'>;
  try {
    args = parseRouterArgs(argv);
    if (args.help) {
      io.stdout.write(routerHelp());
      return ExitCode.Pass;
    }
    options = routerOptions(args, io.env);
  } catch (err: unknown) {
    io.stderr.write(`ferry router: error: ${errorMessage(err)}\n`);
    return exitCodeOf(err);
  }
  const logger = terminalLogger({ stream: io.stderr, verbose: args.verbose, quiet: args.quiet });
  try {
    const router = await startRouter({ ...options, logger });
    io.stdout.write(`${JSON.stringify({ event: 'ready', url: router.url, adminUrl: router.adminUrl })}\n`);
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      else io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    logger.info('stopping: finishing in-flight requests');
    await router.close();
    io.stdout.write(`${JSON.stringify({ event: 'stopped' })}\n`);
    return ExitCode.Pass;
  } catch (err: unknown) {
    const hint = err instanceof FerryError && err.hint ? ` (${err.hint})` : '';
    io.stderr.write(`ferry router: error: ${errorMessage(err)}${hint}\n`);
    return exitCodeOf(err);
  }
}

export const routerCommand: UtilityCommand = { name: 'router', summary: ROUTER_SUMMARY, run: (io, argv) => runRouter(io, argv) };
