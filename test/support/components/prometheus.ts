// Prometheus on loopback scraping the targets a test names, for canary analysis against a real
// metrics backend and its real query API.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';
import { freePort } from './ports.js';
import { startComponent } from './process.js';
import { makeWorkDir } from './workdir.js';

export interface PrometheusOptions {
  /** host:port of each /metrics endpoint, scraped as job "ferry-test". */
  scrapeTargets: string[];
  scrapeInterval?: string;
}

export interface PrometheusSample {
  metric: Record<string, string>;
  value: number;
  /** Unix seconds. */
  timestamp: number;
}

export interface PrometheusComponent {
  readonly url: string;
  readonly logFile: string;
  /** Instant query; a vector or scalar result as samples (a scalar has no labels). */
  query(promql: string): Promise<PrometheusSample[]>;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

function prometheusConfig(targets: string[], interval: string): string {
  return [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    'scrape_configs:',
    '  - job_name: ferry-test',
    `    scrape_interval: ${interval}`,
    `    scrape_timeout: ${interval}`,
    '    static_configs:',
    `      - targets: ${JSON.stringify(targets)}`,
    '',
  ].join('\n');
}

type QueryResponse =
  | { status: 'success'; data: { resultType: 'vector'; result: { metric: Record<string, string>; value: [number, string] }[] } }
  | { status: 'success'; data: { resultType: 'scalar'; result: [number, string] } }
  | { status: 'success'; data: { resultType: 'matrix' | 'string' } }
  | { status: 'error'; errorType: string; error: string };

async function instantQuery(url: string, promql: string): Promise<PrometheusSample[]> {
  const response = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: promql })}`);
  const body = (await response.json()) as QueryResponse;
  if (body.status === 'error') throw new Error(`prometheus rejected ${promql}: ${body.errorType}: ${body.error}`);
  if (body.data.resultType === 'scalar') {
    const [timestamp, value] = body.data.result;
    return [{ metric: {}, value: Number(value), timestamp }];
  }
  if (body.data.resultType !== 'vector') throw new Error(`${promql} gives a ${body.data.resultType}; query() takes instant vectors or scalars`);
  return body.data.result.map(({ metric, value: [timestamp, value] }) => ({ metric, value: Number(value), timestamp }));
}

export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusComponent> {
  const binary = requireBinary('prometheus', 'prometheus');
  const workDir = await makeWorkDir('prometheus');
  const port = await freePort();
  const configFile = join(workDir.path, 'prometheus.yml');
  await writeFile(configFile, prometheusConfig(options.scrapeTargets, options.scrapeInterval ?? '1s'));
  const url = `http://127.0.0.1:${port}`;
  const proc = await startComponent({
    name: 'prometheus',
    command: binary,
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(workDir.path, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-lifecycle',
      // Hidden flag: targets reach the scraper every 5 s by default, which would make every
      // test wait 5 s for its first sample.
      '--scrape.discovery-reload-interval=100ms',
    ],
    workDir,
    ready: { url: `${url}/-/ready` },
  });
  return {
    url,
    logFile: proc.logFile,
    query: (promql) => instantQuery(url, promql),
    stop: () => proc.stop(),
    kill: () => proc.kill(),
  };
}
