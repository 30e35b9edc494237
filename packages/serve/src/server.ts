// The Open Inference Protocol v2 REST server: health, metadata, inference and /metrics over one
// inference engine, with bounded bodies, bounded concurrency, a per-request deadline and a graceful drain.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage, InfrastructureError, InputError, type Logger } from '@ferry/core';
import { RequestError, type FailureReason } from './errors.js';
import { FaultInjector } from './faults.js';
import { errorAnswer, jsonAnswer, readBody, writeAnswer, type Answer } from './http-io.js';
import { InferenceSlots } from './limiter.js';
import { CONTENT_TYPES, negotiateFormat } from './metrics.js';
import type { InferenceEngine } from './engine.js';
import { checkOutputs, decodeFeeds } from './model.js';
import type { ServeSettings } from './options.js';
import { encodeInferResponse, INFERENCE_HEADER, parseInferRequest } from './protocol.js';
import { matchRoute, METHODS, routeLabel, type Route } from './routes.js';
import { ServerMetrics } from './server-metrics.js';
import { encodeOutput, type OutputTensor } from './tensors.js';

export interface ServerInfo {
  readonly ferryVersion: string;
  readonly onnxruntimeVersion: string;
}

export interface ShutdownReport {
  /** True when every in-flight request finished before the drain timeout. */
  readonly drained: boolean;
  /** Requests whose connections were closed at the drain timeout. */
  readonly cutOff: number;
  readonly seconds: number;
}

export class InferenceServer {
  readonly metrics: ServerMetrics;
  private readonly http: Server;
  private readonly slots: InferenceSlots;
  private readonly faults: FaultInjector;
  private ready = false;
  private draining = false;
  /** Requests received and not yet answered or abandoned by their client. */
  private readonly open = new Set<ServerResponse>();
  private onIdle: (() => void) | undefined;

  constructor(
    private readonly engine: InferenceEngine,
    private readonly settings: ServeSettings,
    private readonly info: ServerInfo,
    private readonly logger: Logger,
  ) {
    this.metrics = new ServerMetrics({ model: settings.modelName, version: settings.modelVersion, ...info });
    this.metrics.modelLoad.set(this.metrics.model, engine.loadSeconds);
    this.slots = new InferenceSlots(engine.parallelism, settings.maxQueue);
    this.faults = new FaultInjector(settings.faults);
    this.http = createServer(
      {
        // Time to receive a whole request; inference has its own deadline (request-timeout).
        requestTimeout: settings.requestTimeoutMs,
        headersTimeout: Math.min(60_000, settings.requestTimeoutMs),
        keepAliveTimeout: 5_000,
      },
      (req, res) => this.handle(req, res),
    );
    // Inference reads the body itself and answers 100 Continue only for one within the limit.
    this.http.on('checkContinue', (req, res) => this.handle(req, res));
  }

