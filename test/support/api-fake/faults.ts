// Planned failures (`failNext`), so tests can show how a client copes with a service's 4xx and 5xx
// (rate limits, conflicts, outages) without the fake's handlers knowing about them. Shared by the
// GitHub and GitLab fakes.

export interface FaultResponse {
  /** Defaults to the service's error shape (GitHub: `{ message, documentation_url }`; GitLab: `{ message: '<status> <reason>' }`). */
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * Which requests a fault applies to: a description path template (`/repos/{owner}/{repo}/check-runs`,
 * `/api/v4/projects/{id}/statuses/{sha}`), a concrete path (as sent, still percent-encoded), or a
 * RegExp tested against the concrete path.
 */
export type PathPattern = string | RegExp;

interface Fault {
  method: string;
  pattern: PathPattern;
  status: number;
  remaining: number;
  response: FaultResponse;
}

export class FaultPlan {
  private faults: Fault[] = [];

  add(method: string, pattern: PathPattern, status: number, times: number, response: FaultResponse): void {
    if (!Number.isInteger(times) || times < 1) throw new Error(`failNext times must be a positive integer, got ${times}`);
    if (!Number.isInteger(status) || status < 400 || status > 599) throw new Error(`failNext status must be 4xx or 5xx, got ${status}`);
    this.faults.push({ method: method.toUpperCase(), pattern, status, remaining: times, response });
  }

  /** The first planned fault matching this request, used up by one. */
  take(method: string, path: string, template: string): (FaultResponse & { status: number }) | undefined {
    const fault = this.faults.find((f) => (f.method === '*' || f.method === method) && matches(f.pattern, path, template));
    if (!fault) return undefined;
    if (--fault.remaining === 0) this.faults = this.faults.filter((f) => f !== fault);
    return { status: fault.status, ...fault.response };
  }

  /** Faults planned but never triggered; a test usually expects none left. */
  pending(): { method: string; pattern: string; status: number; remaining: number }[] {
    return this.faults.map((f) => ({ method: f.method, pattern: String(f.pattern), status: f.status, remaining: f.remaining }));
  }

  clear(): void {
    this.faults = [];
  }
}

function matches(pattern: PathPattern, path: string, template: string): boolean {
  if (pattern instanceof RegExp) return pattern.test(path);
  return pattern === template || pattern === path;
}
