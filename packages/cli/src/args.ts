// Parses `ferry <step>` arguments against the step's declarations: one flag per input, named as
// the action input (`model-path` → `--model-path`).
import { appliesTo, cliFlag, InputError, inputEnvVar, suggest, type Platform, type RawInputs, type StepDefinition } from '@ferry/core';

export interface CliOptions {
  readonly json: boolean;
  readonly help: boolean;
  readonly fromEnv: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  readonly report: string | undefined;
}

export const GLOBAL_FLAGS: readonly (readonly [string, string])[] = [
  ['--json', 'print the full result as JSON on stdout (logs stay on stderr)'],
  ['--from-env', 'read inputs from FERRY_INPUT_<NAME> variables (how the GitLab templates pass them)'],
  ['--report <file>', 'also write the JSON result to <file>'],
  ['--quiet', 'print only the result'],
  ['--verbose', 'print debug logs'],
  ['--help', 'show this help'],
];

export function parseStepArgs(def: StepDefinition, argv: readonly string[], platform: Platform, env: Readonly<Record<string, string | undefined>>): { raw: RawInputs; options: CliOptions } {
  const values: Record<string, string | string[]> = {};
  const opts = { json: false, help: false, fromEnv: false, quiet: false, verbose: false, report: undefined as string | undefined };
  const declared = Object.entries(def.inputs).filter(([, d]) => appliesTo(d, platform));
  const flags = new Map(declared.map(([name, d]) => [cliFlag(name), { name, decl: d }]));
  const known = [...flags.keys(), ...GLOBAL_FLAGS.map(([f]) => f.split(' ')[0] ?? f)];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) {
      throw new InputError(`${def.name}: unexpected argument "${arg}"; inputs are given as --<input> <value>`, { subject: arg });
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    switch (flag) {
      case '--json':
        opts.json = true;
        continue;
      case '--help':
      case '-h':
        opts.help = true;
        continue;
      case '--from-env':
        opts.fromEnv = true;
        continue;
      case '--quiet':
        opts.quiet = true;
        continue;
      case '--verbose':
        opts.verbose = true;
        continue;
      case '--report': {
        const v = inline ?? argv[++i];
        if (v === undefined || v === '') throw new InputError(`${def.name}: --report needs a file path`, { subject: '--report' });
        opts.report = v;
        continue;
      }
    }
    const negated = flag.startsWith('--no-') ? flags.get(`--${flag.slice(5)}`) : undefined;
    if (negated && negated.decl.type === 'boolean' && inline === undefined) {
      values[negated.name] = 'false';
      continue;
    }
    const entry = flags.get(flag);
    if (!entry) throw new InputError(`${def.name}: unknown option ${flag}${suggest(flag, known)}; see ferry ${def.name} --help`, { subject: flag });
    let value: string | undefined = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (entry.decl.type === 'boolean' && (next === undefined || next.startsWith('--') || !/^(true|false)$/i.test(next))) {
        value = 'true';
      } else {
        if (next === undefined) throw new InputError(`${def.name}: ${flag} needs a value`, { subject: entry.name });
        value = next;
        i++;
      }
    }
    const prev = values[entry.name];
    if (entry.decl.type === 'list' && prev !== undefined) values[entry.name] = [...(Array.isArray(prev) ? prev : [prev]), value];
    else if (prev !== undefined) throw new InputError(`${def.name}: ${flag} is given twice`, { subject: entry.name });
    else values[entry.name] = value;
  }
  const sources = new Map<string, string>();
  if (opts.fromEnv) {
    for (const [name] of declared) {
      const v = env[inputEnvVar(name)];
      if (values[name] === undefined && v !== undefined && v !== '') {
        values[name] = v;
        sources.set(name, `$${inputEnvVar(name)}`);
      }
    }
  }
  const raw: RawInputs = {
    platform,
    values,
    describe: (name) => {
      const source = sources.get(name);
      if (source) return `input ${name.replace(/-/g, '_')} (${source})`;
      return `input ${cliFlag(name)}`;
    },
  };
  return { raw, options: opts };
}