  /** Listens, and resolves with the bound address; `port` 0 takes a free port. */
  async listen(): Promise<{ url: string; host: string; port: number }> {
    const { host, port } = this.settings;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        this.http.off('listening', onListening);
        reject(listenError(err, host, port));
      };
      const onListening = (): void => {
        this.http.off('error', onError);
        resolve();
      };
      this.http.once('error', onError);
      this.http.once('listening', onListening);
      this.http.listen({ host, port });
    });
    this.http.on('error', (err) => this.logger.error(`HTTP server: ${errorMessage(err)}`));
    const address = this.http.address() as AddressInfo;
    this.ready = true;
    this.metrics.modelReady.set(this.metrics.model, 1);
    const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return { url: `http://${urlHost}:${address.port}`, host: address.address, port: address.port };
  }

  /**
   * Readiness turns false first; after the shutdown delay the listener closes, idle connections
   * close, and in-flight requests get until the drain timeout to finish. The model is released once
   * nothing uses it.
   */
  async shutdown(): Promise<ShutdownReport> {
    const started = performance.now();
    this.ready = false;
    this.draining = true;
    this.metrics.modelReady.set(this.metrics.model, 0);
    if (this.settings.shutdownDelayMs > 0) await sleep(this.settings.shutdownDelayMs);
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    const deadline = started + this.settings.drainTimeoutMs;
    const drained = await this.waitUntilIdle(deadline);
    const cutOff = this.open.size;
    if (!drained) this.http.closeAllConnections();
    await closed;
    await this.engine.close();
    return { drained, cutOff: drained ? 0 : cutOff, seconds: (performance.now() - started) / 1000 };
  }

  /** Ready until draining, and while at least one inference thread lives. */
  private isReady(): boolean {
    return this.ready && this.engine.healthy;
  }

  private idle(): boolean {
    return this.open.size === 0 && this.slots.active === 0;
  }

  private async waitUntilIdle(deadline: number): Promise<boolean> {
    if (this.idle()) return true;
    const wait = Math.max(0, deadline - performance.now());
    const timer = new AbortController();
    try {
      return await Promise.race([
        new Promise<boolean>((resolve) => (this.onIdle = () => resolve(true))),
        sleep(wait, false, { signal: timer.signal }),
      ]);
    } finally {
      timer.abort();
      this.onIdle = undefined;
    }
  }

  private checkIdle(): void {
    if (this.onIdle && this.idle()) this.onIdle();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.open.add(res);
    res.once('close', () => {
      this.open.delete(res);
      this.checkIdle();
    });
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    const route = matchRoute(pathname);
    const respond = (answer: Answer, closeConnection = false): void => {
      this.metrics.httpRequests.inc({ route: routeLabel(route), code: String(answer.status) });
      writeAnswer(req, res, answer, closeConnection || this.draining);
    };
    if (!route) {
      respond(errorAnswer(new RequestError('not_found', `no such endpoint: ${req.method} ${pathname}`)));
      return;
    }
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (method !== METHODS[route.kind]) {
      const err = new RequestError('method_not_allowed', `${pathname} takes ${METHODS[route.kind]}, not ${req.method}`, { Allow: METHODS[route.kind] });
      respond(errorAnswer(err), route.kind === 'infer');
      return;
    }
    if (route.kind === 'infer') {
      void this.infer(req, res, route, respond);
      return;
    }
    try {
      respond(this.answerGet(req, route));
    } catch (err: unknown) {
      respond(errorAnswer(asRequestError(err, this.logger)));
    }
  }

  private answerGet(req: IncomingMessage, route: Route): Answer {
    switch (route.kind) {
      case 'live':
        return jsonAnswer(200, { live: true });
      case 'ready': {
        const ready = this.isReady();
        return jsonAnswer(ready ? 200 : 503, { ready });
      }
      case 'server':
        return jsonAnswer(200, { name: 'ferry', version: this.info.ferryVersion, extensions: ['binary_tensor_data'] });
      case 'metrics': {
        const format = negotiateFormat(req.headers.accept);
        return { status: 200, body: this.metrics.registry.render(format), contentType: CONTENT_TYPES[format] };
      }
      case 'model':
        this.checkModel(route);
        return jsonAnswer(200, {
          name: this.settings.modelName,
          versions: [this.settings.modelVersion],
          platform: 'onnxruntime_onnx',
          inputs: this.engine.signature.inputs.map(({ name, datatype, shape }) => ({ name, datatype, shape })),
          outputs: this.engine.signature.outputs.map(({ name, datatype, shape }) => ({ name, datatype, shape })),
        });
      case 'model-ready':
        this.checkModel(route);
        return jsonAnswer(this.isReady() ? 200 : 503, { name: this.settings.modelName, ready: this.isReady() });
      case 'infer':
        throw new Error('inference is not a GET');
    }
  }

  private checkModel(route: { name: string; version: string | undefined }): void {
    const { modelName, modelVersion } = this.settings;
    if (route.name === modelName && (route.version === undefined || route.version === modelVersion)) return;
    const asked = route.version === undefined ? `model ${route.name}` : `model ${route.name} version ${route.version}`;
    throw new RequestError('not_found', `${asked} is not served here; this server serves ${modelName} version ${modelVersion}`);
  }

  private async infer(req: IncomingMessage, res: ServerResponse, route: { name: string; version: string | undefined }, respond: (a: Answer, close?: boolean) => void): Promise<void> {
    const started = performance.now();
    const { metrics } = this;
    const known = route.name === this.settings.modelName && (route.version === undefined || route.version === this.settings.modelVersion);
    if (known) metrics.inFlight.inc(metrics.model);
    // One deadline for the whole request; a client that goes away cancels its queue wait too.
    const abort = new AbortController();
    const timer = setTimeout(
      () => abort.abort(new RequestError('timeout', `inference did not finish within ${this.settings.requestTimeoutMs} ms (--request-timeout)`)),
      this.settings.requestTimeoutMs,
    );
    res.once('close', () => abort.abort(new RequestError('client_closed', 'the client closed the connection before the answer')));
    let answered = false;
    const finish = (answer: Answer, reason: FailureReason | undefined, closeConnection = false): void => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      respond(answer, closeConnection);
      if (known) {
        metrics.inFlight.dec(metrics.model);
        metrics.answered(answer.status, (performance.now() - started) / 1000, reason);
      }
    };
    const onTimeout = (): void => {
      const reason: unknown = abort.signal.reason;
      if (reason instanceof RequestError) finish(errorAnswer(reason), reason.reason);
    };
    abort.signal.addEventListener('abort', onTimeout, { once: true });
    try {
      const answer = await this.runInference(req, res, route, abort.signal);
      finish(answer, undefined);
    } catch (err: unknown) {
      // Waits cut short by the deadline or a departed client fail with the reason already answered.
      const cutShort: unknown = abort.signal.aborted ? abort.signal.reason : undefined;
      const failure = cutShort instanceof RequestError ? cutShort : asRequestError(err, this.logger);
      // A refused body may be half-sent: close the connection rather than parse the rest as a request.
      finish(errorAnswer(failure), failure.reason, failure.reason === 'payload_too_large' || !req.complete);
    } finally {
      abort.signal.removeEventListener('abort', onTimeout);
      clearTimeout(timer);
    }
  }

  private async runInference(req: IncomingMessage, res: ServerResponse, route: { name: string; version: string | undefined }, signal: AbortSignal): Promise<Answer> {
    this.checkModel(route);
    const body = await readBody(req, res, this.settings.maxBodyBytes);
    const headerValue = req.headers[INFERENCE_HEADER];
    let headerLength: number | undefined;
    if (headerValue !== undefined) {
      headerLength = Number(headerValue);
      if (!Number.isSafeInteger(headerLength) || headerLength < 0) throw new RequestError('bad_request', `Inference-Header-Content-Length must be a byte count, got ${JSON.stringify(headerValue)}`);
    }
    const request = parseInferRequest(body, headerLength);
    const { signature } = this.engine;
    const feeds = decodeFeeds(signature, request.inputs);
    const fetches = request.outputs?.map((o) => o.name) ?? signature.outputs.map((o) => o.name);
    checkOutputs(signature, fetches);

    if (this.faults.active) {
      const { delayMs, fail } = this.faults.decide();
      if (delayMs > 0) await sleep(delayMs, undefined, { signal });
      if (fail) throw new RequestError('injected', `injected failure (--inject-error-rate ${this.settings.faults.errorRate})`);
    }

    const release = await this.slots.acquire(signal);
    this.metrics.queued.set(this.metrics.model, this.slots.queued);
    let results;
    const computeStarted = performance.now();
    try {
      results = await this.engine.run(feeds, fetches);
    } finally {
      this.metrics.computeDuration.observe(this.metrics.model, (performance.now() - computeStarted) / 1000);
      release();
      this.metrics.queued.set(this.metrics.model, this.slots.queued);
      this.checkIdle();
    }
    signal.throwIfAborted();

    const binaryByName = new Map(request.outputs?.map((o) => [o.name, o.binary]) ?? []);
    const outputs: OutputTensor[] = [];
    const blobs: Buffer[] = [];
    for (const name of fetches) {
      const tensor = results[name];
      if (!tensor) throw new RequestError('internal', `onnxruntime returned no ${name}`);
      const { output, blob } = encodeOutput(name, tensor, binaryByName.get(name) ?? request.binaryOutputs);
      outputs.push(output);
      if (blob) blobs.push(blob);
    }
    const response = {
      model_name: this.settings.modelName,
      model_version: this.settings.modelVersion,
      ...(request.id !== undefined ? { id: request.id } : {}),
      outputs,
    };
    const { body: out, headerLength: outHeader } = encodeInferResponse(response, blobs);
    if (outHeader === undefined) return { status: 200, body: out, contentType: 'application/json' };
    return { status: 200, body: out, contentType: 'application/octet-stream', headers: { 'Inference-Header-Content-Length': String(outHeader) } };
  }
}

function asRequestError(err: unknown, logger: Logger): RequestError {
  if (err instanceof RequestError) {
    if (err.reason === 'internal') logger.error(err.message);
    return err;
  }
  logger.error(`internal error: ${errorMessage(err)}`);
  return new RequestError('internal', `internal error: ${errorMessage(err)}`);
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  switch (err.code) {
    case 'EADDRINUSE':
      return new InputError(`--port: port ${port} on ${host} is already in use`, { subject: 'port', hint: 'choose another --port, or --port 0 for a free one' });
    case 'EACCES':
      return new InputError(`--port: not allowed to listen on port ${port} on ${host} (ports below 1024 need privileges)`, { subject: 'port' });
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new InputError(`--host: cannot listen on ${host}: ${err.code}`, { subject: 'host' });
    default:
      return new InfrastructureError(`cannot listen on ${host}:${port}: ${errorMessage(err)}`, { service: 'network' });
  }
}
