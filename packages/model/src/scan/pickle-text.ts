// Decoders for the text arguments of protocol 0 opcodes. Each accepts a subset of what CPython
// accepts and gives the same value for it; anything else is reported as undecodable, never guessed,
// so the scanner cannot resolve a memo slot or a name differently from the real unpickler.

const SPACE = new Set([0x20, 0x09, 0x0a, 0x0d, 0x0b, 0x0c]);

/**
 * A base-10 integer as Python's int() reads it (surrounding whitespace, a sign, single underscores
 * between digits), or undefined when the text is not one or is too large to index exactly.
 */
export function parseDecimal(buf: Buffer, start: number, end: number): number | undefined {
  while (start < end && SPACE.has(buf[start] ?? 0)) start++;
  while (end > start && SPACE.has(buf[end - 1] ?? 0)) end--;
  let sign = 1;
  if (start < end && (buf[start] === 0x2b || buf[start] === 0x2d)) {
    if (buf[start] === 0x2d) sign = -1;
    start++;
  }
  if (start >= end) return undefined;
  let value = 0;
  let prevDigit = false;
  for (let i = start; i < end; i++) {
    const c = buf[i] ?? 0;
    if (c === 0x5f) {
      if (!prevDigit || i === end - 1) return undefined;
      prevDigit = false;
      continue;
    }
    if (c < 0x30 || c > 0x39) return undefined;
    value = value * 10 + (c - 0x30);
    prevDigit = true;
  }
  if (!prevDigit || value > Number.MAX_SAFE_INTEGER) return undefined;
  return sign * value;
}

/** True when every byte is printable ASCII without a backslash: text whose decoding cannot be argued about. */
function plainAscii(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = buf[i] ?? 0;
    if (c < 0x20 || c > 0x7e || c === 0x5c) return false;
  }
  return true;
}

export type TextArgument = { readonly ok: true; readonly text: string | undefined } | { readonly ok: false; readonly why: string };

/**
 * The STRING opcode's quoted repr. Returns the text when it is plain ASCII; escapes and other bytes
 * give `text: undefined` (a string the scanner does not resolve), since module names never need them.
 */
export function decodeQuoted(buf: Buffer, start: number, end: number): TextArgument {
  const q = buf[start];
  if (end - start < 2 || (q !== 0x27 && q !== 0x22) || buf[end - 1] !== q) {
    return { ok: false, why: 'the STRING argument must be quoted' };
  }
  return { ok: true, text: plainAscii(buf, start + 1, end - 1) ? buf.toString('latin1', start + 1, end - 1) : undefined };
}

/** The UNICODE opcode's raw-unicode-escape text, resolved only when it holds no escapes. */
export function decodeRawUnicode(buf: Buffer, start: number, end: number): string | undefined {
  return plainAscii(buf, start, end) ? buf.toString('latin1', start, end) : undefined;
}

/** A module or name line of GLOBAL and INST, decoded as UTF-8 like the unpickler does. */
export function decodeNameLine(buf: Buffer, start: number, end: number): string {
  return buf.toString('utf8', start, end);
}
