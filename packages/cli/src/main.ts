// The ferry CLI door: parse flags from the declarations, run the step, render for a terminal,
// JSON or GitLab, and exit with the documented code. This is the only failure boundary here.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { errorMessage, ExitCode, exitCodeOf, InputError, isStepName, type Platform, type RawInputs, type StepResult } from '@ferry/core';
import { executeStep, isGitLabCi, publishGitLab, readGitLabEnvironment, renderTerminal, terminalLogger } from '@ferry/platform';
import { parseStepArgs } from './args.js';
import { utilityCommand } from './commands.js';
import { mainHelp, stepHelp, VERSION } from './help.js';
import { STEPS } from './steps.js';

export interface CliIo {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly signal: AbortSignal;
}

/** A value like `$FERRY_GITLAB_TOKEN` is an unexpanded variable reference, not a token. */
function expandedSecret(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' && !/^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$/.test(v) ? v : undefined;
}

export async function runCli(io: CliIo): Promise<ExitCode> {
  const [command, ...rest] = io.argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(mainHelp());
    return command === undefined ? ExitCode.BadInput : ExitCode.Pass;
  }
  if (command === '--version' || command === '-v') {
    io.stdout.write(`${VERSION}\n`);
    return ExitCode.Pass;
  }
  const utility = utilityCommand(command);
  if (utility) return utility.run(io, rest, VERSION);
  if (!isStepName(command)) {
    io.stderr.write(`ferry: unknown command "${command}"; run ferry --help for the list of steps and commands\n`);
    return ExitCode.BadInput;
  }
  const step = STEPS[command];
  const gitlab = isGitLabCi(io.env);
  const platform: Platform = gitlab ? 'gitlab' : 'cli';
  let raw: RawInputs;
  let options;
  try {
    ({ raw, options } = parseStepArgs(step.definition, rest, platform, io.env));
  } catch (err: unknown) {
    io.stderr.write(`ferry ${command}: error: ${errorMessage(err).replace(`${command}: `, '')}\n`);
    if (rest.includes('--json')) io.stdout.write(`${JSON.stringify({ step: command, error: errorMessage(err), exitCode: exitCodeOf(err) }, null, 2)}\n`);
    return err instanceof InputError ? ExitCode.BadInput : exitCodeOf(err);
  }
  if (options.help) {
    io.stdout.write(stepHelp(step.definition, platform));
    return ExitCode.Pass;
  }
  const logger = terminalLogger({ stream: io.stderr, verbose: options.verbose, quiet: options.quiet || options.json });
  const execution = await executeStep(step, { raw, cwd: io.cwd, env: io.env, logger, signal: io.signal });

  if (gitlab) {
    const glEnv = readGitLabEnvironment(io.env);
    await publishGitLab(command, execution.ok ? { result: execution.result } : { error: execution.message }, {
      env: glEnv,
      logger,
      token: expandedSecret(raw.values['gitlab-token']),
      note: raw.values['report-comment'] !== 'false',
      status: raw.values['check-run'] !== 'false',
      reportDir: glEnv.projectDir,
    });
  }
  if (!execution.ok) {
    io.stderr.write(`ferry ${command}: error: ${execution.message.replace(`${command}: `, '')}\n`);
    if (options.json) io.stdout.write(`${JSON.stringify({ step: command, error: execution.message, subject: execution.subject, exitCode: execution.exitCode }, null, 2)}\n`);
    return execution.exitCode;
  }
  const result: StepResult = options.report ? { ...execution.result, outputs: { ...execution.result.outputs, 'report-path': resolve(io.cwd, options.report) } } : execution.result;
  if (options.report) {
    const file = resolve(io.cwd, options.report);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify({ ...result, inputs: execution.inputs, exitCode: execution.exitCode }, null, 2)}\n`);
  }
  if (options.json) {
    io.stdout.write(`${JSON.stringify({ ...result, inputs: execution.inputs, exitCode: execution.exitCode }, null, 2)}\n`);
  } else {
    io.stdout.write(renderTerminal(result, io.stdout.isTTY === true && io.env.NO_COLOR === undefined));
  }
  return execution.exitCode;
}
