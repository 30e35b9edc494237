// Reads the .npy header (a Python dict literal) with a small literal parser, never an evaluator,
// and derives what the checkers need: whether the dtype holds objects (the payload is then a
// pickle) and how many data bytes the shape and item size declare.

export class NpyHeaderError extends Error {
  constructor(
    readonly rule: string,
    message: string,
  ) {
    super(message);
  }
}

export const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);
/** numpy itself refuses headers over 10,000 bytes unless told otherwise; allow generous structured dtypes. */
export const MAX_NPY_HEADER = 1024 * 1024;
const MAX_DEPTH = 16;

type Literal = string | bigint | boolean | null | Literal[] | { readonly tuple: Literal[] } | Map<string, Literal>;

/** Python literals: strings, integers, True/False/None, tuples, lists and dicts with string keys. */
class LiteralParser {
  private i = 0;
  constructor(private readonly s: string) {}

  parse(): Literal {
    const v = this.value(0);
    this.space();
    if (this.i !== this.s.length) throw this.err(`unexpected ${JSON.stringify(this.s.slice(this.i, this.i + 10))}`);
    return v;
  }

  private err(msg: string): NpyHeaderError {
    return new NpyHeaderError('numpy/header', `header literal: ${msg} at character ${this.i}`);
  }

  private space(): void {
    while (this.i < this.s.length && ' \t\r\n'.includes(this.s[this.i] as string)) this.i++;
  }

  private value(depth: number): Literal {
    if (depth > MAX_DEPTH) throw this.err('nested too deeply');
    this.space();
    const c = this.s[this.i];
    if (c === "'" || c === '"') return this.string(c);
    if (c === '(' || c === '[') return this.sequence(c === '(' ? ')' : ']', depth);
    if (c === '{') return this.dict(depth);
    const word = /^(True|False|None|-?\d+L?)/.exec(this.s.slice(this.i, this.i + 32))?.[0];
    if (!word) throw this.err('expected a literal');
    this.i += word.length;
    if (word === 'True' || word === 'False') return word === 'True';
    if (word === 'None') return null;
    return BigInt(word.replace(/L$/, ''));
  }

  private string(q: string): string {
    const close = this.s.indexOf(q, this.i + 1);
    if (close < 0) throw this.err('unterminated string');
    const body = this.s.slice(this.i + 1, close);
    // numpy never escapes anything in a header; refusing escapes keeps this a reader, not a decoder.
    if (body.includes('\\')) throw this.err('escape sequences are not supported');
    this.i = close + 1;
    return body;
  }

  private sequence(close: string, depth: number): Literal {
    this.i++;
    const items: Literal[] = [];
    let trailingComma = false;
    for (;;) {
      this.space();
      if (this.s[this.i] === close) {
        this.i++;
        break;
      }
      items.push(this.value(depth + 1));
      this.space();
      trailingComma = false;
      if (this.s[this.i] === ',') {
        this.i++;
        trailingComma = true;
      } else if (this.s[this.i] !== close) throw this.err(`expected "," or "${close}"`);
    }
    // (x) is just x in Python; only (x,) is a one-element tuple.
    if (close === ')') return items.length === 1 && !trailingComma ? (items[0] as Literal) : { tuple: items };
    return items;
  }

  private dict(depth: number): Literal {
    this.i++;
    const map = new Map<string, Literal>();
    for (;;) {
      this.space();
      if (this.s[this.i] === '}') {
        this.i++;
        return map;
      }
      const key = this.value(depth + 1);
      if (typeof key !== 'string') throw this.err('dict keys must be strings');
      this.space();
      if (this.s[this.i] !== ':') throw this.err('expected ":"');
      this.i++;
      if (map.has(key)) throw this.err(`duplicate key ${JSON.stringify(key)}`);
      map.set(key, this.value(depth + 1));
      this.space();
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== '}') throw this.err('expected "," or "}"');
    }
  }
}

export interface NpyHeader {
  /** Offset of the first data byte (magic, version, length field and header). */
  readonly dataOffset: number;
  readonly version: string;
  readonly shape: readonly bigint[];
  readonly fortranOrder: boolean;
  /** True when any field of the dtype is an object: the payload is then a pickle. */
  readonly hasObject: boolean;
  readonly itemSize: bigint;
  /** Data bytes the header declares (shape × item size); meaningless when hasObject. */
  readonly dataBytes: bigint;
  readonly descr: string;
}

