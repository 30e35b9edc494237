// WWW-Authenticate challenges (RFC 7235) as registries send them:
//   Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/model:pull"
//   Basic realm="Registry Realm"

export interface Challenge {
  /** Lower-cased: "basic", "bearer", … */
  scheme: string;
  params: Record<string, string>;
}

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
// A bare token starts a challenge (its scheme); token=value is a parameter of the current one.
const ITEM = new RegExp(`\\s*(${TOKEN})(?:\\s*=\\s*("(?:[^"\\\\]|\\\\.)*"|${TOKEN}))?\\s*,?`, 'y');

/** Every challenge in the header value, in order; token68 forms (unused by registries) are skipped. */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  ITEM.lastIndex = 0;
  let current: Challenge | undefined;
  for (let match = ITEM.exec(header); match !== null && match[0] !== ''; match = ITEM.exec(header)) {
    const [, name, raw] = match;
    if (raw === undefined) {
      current = { scheme: name!.toLowerCase(), params: {} };
      challenges.push(current);
    } else if (current !== undefined) {
      current.params[name!.toLowerCase()] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    }
  }
  return challenges;
}
