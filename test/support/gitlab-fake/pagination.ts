// GitLab's offset pagination (doc/api/rest/_index.md): `page` and `per_page` (default 20, at most
// 100), the x-page / x-per-page / x-total / x-total-pages / x-next-page / x-prev-page headers and a
// `Link` header naming the prev, next, first and last pages with the request's own query.

export interface Page<T> {
  items: T[];
  headers: Record<string, string>;
}

export function paginate<T>(all: readonly T[], url: URL): Page<T> {
  const asked = Number(url.searchParams.get('per_page') ?? 20);
  // GitLab caps per_page at 100 rather than refusing a larger value.
  const perPage = Number.isInteger(asked) && asked > 0 ? Math.min(asked, 100) : 20;
  const requested = Number(url.searchParams.get('page') ?? 1);
  const page = Number.isInteger(requested) && requested > 0 ? requested : 1;
  const totalPages = Math.max(1, Math.ceil(all.length / perPage));
  const items = all.slice((page - 1) * perPage, page * perPage);
  const next = page < totalPages ? page + 1 : undefined;
  const prev = page > 1 ? Math.min(page - 1, totalPages) : undefined;

  const to = (n: number): string => {
    const target = new URL(url);
    target.searchParams.set('page', String(n));
    target.searchParams.set('per_page', String(perPage));
    return `<${target.toString()}>`;
  };
  const links: string[] = [];
  if (prev !== undefined) links.push(`${to(prev)}; rel="prev"`);
  if (next !== undefined) links.push(`${to(next)}; rel="next"`);
  links.push(`${to(1)}; rel="first"`, `${to(totalPages)}; rel="last"`);
  return {
    items,
    headers: {
      'x-page': String(page),
      'x-per-page': String(perPage),
      'x-total': String(all.length),
      'x-total-pages': String(totalPages),
      'x-next-page': next === undefined ? '' : String(next),
      'x-prev-page': prev === undefined ? '' : String(prev),
      link: links.join(', '),
    },
  };
}
