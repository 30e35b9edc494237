// Steady client traffic through a router, every answer's `model_version` and status kept with the
// time the request was sent, so a test measures the split users would get.

export interface Answer {
  /** When the request was sent: the router routes it then, whenever the answer comes back. */
  readonly t: number;
  readonly version: string;
  readonly status: number;
}

const BODY = JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [0.5, -1.2, 0.3, 2.0] }] });

/** The version that answers one inference request at `url` ("status-N" without one, "failed" when none came). */
export async function answeredBy(url: string, model = 'classifier'): Promise<string> {
  try {
    const res = await fetch(`${url}/v2/models/${model}/infer`, { method: 'POST', body: BODY, headers: { 'content-type': 'application/json' } });
    return ((await res.json().catch(() => ({}))) as { model_version?: string }).model_version ?? `status-${res.status}`;
  } catch {
    return 'failed';
  }
}

/** Open Inference Protocol v2 requests to `<url>/v2/models/<model>/infer` at a fixed rate. */
export class TrafficClient {
  readonly answers: Answer[] = [];
  private timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly url: string,
    private readonly rate: number,
    private readonly model = 'classifier',
  ) {}

  start(): void {
    const body = BODY;
    this.timer = setInterval(() => {
      const t = Date.now();
      void fetch(`${this.url}/v2/models/${this.model}/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
        .then(async (res) => {
          const json = (await res.json().catch(() => ({}))) as { model_version?: string };
          this.answers.push({ t, version: json.model_version ?? `status-${res.status}`, status: res.status });
        })
        .catch(() => this.answers.push({ t, version: 'failed', status: 0 }));
    }, 1000 / this.rate);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Answers sent between two times, counted by version (failed requests as "failed"). */
  versions(from: number, to: number): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const a of this.answers) if (a.t >= from && a.t < to) counts[a.version] = (counts[a.version] ?? 0) + 1;
    return counts;
  }

  /** Share of answered requests (failed connections left out) from `version` between two times. */
  share(version: string, from: number, to: number): { share: number; n: number } {
    const inWindow = this.answers.filter((a) => a.t >= from && a.t < to && a.status > 0);
    return { share: inWindow.filter((a) => a.version === version).length / Math.max(1, inWindow.length), n: inWindow.length };
  }
}

/** Who answers `n` client requests sent to `url` now, at 100 a second. */
export async function answersNow(url: string, n = 40): Promise<Set<string>> {
  const client = new TrafficClient(url, 100);
  client.start();
  await new Promise((r) => setTimeout(r, (n / 100) * 1000 + 300));
  client.stop();
  await new Promise((r) => setTimeout(r, 300));
  return new Set(client.answers.map((a) => a.version));
}
