// A strict reader for the XML subset report files use (declaration, elements, attributes, text,
// comments, CDATA, entity and character references), so tests check well-formedness and read
// back the decoded values without a parser dependency. It throws on anything malformed.

export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  readonly text: string;
}

const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;
// Characters XML 1.0 allows in a document (no C0 controls other than tab, LF, CR).
const INVALID_CHAR = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decode(raw: string, where: string): string {
  if (raw.includes('<')) throw new Error(`raw "<" in ${where}`);
  return raw.replace(/&([^;&\s]*);?/g, (whole, ref: string) => {
    if (!whole.endsWith(';')) throw new Error(`unterminated reference "${whole}" in ${where}`);
    if (ref in ENTITIES) return ENTITIES[ref]!;
    const m = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(ref);
    if (!m) throw new Error(`unknown entity "&${ref};" in ${where}`);
    const ch = String.fromCodePoint(m[1] !== undefined ? parseInt(m[1], 16) : Number(m[2]));
    if (INVALID_CHAR.test(ch)) throw new Error(`character reference to an invalid character in ${where}`);
    return ch;
  });
}

export function parseXml(doc: string): XmlElement {
  if (INVALID_CHAR.test(doc)) throw new Error('document holds a character XML does not allow');
  let i = 0;
  const fail = (msg: string): never => {
    throw new Error(`${msg} at offset ${i}: ${JSON.stringify(doc.slice(i, i + 40))}`);
  };
  const skipSpace = (): void => {
    while (i < doc.length && /\s/.test(doc[i]!)) i += 1;
  };
  const name = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(doc);
    if (!m) fail('expected a name');
    i += m![0].length;
    return m![0];
  };
  const skipMisc = (): void => {
    for (;;) {
      skipSpace();
      if (doc.startsWith('<!--', i)) {
        const end = doc.indexOf('-->', i + 4);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
      } else if (doc.startsWith('<?', i)) {
        const end = doc.indexOf('?>', i + 2);
        if (end < 0) fail('unterminated processing instruction');
        i = end + 2;
      } else return;
    }
  };
  const element = (): XmlElement => {
    if (doc[i] !== '<') fail('expected "<"');
    i += 1;
    const tag = name();
    const attributes: Record<string, string> = {};
    for (;;) {
      const before = i;
      skipSpace();
      if (doc.startsWith('/>', i)) {
        i += 2;
        return { name: tag, attributes, children: [], text: '' };
      }
      if (doc[i] === '>') {
        i += 1;
        break;
      }
      if (i === before) fail('expected whitespace before an attribute');
      const attr = name();
      skipSpace();
      if (doc[i] !== '=') fail(`expected "=" after attribute ${attr}`);
      i += 1;
      skipSpace();
      const quote = doc[i];
      if (quote !== '"' && quote !== "'") fail(`attribute ${attr} is not quoted`);
      const end = doc.indexOf(quote!, i + 1);
      if (end < 0) fail(`unterminated attribute ${attr}`);
      if (attr in attributes) fail(`duplicate attribute ${attr}`);
      attributes[attr] = decode(doc.slice(i + 1, end), `attribute ${tag}@${attr}`);
      i = end + 1;
    }
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      if (i >= doc.length) fail(`<${tag}> is never closed`);
      if (doc.startsWith('</', i)) {
        i += 2;
        const closing = name();
        if (closing !== tag) fail(`</${closing}> closes <${tag}>`);
        skipSpace();
        if (doc[i] !== '>') fail('expected ">"');
        i += 1;
        return { name: tag, attributes, children, text };
      }
      if (doc.startsWith('<![CDATA[', i)) {
        const end = doc.indexOf(']]>', i);
        if (end < 0) fail('unterminated CDATA');
        text += doc.slice(i + 9, end);
        i = end + 3;
      } else if (doc.startsWith('<!--', i)) {
        const end = doc.indexOf('-->', i + 4);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
      } else if (doc[i] === '<') {
        children.push(element());
      } else {
        const end = doc.indexOf('<', i);
        const raw = doc.slice(i, end < 0 ? doc.length : end);
        if (raw.includes(']]>')) fail('"]]>" in text');
        text += decode(raw, `text of <${tag}>`);
        i += raw.length;
      }
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (i !== doc.length) fail('content after the root element');
  return root;
}

/** All descendants (depth first) named `name`. */
export function findAll(el: XmlElement, name: string): XmlElement[] {
  return el.children.flatMap((c) => [...(c.name === name ? [c] : []), ...findAll(c, name)]);
}
