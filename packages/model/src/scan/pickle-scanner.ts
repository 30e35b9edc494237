// Walks a pickle opcode stream (protocols 0–5, concatenated pickles) without executing anything and
// records every global it would import, call or mutate (see PickleMachine). Reads through a bounded
// buffer: big payloads are skipped through the source, so memory stays flat and a 1 GiB file costs
// a few seeks, and the opcode loop itself is one synchronous switch per buffer.
import { throwIfCancelled } from '@ferry/core';
import type { ByteSource } from '../formats/byte-source.js';
import { MalformedModelError } from '../formats/types.js';
import { describe, PickleMachine, type PickleScan } from './pickle-machine.js';
import { Op, opcodeName } from './pickle-opcodes.js';
import { decodeNameLine, parseDecimal } from './pickle-text.js';
import { keepText, MAX_KEPT_TEXT, OTHER, tupleOf, UNKEPT_TEXT, type PickleValue } from './pickle-values.js';

export type { OpcodeEvent, PickleScan } from './pickle-machine.js';

export interface PickleScanOptions {
  /** Names the stream in messages: `model.pt` or `model.pt:archive/data.pkl`. */
  readonly label: string;
  /** Bytes of opcodes and their arguments (skipped payloads not counted) before the scan gives up. */
  readonly maxBytes: number;
  /** Stop after this many pickles (legacy torch.save writes five, then raw storage bytes). */
  readonly maxPickles?: number;
  /** Called with each persistent id, such as torch's ('storage', torch.FloatStorage, key, location, numel). */
  readonly onPersistentId?: (pid: PickleValue) => void;
  readonly signal?: AbortSignal;
}

const BUFFER_BYTES = 1 << 20;
/** First read after a skipped payload: opcodes between big payloads are few, so read little, then grow. */
const MIN_READ = 64 * 1024;
/** GLOBAL/INST names longer than this are malformed: no importable module or attribute path is that long. */
const MAX_NAME_LINE = 4096;

const NEED = 0;
const DONE = 1;
const SKIP = 2;
const LONG_LINE = 3;

export class PickleScanner extends PickleMachine {
  private readonly buf: Buffer;
  private view: Buffer;
  private pos = 0;
  private end = 0;
  /** Stream offset of buf[0]. */
  private base = 0;
  /** Offset in buf of the opcode being decoded. */
  private at = 0;
  private pendingSkip = 0;
  private longLineOp = 0;
  private readSize = MIN_READ;
  /** Payload bytes (skipped or not) that do not count as structure. */
  private bulk = 0;
  /** Stream offset just past the last STOP: the only place the stream may cleanly end. */
  private lastStop = 0;

  constructor(
    private readonly source: ByteSource,
    private readonly options: PickleScanOptions,
  ) {
    super(options.label, options.onPersistentId);
    this.buf = Buffer.allocUnsafe(BUFFER_BYTES);
    this.view = this.buf.subarray(0, 0);
  }

  async scan(): Promise<PickleScan> {
    let malformed: MalformedModelError | undefined;
    try {
      for (;;) {
        const status = this.run();
        if (status === DONE) break;
        if (status === SKIP) await this.skipPending();
        else if (status === LONG_LINE) await this.finishLongLine();
        else if ((await this.fill()) === 0) {
          if (this.pos === this.end && this.base + this.pos === this.lastStop) {
            if (this.pickles === 0) throw this.fail('pickle/empty', 'the stream holds no pickle');
            break;
          }
          this.at = this.pos;
          throw this.fail(
            'pickle/truncated',
            this.pos < this.end ? `the stream ends inside ${opcodeName(this.buf[this.pos] ?? 0)}` : 'the stream ends before STOP',
          );
        }
      }
    } catch (err) {
      if (!(err instanceof MalformedModelError)) throw err;
      malformed = err;
    }
    return this.result(this.base + this.pos, malformed);
  }

  protected offset(): number {
    return this.base + this.at;
  }

  protected opcode(): number {
    return this.buf[this.at] ?? 0;
  }

