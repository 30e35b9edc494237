// The router's live configuration: one immutable snapshot the data plane reads per request, and
// the only code that changes it. Changes are queued one at a time, checked against the latest
// config, written to <stateDir>/routing.json (temporary file, fsync, rename) and only then swapped
// in, so what a restarted router reads back is exactly what it last served.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errorMessage, InputError, type Logger } from '@ferry/core';
import type { Routing, Slot, VersionRef, Weights } from '../../target/types.js';
import { INITIAL_CONFIG, parseConfig, RouterInputError, withRouting, withVersion, type RouterConfig } from './config.js';
import type { RouterMetrics } from './router-metrics.js';
import { SlotChooser } from './split.js';

export const ROUTING_FILE = 'routing.json';
const SCHEMA = 'ferry-router/1';

/** Round-robin over one version's replicas. */
export class EndpointPool {
  private readonly urls: readonly URL[];
  private i = 0;

  constructor(readonly version: VersionRef) {
    this.urls = version.endpoints.map((e) => new URL(e));
  }

  next(): URL {
    const url = this.urls[this.i % this.urls.length]!;
    this.i = (this.i + 1) % this.urls.length;
    return url;
  }
}

/** Everything the data plane needs for one request, swapped whole on every change. */
export interface RouterSnapshot {
  readonly config: RouterConfig;
  readonly chooser: SlotChooser;
  readonly pools: Readonly<Record<Slot, EndpointPool | undefined>>;
}

function poolFor(version: VersionRef | null, previous: EndpointPool | undefined): EndpointPool | undefined {
  if (version === null) return undefined;
  // Same version object: keep the pool so round-robin goes on where it was.
  return previous?.version === version ? previous : new EndpointPool(version);
}

function sameVersion(a: VersionRef | null, b: VersionRef | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class RouterControl {
  private current: RouterSnapshot;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly file: string,
    config: RouterConfig,
    private readonly metrics: RouterMetrics,
  ) {
    this.current = { config, chooser: new SlotChooser(config.weights, config.routing), pools: { stable: poolFor(config.versions.stable, undefined), canary: poolFor(config.versions.canary, undefined) } };
    metrics.apply(config);
  }

  /**
   * Restores the config kept in `stateDir`, or starts from `initial` versions when there is none.
   * A stored config wins over `initial`: a restarted router must keep the split it was serving.
   */
  static async open(stateDir: string, initial: Partial<Record<Slot, VersionRef>>, metrics: RouterMetrics, logger: Logger): Promise<RouterControl> {
    await mkdir(stateDir, { recursive: true });
    const file = join(stateDir, ROUTING_FILE);
    const stored = await readStored(file);
    let config: RouterConfig;
    if (stored) {
      config = stored;
      for (const slot of ['stable', 'canary'] as const) {
        const given = initial[slot];
        if (given && !sameVersion(given, config.versions[slot])) {
          logger.warn(`${file} points the ${slot} slot at ${config.versions[slot]?.name ?? 'nothing'}; keeping that and ignoring the ${slot} version given at start (${given.name})`);
        }
      }
    } else {
      config = INITIAL_CONFIG;
      for (const slot of ['stable', 'canary'] as const) {
        const given = initial[slot];
        if (given) config = withVersion(config, slot, given);
      }
      await writeStored(file, config);
    }
    return new RouterControl(file, config, metrics);
  }

  get snapshot(): RouterSnapshot {
    return this.current;
  }

  get config(): RouterConfig {
    return this.current.config;
  }

  setRouting(weights: Weights, routing: Routing): Promise<RouterConfig> {
    return this.change((config) => withRouting(config, weights, routing));
  }

  setVersion(slot: Slot, version: VersionRef | null): Promise<RouterConfig> {
    return this.change((config) => withVersion(config, slot, version));
  }

  /** Queues one change: checked against the config current when its turn comes, persisted, swapped in. */
  private change(next: (config: RouterConfig) => RouterConfig): Promise<RouterConfig> {
    const run = async (): Promise<RouterConfig> => {
      const before = this.current;
      const config = next(before.config);
      await writeStored(this.file, config);
      const sameSplit = JSON.stringify([config.weights, config.routing]) === JSON.stringify([before.config.weights, before.config.routing]);
      this.current = {
        config,
        // A new chooser restarts the weighted sequence; keep it when only a slot's version changed.
        chooser: sameSplit ? before.chooser : new SlotChooser(config.weights, config.routing),
        pools: { stable: poolFor(config.versions.stable, before.pools.stable), canary: poolFor(config.versions.canary, before.pools.canary) },
      };
      this.metrics.apply(config);
      return config;
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Resolves once every queued change has been written. */
  async settle(): Promise<void> {
    await this.queue;
  }
}

async function readStored(file: string): Promise<RouterConfig | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const hint = 'fix it or move it aside to start the router with fresh routing';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InputError(`router state file ${file} is not valid JSON (${errorMessage(error)})`, { subject: file, hint });
  }
  if ((parsed as { schema?: unknown } | null)?.schema !== SCHEMA) throw new InputError(`router state file ${file} is not a Ferry router record (want "schema": "${SCHEMA}")`, { subject: file, hint });
  try {
    return parseConfig(parsed, file);
  } catch (error) {
    if (error instanceof RouterInputError) throw new InputError(error.message, { subject: file, hint });
    throw error;
  }
}

async function writeStored(file: string, config: RouterConfig): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify({ schema: SCHEMA, ...config }, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  // The rename is atomic either way; syncing the directory makes it survive a power cut too.
  const dir = await open(dirname(file), 'r').catch(() => undefined);
  await dir?.sync().catch(() => undefined);
  await dir?.close();
}
