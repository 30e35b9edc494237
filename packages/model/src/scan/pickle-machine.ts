// The scanner's model of an unpickler: a stack with marks, the memo, and the record of every
// global imported, called or mutated. Opcode semantics follow CPython's C unpickler exactly where
// they decide which name a global gets; everything else is tracked only as opaque values.
import { MalformedModelError } from '../formats/types.js';
import { Op, opcodeName } from './pickle-opcodes.js';
import { decodeQuoted, decodeRawUnicode, parseDecimal } from './pickle-text.js';
import { GlobalUse, isGlobal, keepText, OTHER, UnresolvedGlobal, UNKEPT_TEXT, type PickleValue } from './pickle-values.js';

/** An opcode applied to something the report names: `target` is a global or a description. */
export interface OpcodeEvent {
  readonly target: string;
  readonly opcode: string;
  readonly offset: number;
}

export interface PickleScan {
  readonly globals: readonly GlobalUse[];
  readonly unresolved: readonly UnresolvedGlobal[];
  /** Opcodes that change a global object in place (BUILD, SETITEM, APPEND… applied to a global). */
  readonly mutations: readonly OpcodeEvent[];
  /** REDUCE, NEWOBJ or OBJ applied to a value that is not a named global (the result of another call). */
  readonly computedCalls: readonly OpcodeEvent[];
  readonly pickles: number;
  readonly protocols: readonly number[];
  /** Stream offset just past the last opcode read. */
  readonly endOffset: number;
  readonly opcodeCounts: Readonly<Record<string, number>>;
  /** Set when the stream broke a rule; what was found before it is still listed. */
  readonly malformed?: MalformedModelError;
}

const MAX_STACK = 1_000_000;
const MAX_MEMO = 2_000_000;
/** Distinct globals; real pickles name a few dozen. */
const MAX_GLOBALS = 4096;
/** Text kept in the memo; past it, memoized strings become unresolvable (and so fail if used as names). */
const MAX_MEMO_TEXT = 64 * 1024 * 1024;
const MAX_RECORDED = 100;

export abstract class PickleMachine {
  /**
   * One flat stack with mark positions, like CPython's C unpickler: values below the top mark
   * (the fence) are out of reach until POP_MARK or a mark-consuming opcode, as with its metastack.
   */
  protected readonly stack: PickleValue[] = [];
  /**
   * Stack depth. Slots at and above it are dead; the array never shrinks, so batches of APPENDS
   * and SETITEMS cost no reallocation.
   */
  protected sp = 0;
  protected readonly marks: number[] = [];
  protected fence = 0;
  private readonly memo = new Map<number, PickleValue>();
  private memoText = 0;

  protected pickles = 0;
  protected readonly protocols = new Set<number>();
  protected readonly counts = new Uint32Array(256);
  private readonly globals = new Map<string, GlobalUse>();
  private readonly unresolved: UnresolvedGlobal[] = [];
  private readonly mutations: OpcodeEvent[] = [];
  private readonly computedCalls: OpcodeEvent[] = [];
  private readonly mutationKeys = new Set<string>();

  constructor(
    private readonly label: string,
    private readonly onPersistentId: ((pid: PickleValue) => void) | undefined,
  ) {}

  /** Stream offset of the opcode being executed. */
  protected abstract offset(): number;
  /** The opcode being executed. */
  protected abstract opcode(): number;

  protected fail(rule: string, detail: string): MalformedModelError {
    return new MalformedModelError(this.label, rule, `${detail} (at byte ${this.offset()})`);
  }

  protected underflow(what: string): MalformedModelError {
    return this.fail('pickle/stack-underflow', `${opcodeName(this.opcode())} ${what}`);
  }

  protected pop(): PickleValue {
    if (this.sp <= this.fence) throw this.underflow('pops an empty stack');
    return this.stack[--this.sp] as PickleValue;
  }

  protected top(): PickleValue {
    if (this.sp <= this.fence) throw this.underflow('needs a value on the stack');
    return this.stack[this.sp - 1] as PickleValue;
  }

  protected push(v: PickleValue): void {
    this.stack[this.sp++] = v;
  }

  /** Removes the top mark; returns where its items start (the caller reads them, then truncates). */
  protected popMark(): number {
    const m = this.marks.pop();
    if (m === undefined) throw this.underflow('without a MARK');
    this.fence = this.marks.length > 0 ? (this.marks[this.marks.length - 1] as number) : 0;
    return m;
  }

  protected dropMark(): void {
    this.sp = this.popMark();
  }

  protected memoGet(i: number): void {
    const v = this.memo.get(i);
    if (v === undefined) throw this.fail('pickle/memo-missing', `memo slot ${i} is read before it is written`);
    this.push(v);
  }

  protected memoPut(i: number): void {
    let v = this.top();
    if (typeof v === 'string') {
      this.memoText += v.length;
      if (this.memoText > MAX_MEMO_TEXT) v = UNKEPT_TEXT;
    }
    this.memo.set(i, v);
  }

  /** MEMOIZE's slot is the memo's current size, not a counter: an earlier PUT shifts it. */
  protected memoize(): void {
    this.memoPut(this.memo.size);
  }

