// The scanner's model of what an unpickler would hold on its stack and in its memo: only what
// decides which globals get imported (strings, globals, small tuples); everything else is opaque.

/** A value the scanner does not track: a list, dict, bytes, float, an object built by a call… */
export class Opaque {
  constructor(readonly what: string) {}
}

export const OTHER = new Opaque('object');
/** A str the scanner did not keep (long, escaped or not a dotted identifier): never resolvable as a name. */
export const UNKEPT_TEXT = new Opaque('text');

/** A global the stream imports by name (GLOBAL, INST or STACK_GLOBAL with resolved operands). */
export class GlobalUse {
  count = 0;
  /** Opcodes that called it or mutated it: REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST, BUILD, APPEND… */
  readonly calls = new Set<string>();
  constructor(
    readonly module: string,
    readonly name: string,
    /** Opcode of its first import. */
    readonly opcode: string,
    /** Stream offset of its first import. */
    readonly offset: number,
  ) {}

  get fullName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A global whose name the scanner cannot know: STACK_GLOBAL on computed operands, or an EXT code. */
export class UnresolvedGlobal {
  constructor(
    readonly opcode: string,
    readonly offset: number,
    readonly detail: string,
  ) {}
}

export type PickleValue = string | number | boolean | null | GlobalUse | UnresolvedGlobal | Opaque | readonly PickleValue[];

/** Tuples longer than this are opaque: persistent ids and reduce arguments that matter are short. */
export const MAX_TRACKED_TUPLE = 8;
/** Longest str kept (in UTF-8 bytes); module paths, qualified names and storage keys are far shorter. */
export const MAX_KEPT_TEXT = 256;

/** Keeps a short str; a longer one can still be pushed and memoized, but never resolves as a name. */
export function keepText(text: string): string | Opaque {
  return text.length <= MAX_KEPT_TEXT ? text : UNKEPT_TEXT;
}

/** The tuple of stack[from, to), or OTHER when it is too long to track. */
export function tupleOf(stack: readonly PickleValue[], from: number, to: number): PickleValue {
  return to - from <= MAX_TRACKED_TUPLE ? stack.slice(from, to) : OTHER;
}

export function isGlobal(v: PickleValue): v is GlobalUse | UnresolvedGlobal {
  return v instanceof GlobalUse || v instanceof UnresolvedGlobal;
}
