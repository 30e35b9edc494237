// Help text generated from the declarations, so `--help` can never disagree with the inputs.
import { appliesTo, cliFlag, describeDefault, STEP_DEFINITIONS, type Platform, type StepDefinition } from '@ferry/core';
import { GLOBAL_FLAGS } from './args.js';
import { UTILITY_COMMANDS } from './commands.js';

export const VERSION = '0.1.0';

function columns(rows: readonly (readonly [string, string])[], indent = 2): string {
  const width = Math.min(32, Math.max(...rows.map(([a]) => a.length)));
  return rows.map(([a, b]) => `${' '.repeat(indent)}${a.padEnd(width)}  ${b}`).join('\n');
}

export function mainHelp(): string {
  return `ferry ${VERSION}: carry a trained model from a pull request to production, and back out again.

Usage:
  ferry <step> [--<input> <value> ...] [--json]
  ferry <step> --help
  ferry <command> [options]     (ferry <command> --help)

Steps:
${columns(STEP_DEFINITIONS.map((s) => [s.name, s.summary]))}

Commands:
${columns(UTILITY_COMMANDS.map((c) => [c.name, c.summary]))}

Exit codes:
  0  passed
  1  judged bad (a gate or the canary analysis failed)
  2  bad input or configuration (the message names the input, key or file)
  3  infrastructure failure after retries, or cancelled

Settings can also come from ferry.yml in the working directory; inputs given here override it.
`;
}

export function stepHelp(def: StepDefinition, platform: Platform): string {
  const rows: [string, string][] = [];
  for (const [name, d] of Object.entries(def.inputs)) {
    if (!appliesTo(d, platform)) continue;
    const value = d.type === 'boolean' ? '' : ` <${d.options ? d.options.join('|') : d.type}>`;
    const dflt = describeDefault(d);
    const extra = [d.required ? 'required' : '', dflt !== '' ? `default: ${dflt}` : ''].filter(Boolean).join('; ');
    rows.push([`${cliFlag(name)}${value}`, `${d.description}${extra ? ` (${extra})` : ''}`]);
  }
  const outputs = Object.entries(def.outputs).map(([n, d]) => [n, d.description] as [string, string]);
  return `ferry ${def.name}: ${def.summary}

Usage:
  ferry ${def.name} [options]

Inputs:
${columns(rows)}

Options:
${columns(GLOBAL_FLAGS)}

Outputs (in --json under "outputs"):
${columns(outputs)}
`;
}