  protected importGlobal(module: string, name: string, op: number): GlobalUse {
    const key = `${module}\n${name}`;
    let use = this.globals.get(key);
    if (!use) {
      if (this.globals.size >= MAX_GLOBALS) throw this.fail('pickle/limit-exceeded', `more than ${MAX_GLOBALS} distinct globals`);
      use = new GlobalUse(module, name, opcodeName(op), this.offset());
      this.globals.set(key, use);
    }
    use.count++;
    return use;
  }

  protected unresolvedGlobal(op: number, detail: string): UnresolvedGlobal {
    const u = new UnresolvedGlobal(opcodeName(op), this.offset(), detail);
    if (this.unresolved.length < MAX_RECORDED) this.unresolved.push(u);
    return u;
  }

  /**
   * Pickles written by Python only ever call a global they named; calling anything else (the
   * result of an allowed call) could reach code no import reveals, so it is recorded.
   */
  protected called(target: PickleValue, op: number): void {
    if (target instanceof GlobalUse) target.calls.add(opcodeName(op));
    else if (!(target instanceof UnresolvedGlobal) && this.computedCalls.length < MAX_RECORDED) {
      this.computedCalls.push({ target: describe(target), opcode: opcodeName(op), offset: this.offset() });
    }
  }

  /** BUILD, SETITEM(S), APPEND(S) and ADDITEMS change their target in place: on a global, that patches a module. */
  protected mutated(target: PickleValue, op: number): void {
    if (!isGlobal(target)) return;
    const name = target instanceof GlobalUse ? target.fullName : `unresolved ${target.detail}`;
    const key = `${name}\n${op}`;
    if (this.mutationKeys.has(key) || this.mutations.length >= MAX_RECORDED) return;
    this.mutationKeys.add(key);
    this.mutations.push({ target: name, opcode: opcodeName(op), offset: this.offset() });
    if (target instanceof GlobalUse) target.calls.add(opcodeName(op));
  }

  protected persistentId(pid: PickleValue): void {
    this.onPersistentId?.(pid);
    this.push(OTHER);
  }

  /** STOP: one load() ends; the next starts with a fresh stack but the unpickler's memo stays. */
  protected stop(): void {
    this.pop();
    this.pickles++;
    this.sp = 0;
    this.marks.length = 0;
    this.fence = 0;
  }

  protected checkLimits(): void {
    if (this.sp + this.marks.length > MAX_STACK) {
      throw this.fail('pickle/limit-exceeded', `the stack holds more than ${MAX_STACK} items`);
    }
    if (this.memo.size > MAX_MEMO) throw this.fail('pickle/limit-exceeded', `the memo holds more than ${MAX_MEMO} entries`);
  }

  /** The value of a protocol 0 text argument (STRING, UNICODE, INT, LONG, FLOAT, PERSID) in buf[start, end). */
  protected textLine(buf: Buffer, op: number, start: number, end: number): void {
    switch (op) {
      case Op.STRING: {
        const s = decodeQuoted(buf, start, end);
        if (!s.ok) throw this.fail('pickle/bad-argument', s.why);
        this.push(s.text === undefined ? UNKEPT_TEXT : keepText(s.text));
        return;
      }
      case Op.UNICODE: {
        const text = decodeRawUnicode(buf, start, end);
        this.push(text === undefined ? UNKEPT_TEXT : keepText(text));
        return;
      }
      case Op.INT: {
        const len = end - start;
        if (len === 2 && buf[start] === 0x30 && (buf[start + 1] === 0x30 || buf[start + 1] === 0x31)) {
          this.push(buf[start + 1] === 0x31);
          return;
        }
        this.push(parseDecimal(buf, start, end) ?? OTHER);
        return;
      }
      case Op.LONG: {
        const stop = end > start && buf[end - 1] === 0x4c ? end - 1 : end;
        this.push(parseDecimal(buf, start, stop) ?? OTHER);
        return;
      }
      case Op.PERSID:
        this.persistentId(keepText(buf.toString('latin1', start, end)));
        return;
      default:
        this.push(OTHER);
    }
  }

  protected result(endOffset: number, malformed: MalformedModelError | undefined): PickleScan {
    const opcodeCounts: Record<string, number> = {};
    this.counts.forEach((n, byte) => {
      if (n > 0) opcodeCounts[opcodeName(byte)] = n;
    });
    return {
      globals: [...this.globals.values()],
      unresolved: this.unresolved,
      mutations: this.mutations,
      computedCalls: this.computedCalls,
      pickles: this.pickles,
      protocols: [...this.protocols].sort(),
      endOffset,
      opcodeCounts,
      ...(malformed ? { malformed } : {}),
    };
  }
}

/** How an operand is named when STACK_GLOBAL cannot resolve it. */
export function describe(v: PickleValue): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === UNKEPT_TEXT) return 'a string that was not kept';
  if (v instanceof GlobalUse) return `the global ${v.fullName}`;
  if (Array.isArray(v)) return 'a tuple';
  if (v === null || typeof v !== 'object') return String(v);
  return 'a computed value';
}

