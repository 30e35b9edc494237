// A small evaluator for the GitHub Actions expressions (`${{ … }}`) the repository's workflows use:
// context properties (github, inputs, vars, env, needs, steps, secrets, runner), string, number and
// boolean literals, ! && || == != and parentheses, and the functions success, failure, always,
// cancelled, fromJSON and format. Anything else throws, so a workflow cannot drift into an
// expression the runner simulation would silently get wrong.

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

export interface ExpressionContext {
  /** Contexts by name; a name missing here is not available where the expression is used. */
  readonly contexts: Readonly<Record<string, Value | undefined>>;
  /** success()/failure() as the job or step sees them; absent where status functions are not allowed. */
  readonly status?: { readonly success: boolean; readonly failure: boolean };
}

type Token = { kind: 'punct'; text: string } | { kind: 'string'; value: string } | { kind: 'number'; value: number } | { kind: 'ident'; text: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const rest = source.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const punct = /^(&&|\|\||==|!=|[()!.,[\]])/.exec(rest);
    const str = /^'((?:[^']|'')*)'/.exec(rest);
    const num = /^-?\d+(\.\d+)?/.exec(rest);
    const ident = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(rest);
    if (punct) tokens.push({ kind: 'punct', text: punct[0] });
    else if (str) tokens.push({ kind: 'string', value: str[1]!.replace(/''/g, "'") });
    else if (num) tokens.push({ kind: 'number', value: Number(num[0]) });
    else if (ident) tokens.push({ kind: 'ident', text: ident[0] });
    else throw new Error(`expression "${source}": cannot read "${rest}"`);
    i += (punct ?? str ?? num ?? ident)![0].length;
  }
  return tokens;
}

export function truthy(v: Value): boolean {
  return !(v === null || v === false || v === 0 || v === '' || (typeof v === 'number' && Number.isNaN(v)));
}

/** GitHub's loose equality: strings compare case-insensitively; mixed types compare as numbers (null and '' are 0). */
function equal(a: Value, b: Value): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  if (typeof a === 'object' && a !== null) return a === b;
  if (typeof b === 'object' && b !== null) return false;
  const num = (v: string | number | boolean | null): number => (v === null ? 0 : typeof v === 'string' ? (v.trim() === '' ? 0 : Number(v)) : Number(v));
  return num(a) === num(b);
}

