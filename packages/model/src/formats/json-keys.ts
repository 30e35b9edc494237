// Finds a key repeated within one JSON object. JSON.parse silently keeps the last value of a
// repeated key, so a header could show one tensor to this check and another to a different reader.

/**
 * Returns the first key that appears twice in the same object, at any depth. `text` must already be
 * valid JSON (JSON.parse accepted it): this walks tokens without re-validating, in one pass and
 * without recursion, so nesting depth costs no stack.
 */
export function findDuplicateKey(text: string): string | undefined {
  // One entry per open container: the keys seen so far for an object, null for an array.
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i++;
      let escaped = false;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) {
          escaped = true;
          i += 2;
          continue;
        }
        if (d === 0x22) break;
        i++;
      }
      const keys = stack[stack.length - 1];
      if (expectKey && keys) {
        // Escapes are decoded so that "a" and "\u0061" count as the same key.
        const key = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : text.slice(start + 1, i);
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
    } else if (c === 0x7b) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b) {
      stack.push(null);
      expectKey = false;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c) {
      expectKey = stack[stack.length - 1] != null;
    }
    i++;
  }
  return undefined;
}

/**
 * Counts the keys of every object in valid JSON text: a string token followed by ':' is a key.
 * Native indexOf does the scanning, so this is much cheaper than findDuplicateKey; comparing the
 * count with the keys JSON.parse kept tells whether any key was repeated.
 */
export function countKeyTokens(text: string): number {
  let keys = 0;
  let i = 0;
  for (;;) {
    const open = text.indexOf('"', i);
    if (open < 0) return keys;
    let close = open + 1;
    for (;;) {
      close = text.indexOf('"', close);
      if (close < 0) return keys;
      // A quote preceded by an odd run of backslashes is escaped; each run is counted once.
      let slashes = 0;
      while (text.charCodeAt(close - 1 - slashes) === 0x5c) slashes++;
      if (slashes % 2 === 0) break;
      close++;
    }
    let j = close + 1;
    for (let c = text.charCodeAt(j); c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d; c = text.charCodeAt(++j));
    if (text.charCodeAt(j) === 0x3a) keys++;
    i = close + 1;
  }
}

/** Counts the keys JSON.parse kept in a parsed value, at every depth, without recursion. */
export function countParsedKeys(value: unknown): number {
  let keys = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const x of v) if (x !== null && typeof x === 'object') stack.push(x);
      continue;
    }
    for (const k in v) {
      keys++;
      const x = (v as Record<string, unknown>)[k];
      if (x !== null && typeof x === 'object') stack.push(x);
    }
  }
  return keys;
}
