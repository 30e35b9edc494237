// Utility commands: everything `ferry` runs that is not one of the six pipeline steps. They parse
// their own flags and are listed apart from the steps in `ferry --help`.
import type { ExitCode } from '@ferry/core';
import type { CliIo } from './main.js';
import { pipelineCommand } from './pipeline.js';
import { routerCommand } from './router.js';
import { serveCommand } from './serve.js';

export interface UtilityCommand {
  readonly name: string;
  /** One line for `ferry --help`. */
  readonly summary: string;
  run(io: CliIo, argv: readonly string[], version: string): Promise<ExitCode>;
}

export const UTILITY_COMMANDS: readonly UtilityCommand[] = [pipelineCommand, serveCommand, routerCommand];

export function utilityCommand(name: string): UtilityCommand | undefined {
  return UTILITY_COMMANDS.find((c) => c.name === name);
}