  /** Moves the unread tail to the front and reads more; returns the bytes read (0 at the end). */
  private async fill(): Promise<number> {
    throwIfCancelled(this.options.signal);
    if (this.pos > 0) {
      this.buf.copy(this.buf, 0, this.pos, this.end);
      this.base += this.pos;
      this.at -= this.pos;
      this.end -= this.pos;
      this.pos = 0;
    }
    const want = Math.min(this.buf.length - this.end, this.readSize);
    const n = want > 0 ? await this.source.read(this.buf, this.end, want) : 0;
    this.readSize = Math.min(this.readSize * 2, BUFFER_BYTES);
    this.end += n;
    this.view = this.buf.subarray(0, this.end);
    if (this.base + this.end - this.bulk > this.options.maxBytes) {
      throw this.fail('pickle/too-large', `more than ${this.options.maxBytes} bytes of opcodes`);
    }
    this.checkLimits();
    return n;
  }

  private async skipPending(): Promise<void> {
    throwIfCancelled(this.options.signal);
    // The buffer is fully consumed here; the skipped bytes join the stream offset.
    this.base += this.end;
    this.at -= this.end;
    this.pos = 0;
    this.end = 0;
    this.view = this.buf.subarray(0, 0);
    const want = this.pendingSkip;
    this.pendingSkip = 0;
    this.readSize = MIN_READ;
    const got = await this.source.skip(want);
    this.base += got;
    if (got < want) throw this.fail('pickle/truncated', `the stream ends ${want - got} bytes inside a payload`);
  }

  /** Consumes the rest of a text line too long for the buffer (a huge protocol 0 string or number). */
  private async finishLongLine(): Promise<void> {
    for (;;) {
      this.pos = this.end;
      if ((await this.fill()) === 0) throw this.fail('pickle/truncated', `the stream ends inside a ${opcodeName(this.longLineOp)} line`);
      const nl = this.view.indexOf(0x0a, this.pos);
      if (nl < 0) continue;
      this.pos = nl + 1;
      const op = this.longLineOp;
      if (op === Op.STRING || op === Op.UNICODE) this.push(UNKEPT_TEXT);
      else if (op === Op.PERSID) this.persistentId(UNKEPT_TEXT);
      else this.push(OTHER);
      this.counts[op] = (this.counts[op] ?? 0) + 1;
      return;
    }
  }

  /**
   * A length-prefixed payload starting at `start`. Short text is decoded (it may name a global);
   * everything else is skipped, through the source when it runs past the buffer.
   * Returns the next position, or -1 when more bytes must be read first.
   */
  private payload(start: number, n: number, text: boolean): number {
    if (text && n <= MAX_KEPT_TEXT) {
      if (start + n > this.end) return -1;
      this.push(keepText(this.buf.toString('utf8', start, start + n)));
      return start + n;
    }
    this.bulk += n;
    this.push(text ? UNKEPT_TEXT : OTHER);
    const avail = this.end - start;
    if (n <= avail) return start + n;
    this.pendingSkip = n - avail;
    return this.end;
  }

  private length8(at: number): number {
    const lo = this.buf.readUInt32LE(at);
    const hi = this.buf.readUInt32LE(at + 4);
    if (hi >= 0x200000) throw this.fail('pickle/bad-argument', `${opcodeName(this.opcode())} declares an impossible length`);
    return hi * 0x100000000 + lo;
  }

  /** Both lines of GLOBAL/INST, or undefined when they are not complete in the buffer yet. */
  private nameLines(pos: number): [string, string, number] | undefined {
    const limit = Math.min(this.end, pos + 2 + 2 * MAX_NAME_LINE);
    const l1 = this.view.indexOf(0x0a, pos + 1);
    const l2 = l1 < 0 ? -1 : this.view.indexOf(0x0a, l1 + 1);
    if (l2 < 0 || l2 >= limit || l1 - pos - 1 > MAX_NAME_LINE || l2 - l1 - 1 > MAX_NAME_LINE) {
      if (l2 >= 0 || this.end - pos > 2 + 2 * MAX_NAME_LINE) {
        throw this.fail('pickle/line-too-long', `${opcodeName(this.opcode())} names a global longer than ${MAX_NAME_LINE} bytes`);
      }
      return undefined;
    }
    return [decodeNameLine(this.buf, pos + 1, l1), decodeNameLine(this.buf, l1 + 1, l2), l2 + 1];
  }

