// The Open Inference Protocol v2 REST paths `ferry serve` answers, and the method each takes.

export type Route =
  | { kind: 'live' | 'ready' | 'server' | 'metrics' }
  | { kind: 'model' | 'model-ready' | 'infer'; name: string; version: string | undefined };

/** The route template, the only path text that becomes a metric label. */
export function routeLabel(route: Route | undefined): string {
  if (!route) return 'unmatched';
  switch (route.kind) {
    case 'live':
      return '/v2/health/live';
    case 'ready':
      return '/v2/health/ready';
    case 'server':
      return '/v2';
    case 'metrics':
      return '/metrics';
    case 'model':
      return '/v2/models/{name}';
    case 'model-ready':
      return '/v2/models/{name}/ready';
    case 'infer':
      return '/v2/models/{name}/infer';
  }
}

export function matchRoute(pathname: string): Route | undefined {
  if (pathname === '/metrics') return { kind: 'metrics' };
  let parts: string[];
  try {
    parts = pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  } catch {
    return undefined;
  }
  if (parts[0] !== 'v2') return undefined;
  if (parts.length === 1) return { kind: 'server' };
  if (parts[1] === 'health' && parts.length === 3) {
    if (parts[2] === 'live') return { kind: 'live' };
    if (parts[2] === 'ready') return { kind: 'ready' };
    return undefined;
  }
  if (parts[1] !== 'models' || parts.length < 3) return undefined;
  const name = parts[2]!;
  let rest = parts.slice(3);
  let version: string | undefined;
  if (rest[0] === 'versions') {
    if (rest.length < 2) return undefined;
    version = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length === 0) return { kind: 'model', name, version };
  if (rest.length === 1 && rest[0] === 'ready') return { kind: 'model-ready', name, version };
  if (rest.length === 1 && rest[0] === 'infer') return { kind: 'infer', name, version };
  return undefined;
}

export const METHODS: Readonly<Record<Route['kind'], string>> = {
  live: 'GET',
  ready: 'GET',
  server: 'GET',
  metrics: 'GET',
  model: 'GET',
  'model-ready': 'GET',
  infer: 'POST',
};