/** Length of the fixed preamble and the header that follows it, from the first 12 bytes. */
export function npyPreamble(head: Buffer): { readonly version: [number, number]; readonly headerStart: number; readonly headerLength: number } {
  if (head.length < 10 || !head.subarray(0, 6).equals(NPY_MAGIC)) throw new NpyHeaderError('numpy/magic', 'missing the \\x93NUMPY magic');
  const major = head[6] ?? 0;
  const minor = head[7] ?? 0;
  if (major === 1) return { version: [major, minor], headerStart: 10, headerLength: head.readUInt16LE(8) };
  if (major !== 2 && major !== 3) throw new NpyHeaderError('numpy/version', `format version ${major}.${minor} is not 1, 2 or 3`);
  if (head.length < 12) throw new NpyHeaderError('numpy/truncated', 'the preamble is cut short');
  return { version: [major, minor], headerStart: 12, headerLength: head.readUInt32LE(8) };
}

const TYPESTR = /^([<>|=]?)([?bBhHiIlLqQuUfdgcFDGmMOSaV])(\d*)(\[\w+\])?$/;

function typestrSize(t: string): { size: bigint; object: boolean } {
  const m = TYPESTR.exec(t);
  if (!m) throw new NpyHeaderError('numpy/dtype', `dtype ${JSON.stringify(t)} is not a numpy type string`);
  const kind = m[2] as string;
  const digits = m[3] ? BigInt(m[3]) : undefined;
  if (kind === 'O') return { size: 8n, object: true };
  if (kind === '?') return { size: 1n, object: false };
  if (digits === undefined) throw new NpyHeaderError('numpy/dtype', `dtype ${JSON.stringify(t)} has no size`);
  return { size: kind === 'U' ? digits * 4n : digits, object: false };
}

function shapeOf(v: Literal | undefined, what: string): bigint[] {
  const items = v !== null && typeof v === 'object' && 'tuple' in v ? v.tuple : undefined;
  if (!items || !items.every((d): d is bigint => typeof d === 'bigint' && d >= 0n)) {
    throw new NpyHeaderError('numpy/header', `${what} must be a tuple of non-negative integers`);
  }
  return items;
}

/** Item size of a descr: a type string, or a structured list of (name, type[, shape]) fields. */
function descrSize(d: Literal, depth = 0): { size: bigint; object: boolean } {
  if (depth > MAX_DEPTH) throw new NpyHeaderError('numpy/dtype', 'structured dtype nested too deeply');
  if (typeof d === 'string') return typestrSize(d);
  if (!Array.isArray(d)) throw new NpyHeaderError('numpy/dtype', 'descr must be a type string or a list of fields');
  let size = 0n;
  let object = false;
  for (const field of d) {
    const parts = field !== null && typeof field === 'object' && 'tuple' in field ? field.tuple : undefined;
    if (!parts || parts.length < 2 || parts.length > 3) throw new NpyHeaderError('numpy/dtype', 'a structured field must be (name, type[, shape])');
    const inner = descrSize(parts[1] as Literal, depth + 1);
    const count = parts.length === 3 ? shapeOf(parts[2], 'a field shape').reduce((a, b) => a * b, 1n) : 1n;
    size += inner.size * count;
    object ||= inner.object;
  }
  return { size, object };
}

/** Parses the header text (after the preamble). */
export function parseNpyHeader(text: string, dataOffset: number, version: string): NpyHeader {
  if (!text.endsWith('\n')) throw new NpyHeaderError('numpy/header', 'the header does not end with a newline');
  const dict = new LiteralParser(text).parse();
  if (!(dict instanceof Map)) throw new NpyHeaderError('numpy/header', 'the header is not a dict');
  const keys = [...dict.keys()].sort().join(',');
  if (keys !== 'descr,fortran_order,shape') throw new NpyHeaderError('numpy/header', `the header keys are ${keys}, not descr, fortran_order and shape`);
  const fortran = dict.get('fortran_order');
  if (typeof fortran !== 'boolean') throw new NpyHeaderError('numpy/header', 'fortran_order must be True or False');
  const shape = shapeOf(dict.get('shape'), 'shape');
  const descr = dict.get('descr') as Literal;
  const { size, object } = descrSize(descr);
  const count = shape.reduce((a, b) => a * b, 1n);
  return {
    dataOffset,
    version,
    shape,
    fortranOrder: fortran,
    hasObject: object,
    itemSize: size,
    dataBytes: count * size,
    descr: typeof descr === 'string' ? descr : 'structured',
  };
}
