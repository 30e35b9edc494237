// Failed requests by class, so a report can tell a refused connection from a slow server, a server
// error from a bad request, and a broken response from all of these.

export const ERROR_CLASSES = ['refused', 'reset', 'timeout', 'http4xx', 'http5xx', 'protocol', 'other'] as const;
export type RequestErrorClass = (typeof ERROR_CLASSES)[number];

export const ERROR_CLASS_TITLES: Record<RequestErrorClass, string> = {
  refused: 'connection refused (nothing listening, or the backlog is full)',
  reset: 'connection reset or closed before the response was complete',
  timeout: 'no complete response within the request timeout (or connect timeout)',
  http4xx: 'HTTP 4xx: the server rejected the request',
  http5xx: 'HTTP 5xx: the server failed the request',
  protocol: 'malformed HTTP, or a response the protocol does not allow (bad JSON, missing outputs, broken SSE)',
  other: 'any other client-side failure',
};

export type ErrorCounts = Record<RequestErrorClass, number>;

export function emptyErrorCounts(): ErrorCounts {
  return { refused: 0, reset: 0, timeout: 0, http4xx: 0, http5xx: 0, protocol: 0, other: 0 };
}

export function addErrorCounts(into: ErrorCounts, from: ErrorCounts): ErrorCounts {
  for (const c of ERROR_CLASSES) into[c] += from[c];
  return into;
}

export function totalErrors(counts: ErrorCounts): number {
  let n = 0;
  for (const c of ERROR_CLASSES) n += counts[c];
  return n;
}

/** Class of a socket-level failure (a Node system error code). */
export function classifySocketError(err: unknown): RequestErrorClass {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
    case 'ERR_STREAM_DESTROYED':
      return 'reset';
    case 'ETIMEDOUT':
      return 'timeout';
    default:
      return 'other';
  }
}

/** Class of a complete HTTP response by status, or undefined for a success (2xx). */
export function classifyStatus(status: number): RequestErrorClass | undefined {
  if (status >= 200 && status < 300) return undefined;
  if (status >= 400 && status < 500) return 'http4xx';
  if (status >= 500 && status < 600) return 'http5xx';
  return 'protocol';
}