  /** End of a one-line argument, -1 to read more, or -2 when the line outgrows the buffer. */
  private lineEnd(pos: number, op: number): number {
    const nl = this.view.indexOf(0x0a, pos + 1);
    if (nl >= 0) return nl;
    if (pos === 0 && this.end === this.buf.length) {
      if (op === Op.STRING || op === Op.UNICODE || op === Op.FLOAT || op === Op.INT || op === Op.LONG || op === Op.PERSID) return -2;
      throw this.fail('pickle/line-too-long', `${opcodeName(op)} argument longer than the ${BUFFER_BYTES}-byte buffer`);
    }
    return -1;
  }

  private memoIndex(start: number, end: number, put: boolean): number {
    const i = parseDecimal(this.buf, start, end);
    if (i === undefined || (put && i < 0)) throw this.fail('pickle/bad-argument', `memo index ${JSON.stringify(this.buf.toString('latin1', start, Math.min(end, start + 40)))} is not a usable integer`);
    return i;
  }

  /** Decodes opcodes from the buffer until one needs more bytes, a skip, or the pickle limit. */
  private run(): number {
    const buf = this.buf;
    const end = this.end;
    const counts = this.counts;
    let pos = this.pos;
    while (pos < end) {
      const op = buf[pos] as number;
      this.at = pos;
      switch (op) {
        case Op.MARK:
          this.marks.push(this.sp);
          this.fence = this.sp;
          pos += 1;
          break;
        case Op.STOP:
          this.stop();
          pos += 1;
          this.lastStop = this.base + pos;
          counts[op]++;
          if (this.options.maxPickles !== undefined && this.pickles >= this.options.maxPickles) {
            this.pos = pos;
            return DONE;
          }
          continue;
        case Op.POP:
          if (this.sp > this.fence) this.sp--;
          else this.dropMark();
          pos += 1;
          break;
        case Op.POP_MARK:
          this.dropMark();
          pos += 1;
          break;
        case Op.DUP:
          this.push(this.top());
          pos += 1;
          break;
        case Op.NONE:
          this.push(null);
          pos += 1;
          break;
        case Op.NEWTRUE:
        case Op.NEWFALSE:
          this.push(op === Op.NEWTRUE);
          pos += 1;
          break;
        case Op.BININT1:
          if (pos + 2 > end) return this.need(pos);
          this.push(buf[pos + 1] as number);
          pos += 2;
          break;
        case Op.BININT2:
          if (pos + 3 > end) return this.need(pos);
          this.push(buf.readUInt16LE(pos + 1));
          pos += 3;
          break;
        case Op.BININT:
          if (pos + 5 > end) return this.need(pos);
          this.push(buf.readInt32LE(pos + 1));
          pos += 5;
          break;
        case Op.BINFLOAT:
          if (pos + 9 > end) return this.need(pos);
          this.push(OTHER);
          pos += 9;
          break;
        case Op.LONG1: {
          if (pos + 2 > end) return this.need(pos);
          const n = buf[pos + 1] as number;
          if (pos + 2 + n > end) return this.need(pos);
          this.push(n === 0 ? 0 : n <= 6 ? buf.readIntLE(pos + 2, n) : OTHER);
          pos += 2 + n;
          break;
        }
        case Op.LONG4: {
          if (pos + 5 > end) return this.need(pos);
          const n = buf.readInt32LE(pos + 1);
          if (n < 0) throw this.fail('pickle/bad-argument', 'LONG4 has a negative byte count');
          const next = this.payload(pos + 5, n, false);
          if (next < 0) return this.need(pos);
          pos = next;
          if (this.pendingSkip > 0) return this.skip(op, pos);
          break;
        }
        case Op.SHORT_BINUNICODE:
        case Op.SHORT_BINSTRING:
        case Op.SHORT_BINBYTES: {
          if (pos + 2 > end) return this.need(pos);
          const next = this.payload(pos + 2, buf[pos + 1] as number, op !== Op.SHORT_BINBYTES);
          if (next < 0) return this.need(pos);
          pos = next;
          if (this.pendingSkip > 0) return this.skip(op, pos);
          break;
        }
        case Op.BINUNICODE:
        case Op.BINBYTES:
        case Op.BINSTRING: {
          if (pos + 5 > end) return this.need(pos);
          const n = op === Op.BINSTRING ? buf.readInt32LE(pos + 1) : buf.readUInt32LE(pos + 1);
          if (n < 0) throw this.fail('pickle/bad-argument', 'BINSTRING has a negative byte count');
          const next = this.payload(pos + 5, n, op !== Op.BINBYTES);
          if (next < 0) return this.need(pos);
          pos = next;
          if (this.pendingSkip > 0) return this.skip(op, pos);
          break;
        }
        case Op.BINUNICODE8:
        case Op.BINBYTES8:
        case Op.BYTEARRAY8: {
          if (pos + 9 > end) return this.need(pos);
          const next = this.payload(pos + 9, this.length8(pos + 1), op === Op.BINUNICODE8);
          if (next < 0) return this.need(pos);
          pos = next;
          if (this.pendingSkip > 0) return this.skip(op, pos);
          break;
        }
        case Op.STRING:
        case Op.UNICODE:
        case Op.INT:
        case Op.LONG:
        case Op.FLOAT:
        case Op.PERSID: {
          const nl = this.lineEnd(pos, op);
          if (nl === -1) return this.need(pos);
          if (nl === -2) {
            this.longLineOp = op;
            this.pos = end;
            return LONG_LINE;
          }
          this.textLine(buf, op, pos + 1, nl);
          pos = nl + 1;
          break;
        }
        case Op.GLOBAL:
        case Op.INST: {
          const lines = this.nameLines(pos);
          if (!lines) return this.need(pos);
          const g = this.importGlobal(lines[0], lines[1], op);
          if (op === Op.INST) {
            this.dropMark();
            this.called(g, op);
            this.push(OTHER);
          } else this.push(g);
          pos = lines[2];
          break;
        }
        case Op.STACK_GLOBAL: {
          const name = this.pop();
          const module = this.pop();
          if (typeof module === 'string' && typeof name === 'string') this.push(this.importGlobal(module, name, op));
          else this.push(this.unresolvedGlobal(op, `module ${describe(module)}, name ${describe(name)}`));
          pos += 1;
          break;
        }
        case Op.EXT1:
        case Op.EXT2:
        case Op.EXT4: {
          const width = op === Op.EXT1 ? 1 : op === Op.EXT2 ? 2 : 4;
          if (pos + 1 + width > end) return this.need(pos);
          const code = buf.readUIntLE(pos + 1, width);
          this.push(this.unresolvedGlobal(op, `extension code ${code} from the copyreg registry`));
          pos += 1 + width;
          break;
        }
        case Op.REDUCE: {
          this.pop();
          this.called(this.top(), op);
          this.stack[this.sp - 1] = OTHER;
          pos += 1;
          break;
        }
        case Op.NEWOBJ:
        case Op.NEWOBJ_EX: {
          if (op === Op.NEWOBJ_EX) this.pop();
          this.pop();
          this.called(this.pop(), op);
          this.push(OTHER);
          pos += 1;
          break;
        }
        case Op.OBJ: {
          const m = this.popMark();
          if (this.sp === m) throw this.underflow('without a class');
          this.called(this.stack[m] as PickleValue, op);
          this.sp = m;
          this.push(OTHER);
          pos += 1;
          break;
        }
        case Op.BUILD:
        case Op.APPEND:
        case Op.SETITEM:
          this.pop();
          if (op === Op.SETITEM) this.pop();
          this.mutated(this.top(), op);
          pos += 1;
          break;
        case Op.APPENDS:
        case Op.SETITEMS:
        case Op.ADDITEMS:
          this.dropMark();
          this.mutated(this.top(), op);
          pos += 1;
          break;
        case Op.BINPERSID:
          this.persistentId(this.pop());
          pos += 1;
          break;
        case Op.EMPTY_DICT:
        case Op.EMPTY_LIST:
        case Op.EMPTY_SET:
        case Op.NEXT_BUFFER:
          this.push(OTHER);
          pos += 1;
          break;
        case Op.DICT:
        case Op.LIST:
        case Op.FROZENSET:
          this.dropMark();
          this.push(OTHER);
          pos += 1;
          break;
        case Op.READONLY_BUFFER:
          this.top();
          pos += 1;
          break;
        case Op.EMPTY_TUPLE:
          this.push([]);
          pos += 1;
          break;
        case Op.TUPLE: {
          const m = this.popMark();
          const tuple = tupleOf(this.stack, m, this.sp);
          this.sp = m;
          this.push(tuple);
          pos += 1;
          break;
        }
        case Op.TUPLE1:
        case Op.TUPLE2:
        case Op.TUPLE3: {
          const n = op - Op.TUPLE1 + 1;
          if (this.sp - n < this.fence) throw this.underflow(`needs ${n} values`);
          const tuple = this.stack.slice(this.sp - n, this.sp);
          this.sp -= n;
          this.push(tuple);
          pos += 1;
          break;
        }
        case Op.BINGET:
          if (pos + 2 > end) return this.need(pos);
          this.memoGet(buf[pos + 1] as number);
          pos += 2;
          break;
        case Op.LONG_BINGET:
          if (pos + 5 > end) return this.need(pos);
          this.memoGet(buf.readUInt32LE(pos + 1));
          pos += 5;
          break;
        case Op.BINPUT:
          if (pos + 2 > end) return this.need(pos);
          this.memoPut(buf[pos + 1] as number);
          pos += 2;
          break;
        case Op.LONG_BINPUT:
          if (pos + 5 > end) return this.need(pos);
          this.memoPut(buf.readUInt32LE(pos + 1));
          pos += 5;
          break;
        case Op.MEMOIZE:
          this.memoize();
          pos += 1;
          break;
        case Op.GET:
        case Op.PUT: {
          const nl = this.lineEnd(pos, op);
          if (nl === -1) return this.need(pos);
          const i = this.memoIndex(pos + 1, nl, op === Op.PUT);
          if (op === Op.GET) this.memoGet(i);
          else this.memoPut(i);
          pos = nl + 1;
          break;
        }
        case Op.PROTO: {
          if (pos + 2 > end) return this.need(pos);
          const proto = buf[pos + 1] as number;
          if (proto > 5) throw this.fail('pickle/unsupported-protocol', `protocol ${proto} is newer than 5`);
          this.protocols.add(proto);
          pos += 2;
          break;
        }
        case Op.FRAME:
          // Frames only group opcodes for buffered reading; the opcodes inside are read as usual.
          if (pos + 9 > end) return this.need(pos);
          this.length8(pos + 1);
          pos += 9;
          break;
        default:
          throw this.fail('pickle/unknown-opcode', `byte 0x${op.toString(16).padStart(2, '0')} is not a pickle opcode`);
      }
      counts[op]++;
    }
    this.pos = pos;
    return NEED;
  }

  private need(pos: number): number {
    this.pos = pos;
    return NEED;
  }

  private skip(op: number, pos: number): number {
    this.counts[op] = (this.counts[op] ?? 0) + 1;
    this.pos = pos;
    return SKIP;
  }
}

/** Scans a whole stream; see PickleScanner. */
export async function scanPickleStream(source: ByteSource, options: PickleScanOptions): Promise<PickleScan> {
  return new PickleScanner(source, options).scan();
}