/** How a value becomes text in `${{ }}` interpolation and in INPUT_ variables. */
export function asText(v: Value): string {
  if (v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

const STATUS_FUNCTIONS = ['success', 'failure', 'always', 'cancelled'];

/** True when the condition calls a status function (otherwise GitHub prefixes `success() &&`). */
export function usesStatusFunction(condition: string): boolean {
  return tokenize(unwrap(condition)).some((t, i, all) => t.kind === 'ident' && STATUS_FUNCTIONS.includes(t.text) && all[i + 1]?.kind === 'punct' && (all[i + 1] as { text: string }).text === '(');
}

function unwrap(condition: string): string {
  const m = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(condition);
  return m ? m[1]! : condition;
}

class Parser {
  private pos = 0;
  constructor(
    private readonly source: string,
    private readonly tokens: Token[],
    private readonly ctx: ExpressionContext,
  ) {}

  parse(): Value {
    const v = this.or();
    if (this.pos < this.tokens.length) this.fail('unexpected trailing input');
    return v;
  }

  private fail(why: string): never {
    throw new Error(`expression "${this.source}": ${why}`);
  }

  private peek(text: string): boolean {
    const t = this.tokens[this.pos];
    return t?.kind === 'punct' && t.text === text;
  }

  private expect(text: string): void {
    if (!this.peek(text)) this.fail(`expected "${text}"`);
    this.pos++;
  }

  private or(): Value {
    let left = this.and();
    while (this.peek('||')) {
      this.pos++;
      const right = this.and();
      left = truthy(left) ? left : right;
    }
    return left;
  }

  private and(): Value {
    let left = this.equality();
    while (this.peek('&&')) {
      this.pos++;
      const right = this.equality();
      left = truthy(left) ? right : left;
    }
    return left;
  }

  private equality(): Value {
    const left = this.unary();
    if (this.peek('==') || this.peek('!=')) {
      const negate = this.peek('!=');
      this.pos++;
      const right = this.unary();
      return equal(left, right) !== negate;
    }
    return left;
  }

  private unary(): Value {
    if (this.peek('!')) {
      this.pos++;
      return !truthy(this.unary());
    }
    return this.primary();
  }

  private primary(): Value {
    const t = this.tokens[this.pos++];
    if (!t) this.fail('unexpected end');
    if (t.kind === 'string' || t.kind === 'number') return t.value;
    if (t.kind === 'punct') {
      if (t.text !== '(') this.fail(`unexpected "${t.text}"`);
      const v = this.or();
      this.expect(')');
      return v;
    }
    if (t.text === 'true' || t.text === 'false') return t.text === 'true';
    if (t.text === 'null') return null;
    if (this.peek('(')) return this.call(t.text);
    return this.property(t.text);
  }

  private call(name: string): Value {
    this.expect('(');
    const args: Value[] = [];
    while (!this.peek(')')) {
      args.push(this.or());
      if (!this.peek(')')) this.expect(',');
    }
    this.expect(')');
    if (STATUS_FUNCTIONS.includes(name)) {
      const status = this.ctx.status ?? this.fail(`${name}() is not available here`);
      if (args.length > 0) this.fail(`${name}() takes no arguments`);
      return name === 'success' ? status.success : name === 'failure' ? status.failure : name === 'always';
    }
    if (name === 'fromJSON' && args.length === 1) return JSON.parse(asText(args[0]!)) as Value;
    if (name === 'format' && args.length >= 1) return asText(args[0]!).replace(/\{(\d+)\}/g, (_m, i: string) => asText(args[1 + Number(i)] ?? this.fail(`format() has no argument {${i}}`)));
    return this.fail(`the runner simulation does not know ${name}() with ${args.length} argument(s)`);
  }

  private property(root: string): Value {
    if (!(root in this.ctx.contexts)) this.fail(`the context "${root}" is not available here`);
    let v: Value | undefined = this.ctx.contexts[root];
    const path = [root];
    while (this.peek('.') || this.peek('[')) {
      if (this.peek('[')) this.fail('index access is not supported by the runner simulation');
      this.pos++;
      const t = this.tokens[this.pos++];
      if (t?.kind !== 'ident') this.fail(`expected a property name after ${path.join('.')}`);
      // Jobs and steps must exist: a typo in needs.<job> or steps.<id> would otherwise read as ''.
      if ((root === 'needs' || root === 'steps') && path.length === 1 && (v === null || typeof v !== 'object' || !(t.text in v))) this.fail(`${root}.${t.text} does not exist here`);
      v = v !== null && typeof v === 'object' && !Array.isArray(v) ? v[t.text] : undefined;
      path.push(t.text);
    }
    return v ?? null;
  }
}

/** Evaluates one expression, with or without its `${{ }}`. */
export function evaluate(expression: string, ctx: ExpressionContext): Value {
  const source = unwrap(expression).trim();
  return new Parser(source, tokenize(source), ctx).parse();
}

/**
 * A workflow value: a string that is exactly one `${{ }}` keeps the expression's value (runs-on can
 * be an array); other strings have each `${{ }}` replaced by its text; maps and lists are walked.
 */
export function interpolate(value: unknown, ctx: ExpressionContext): Value {
  if (Array.isArray(value)) return value.map((v) => interpolate(v, ctx));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, ctx)]));
  if (typeof value !== 'string') return value as Value;
  const whole = /^\$\{\{((?:(?!\}\})[\s\S])*)\}\}$/.exec(value.trim());
  if (whole) return evaluate(whole[1]!, ctx);
  return value.replace(/\$\{\{((?:(?!\}\})[\s\S])*)\}\}/g, (_m, expr: string) => asText(evaluate(expr, ctx)));
}
