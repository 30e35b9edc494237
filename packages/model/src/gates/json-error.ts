// Where JSON text first breaks the grammar, as line and column. JSON.parse's messages carry a
// position only for some errors ("Unexpected token 'N', ..." has none), and a user fixing a results
// file needs the line.

export interface JsonErrorLocation {
  readonly line: number;
  readonly column: number;
  /** What was found there: `"N"` or `the end of the file`. */
  readonly found: string;
}

const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const LITERAL = /true|false|null/y;

/** The first offset at which `text` stops being JSON, or undefined when it is valid. */
function errorOffset(text: string): number | undefined {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  // Each returns false at the first character that cannot continue the value; `i` stays there.
  const value = (depth: number): boolean => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      if (depth > 512) return false;
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) {
        i++;
        return true;
      }
      for (;;) {
        if (c === '{') {
          ws();
          if (text[i] !== '"' || !string()) return false;
          ws();
          if (text[i] !== ':') return false;
          i++;
        }
        if (!value(depth + 1)) return false;
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] !== close) return false;
        i++;
        return true;
      }
    }
    if (c === '"') return string();
    for (const re of [NUMBER, LITERAL]) {
      re.lastIndex = i;
      if (re.test(text)) {
        i = re.lastIndex;
        return true;
      }
    }
    return false;
  };
  const string = (): boolean => {
    i++;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return true;
      }
      if (c < 0x20) return false;
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return false;
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else return false;
      } else i++;
    }
    return false;
  };
  if (!value(0)) return i;
  ws();
  return i < text.length ? i : undefined;
}

/** The line and column (1-based) where `text` first stops being JSON, or undefined when it is valid. */
export function locateJsonError(text: string): JsonErrorLocation | undefined {
  const at = errorOffset(text);
  if (at === undefined) return undefined;
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  const column = at - before.lastIndexOf('\n');
  const found = at >= text.length ? 'the end of the file' : JSON.stringify(text[at]);
  return { line, column, found };
}
