// Input and output declarations: the single source of truth for every step's interface.
// action.yml, CLI flags, GitLab spec:inputs, the ferry.yml schema and the README tables derive from these.

export type Platform = 'github' | 'gitlab' | 'cli';

/**
 * `object` holds structured settings (gate lists and the like): a mapping in ferry.yml, or YAML/JSON
 * text when given as an input. The engine that owns it checks its shape and names the bad key.
 */
export type InputType = 'string' | 'path' | 'boolean' | 'number' | 'integer' | 'list' | 'duration' | 'object';

export interface InputDeclaration {
  readonly type: InputType;
  readonly description: string;
  /** Used when neither the door nor ferry.yml sets a value. */
  readonly default?: string | number | boolean | readonly string[];
  readonly required?: boolean;
  /** Allowed values (string inputs). */
  readonly options?: readonly string[];
  /** Regular expression a string value must match (anchored by the author). */
  readonly pattern?: string;
  readonly min?: number;
  readonly max?: number;
  /** Masked in every log and never written to state or reports. */
  readonly secret?: boolean;
  /** Doors where the input exists; all when absent. */
  readonly platforms?: readonly Platform[];
  /** Whether ferry.yml may set it (false for the config path itself and for tokens). */
  readonly configurable?: boolean;
  /** Literal default written into action.yml (an expression such as ${{ github.token }}). */
  readonly actionDefault?: string;
  /** JSON schema of an `object` input, used in the generated ferry.yml schema. */
  readonly schema?: Readonly<Record<string, unknown>>;
}

export type InputDeclarations = Readonly<Record<string, InputDeclaration>>;

export interface OutputDeclaration {
  readonly description: string;
}
export type OutputDeclarations = Readonly<Record<string, OutputDeclaration>>;

type ValueOfType<T extends InputType> = T extends 'boolean'
  ? boolean
  : T extends 'number' | 'integer' | 'duration'
    ? number
    : T extends 'list'
      ? string[]
      : T extends 'object'
        ? unknown
        : string;

type AlwaysPresent<D extends InputDeclaration> = D extends { required: true }
  ? true
  : D extends { default: unknown }
    ? true
    : false;

/** The typed values a step receives, inferred from its declarations. Durations are milliseconds. */
export type InputValues<Ds extends InputDeclarations> = {
  -readonly [K in keyof Ds]: AlwaysPresent<Ds[K]> extends true
    ? ValueOfType<Ds[K]['type']>
    : ValueOfType<Ds[K]['type']> | undefined;
};

/** Output values are strings on every platform; structured values are JSON. */
export type OutputValues<Os extends OutputDeclarations> = { [K in keyof Os]: string };

/** An input name as a CLI flag: `model-path` → `--model-path`. */
export function cliFlag(name: string): string {
  return `--${name}`;
}

/** An input name as a GitLab input: `model-path` → `model_path`. */
export function gitlabInputName(name: string): string {
  return name.replace(/-/g, '_');
}

/** The environment variable a GitLab job uses to pass an input to the CLI. */
export function inputEnvVar(name: string): string {
  return `FERRY_INPUT_${name.replace(/-/g, '_').toUpperCase()}`;
}

export function appliesTo(decl: InputDeclaration, platform: Platform): boolean {
  return decl.platforms === undefined || decl.platforms.includes(platform);
}

export function isConfigurable(decl: InputDeclaration): boolean {
  return decl.configurable !== false && decl.secret !== true;
}

/** Human text for a declaration's default, as shown in docs and help. */
export function describeDefault(decl: InputDeclaration): string {
  if (decl.default === undefined) return '';
  if (Array.isArray(decl.default)) return decl.default.join(',');
  if (typeof decl.default === 'object') return JSON.stringify(decl.default);
  return String(decl.default);
}
