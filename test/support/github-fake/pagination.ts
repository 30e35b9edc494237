// GitHub's page-number pagination: `per_page` (default 30, at most 100) and `page`, with an
// RFC 8288 `Link` header naming the first, prev, next and last pages.

export interface Page<T> {
  items: T[];
  /** The `Link` header value, absent when everything fits on one page. */
  link?: string;
}

export function paginate<T>(all: readonly T[], url: URL): Page<T> {
  const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30)));
  const page = Math.max(1, Number(url.searchParams.get('page') ?? 1));
  const last = Math.max(1, Math.ceil(all.length / perPage));
  const items = all.slice((page - 1) * perPage, page * perPage);
  if (last === 1) return { items };
  const to = (n: number): string => {
    const target = new URL(url);
    target.searchParams.set('per_page', String(perPage));
    target.searchParams.set('page', String(n));
    return `<${target.toString()}>`;
  };
  const links: string[] = [];
  if (page > 1) links.push(`${to(Math.min(page - 1, last))}; rel="prev"`);
  if (page < last) links.push(`${to(page + 1)}; rel="next"`);
  links.push(`${to(last)}; rel="last"`);
  if (page > 1) links.push(`${to(1)}; rel="first"`);
  return { items, link: links.join(', ') };
}

/** A 200 with one page of `all` and its Link header. */
export function pageResult<T>(all: readonly T[], url: URL, wrap?: (items: T[]) => unknown): {
  status: number;
  body: unknown;
  headers: Record<string, string>;
} {
  const { items, link } = paginate(all, url);
  return { status: 200, body: wrap ? wrap(items) : items, headers: link ? { link } : {} };
}
