// Merges a door's raw inputs with ferry.yml and the declared defaults, in that order of precedence.
import { coerceInput, isUnset, type InputValue, type RawValue } from './coerce.js';
import type { FerryConfig } from './config.js';
import { InputError } from './errors.js';
import { appliesTo, type InputDeclarations, type InputValues, type Platform } from './inputs.js';
import type { StepDefinition } from './steps/common.js';

/** Raw values from one door, and how that door names an input in messages (`--model-path`, `input model-path`). */
export interface RawInputs {
  readonly platform: Platform;
  readonly values: Readonly<Record<string, RawValue>>;
  describe(name: string): string;
}

export function resolveInputs<I extends InputDeclarations>(
  def: StepDefinition<I>,
  raw: RawInputs,
  config: FerryConfig,
): InputValues<I> {
  for (const name of Object.keys(raw.values)) {
    const decl = def.inputs[name];
    if (!decl || !appliesTo(decl, raw.platform)) {
      throw new InputError(`${def.name}: unknown input ${raw.describe(name)}`, { subject: name });
    }
  }
  const section = config.steps[def.name] ?? {};
  const out: Record<string, InputValue | undefined> = {};
  for (const [name, decl] of Object.entries(def.inputs)) {
    if (!appliesTo(decl, raw.platform)) continue;
    const given = raw.values[name];
    if (!isUnset(given)) {
      out[name] = coerceInput(name, decl, given, raw.describe(name));
    } else if (section[name] !== undefined) {
      out[name] = section[name];
    } else if (config.defaults[name] !== undefined) {
      out[name] = config.defaults[name];
    } else if (decl.default !== undefined && decl.default !== '') {
      out[name] = coerceInput(name, decl, decl.default as RawValue, `default of ${name}`);
    } else if (decl.required) {
      const where = config.path ? ` or "${name}" under "${def.name}" in ${config.path}` : '';
      throw new InputError(`${def.name}: missing required ${raw.describe(name)}${where}`, { subject: name });
    } else {
      out[name] = decl.type === 'string' || decl.type === 'path' ? (decl.default === '' ? '' : undefined) : undefined;
    }
  }
  return out as InputValues<I>;
}
