// Runs `ferry serve` from start to stop: load the model, listen, announce readiness on stdout as one
// JSON line (so tests and pipelines can start it on port 0), then drain when the signal fires.
import type { Logger } from '@ferry/core';
import { startEngine } from './engine.js';
import { resolveModelFile } from './model.js';
import type { ServeSettings } from './options.js';
import { InferenceServer, type ShutdownReport } from './server.js';

/** The machine-readable lines `ferry serve` writes on stdout, one JSON object each. */
export type ServeEvent =
  | { event: 'ready'; url: string; host: string; port: number; model: string; version: string; load_seconds: number; workers: number; inputs: string[]; outputs: string[] }
  | { event: 'stopped'; drained: boolean; cut_off: number; drain_seconds: number };

export interface ServeIo {
  readonly logger: Logger;
  /** Fires on SIGTERM/SIGINT: the server drains and serve() returns. */
  readonly signal: AbortSignal;
  readonly ferryVersion: string;
  announce(event: ServeEvent): void;
}

export async function serve(settings: ServeSettings, io: ServeIo): Promise<ShutdownReport> {
  const { logger } = io;
  logger.info(`loading ${settings.modelPath}`);
  const engine = await startEngine({ file: resolveModelFile(settings.modelPath), workers: settings.workers, threads: settings.threads }, logger);
  if (io.signal.aborted) {
    // Stopped while loading: nothing was served, so there is nothing to drain.
    await engine.close();
    io.announce({ event: 'stopped', drained: true, cut_off: 0, drain_seconds: 0 });
    return { drained: true, cutOff: 0, seconds: 0 };
  }
  const server = new InferenceServer(engine, settings, { ferryVersion: io.ferryVersion, onnxruntimeVersion: engine.runtimeVersion }, logger);
  let address;
  try {
    address = await server.listen();
  } catch (err: unknown) {
    await engine.close();
    throw err;
  }
  const { faults } = settings;
  if (faults.latencyMs > 0 || faults.jitterMs > 0 || faults.errorRate > 0) {
    logger.warn(
      `test knobs on: +${faults.latencyMs} ms latency (jitter ${faults.jitterMs} ms), error rate ${faults.errorRate}, seed ${faults.seed}; not for production`,
    );
  }
  logger.info(`serving ${settings.modelName} version ${settings.modelVersion} on ${address.url} (model loaded in ${engine.loadSeconds.toFixed(3)} s)`);
  io.announce({
    event: 'ready',
    url: address.url,
    host: address.host,
    port: address.port,
    model: settings.modelName,
    version: settings.modelVersion,
    load_seconds: engine.loadSeconds,
    workers: settings.workers,
    inputs: engine.signature.inputs.map((i) => i.name),
    outputs: engine.signature.outputs.map((o) => o.name),
  });

  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  logger.info(`draining: readiness is false; waiting up to ${settings.drainTimeoutMs} ms for in-flight requests`);
  const report = await server.shutdown();
  if (report.drained) logger.info(`stopped after draining in ${report.seconds.toFixed(3)} s`);
  else logger.warn(`drain timeout (--drain-timeout ${settings.drainTimeoutMs} ms): closed ${report.cutOff} request(s) still in flight`);
  io.announce({ event: 'stopped', drained: report.drained, cut_off: report.cutOff, drain_seconds: report.seconds });
  return report;
}
