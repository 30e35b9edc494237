// Health checks that run inside the runtime's own image, with whatever that image has: Node in
// Ferry's, Python in MLServer's and vLLM's, bash in the Ubuntu-based ones (Triton, TorchServe, TF
// Serving), whose /dev/tcp needs no curl.
import type { HealthCheck } from '../oci/index.js';

const SECOND = 1_000_000_000;

export interface ProbeTiming {
  /** Seconds before failures count: model loading. */
  startPeriod: number;
}

function timing({ startPeriod }: ProbeTiming): Omit<HealthCheck, 'Test'> {
  return { Interval: 10 * SECOND, Timeout: 5 * SECOND, StartPeriod: startPeriod * SECOND, Retries: 3 };
}

/** GET http://127.0.0.1:<port><path> must answer 200, using bash's /dev/tcp. */
export function bashHttpProbe(port: number, path: string, options: ProbeTiming): HealthCheck {
  const script =
    `exec 3<>/dev/tcp/127.0.0.1/${port} && printf 'GET ${path} HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' >&3 && ` +
    `read -r _ status _ <&3 && test "$status" = 200`;
  return { Test: ['CMD', 'bash', '-c', script], ...timing(options) };
}

export function pythonHttpProbe(port: number, path: string, options: ProbeTiming): HealthCheck {
  const code = `import urllib.request; urllib.request.urlopen('http://127.0.0.1:${port}${path}', timeout=4)`;
  return { Test: ['CMD', 'python3', '-c', code], ...timing(options) };
}

export function nodeHttpProbe(node: string, port: number, path: string, options: ProbeTiming): HealthCheck {
  const code = `fetch('http://127.0.0.1:${port}${path}').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`;
  return { Test: ['CMD', node, '-e', code], ...timing(options) };
}
