// One onnxruntime-node session: loads the model, reads its signature as the Open Inference Protocol
// describes it (from the session, not the file), and runs plain tensors. The same code runs on the
// HTTP thread (--workers 0) and inside each inference thread.
import { errorMessage, InputError } from '@ferry/core';
import { datatypeOfOrt } from './datatypes.js';
import type { PlainTensor, TensorData, TensorSignature } from './tensors.js';

export type Ort = typeof import('onnxruntime-node');
type OrtTensor = InstanceType<Ort['Tensor']>;
type Session = Awaited<ReturnType<Ort['InferenceSession']['create']>>;
type ValueMetadata = Session['inputMetadata'][number];

export interface ModelSignature {
  readonly inputs: readonly TensorSignature[];
  /** Tensor outputs; outputs the protocol cannot carry (sequences, maps) are left out. */
  readonly outputs: readonly TensorSignature[];
}

/** A failed run; `clientFault` when onnxruntime rejected what the request fed it. */
export class RunFailure extends Error {
  constructor(
    message: string,
    readonly clientFault: boolean,
  ) {
    super(message);
    this.name = 'RunFailure';
  }
}

/**
 * onnxruntime reports bad feeds (a dimension that disagrees with another input, a reshape the data
 * cannot satisfy) as errors of the run; those are the client's, not the server's.
 */
const CLIENT_FAULT = /invalid dimensions|invalid input|invalid argument|INVALID_ARGUMENT|shape mismatch|cannot reshape|input tensor cannot be reshaped|Unexpected input data type/i;

function signatureOf(meta: ValueMetadata, role: 'input' | 'output', file: string): TensorSignature | undefined {
  if (!meta.isTensor) {
    if (role === 'input') throw new InputError(`--model-path: ${file} takes a non-tensor input ${meta.name}, which the Open Inference Protocol cannot carry`, { subject: 'model-path' });
    return undefined;
  }
  const datatype = datatypeOfOrt(meta.type);
  if (!datatype) {
    if (role === 'input') throw new InputError(`--model-path: ${file} input ${meta.name} has element type ${meta.type}, which the Open Inference Protocol cannot carry`, { subject: 'model-path' });
    return undefined;
  }
  // Symbolic dimensions ("batch") come back as strings; the protocol writes any open size as -1.
  const shape = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
  return { name: meta.name, datatype, shape, ranked: meta.shape.length > 0 };
}

/**
 * Where Float16Array exists (Node 24), onnxruntime-common stores float16 data as one, and the
 * onnxruntime-node 1.30 binding then reads its byte length as 0 and refuses the input ("not enough
 * space"; microsoft/onnxruntime#32323). The binding reads a Uint16Array correctly, so hand it a
 * Uint16Array view of the same bytes. The data type test fails if a later onnxruntime breaks this.
 */
function passFloat16AsUint16(tensor: OrtTensor): void {
  const holder = tensor as unknown as { cpuData?: ArrayBufferView & { length: number } };
  const data = holder.cpuData;
  if (data && !(data instanceof Uint16Array)) holder.cpuData = new Uint16Array(data.buffer, data.byteOffset, data.length);
}

function plain(tensor: OrtTensor): PlainTensor {
  let data = tensor.data as TensorData | (ArrayBufferView & { length: number });
  // Float16Array does not cross every boundary (structured clone, older readers); its bits do.
  if (tensor.type === 'float16' && !(data instanceof Uint16Array)) {
    const view = data as ArrayBufferView & { length: number };
    data = new Uint16Array(view.buffer, view.byteOffset, view.length);
  }
  return { type: tensor.type as PlainTensor['type'], dims: tensor.dims.map(Number), data: data as TensorData };
}

export class OnnxSession {
  private constructor(
    private readonly ort: Ort,
    private readonly session: Session,
    readonly signature: ModelSignature,
    readonly loadSeconds: number,
  ) {}

  get runtimeVersion(): string {
    return this.ort.env.versions.node ?? this.ort.env.versions.common;
  }

  /** Loads `file`; an unloadable file or a signature the protocol cannot carry is an InputError. */
  static async load(file: string, threads: number): Promise<OnnxSession> {
    // Loaded on first use so that every other ferry command starts without the native addon.
    const ort = (await import('onnxruntime-node')) as Ort;
    const started = performance.now();
    let session: Session;
    try {
      session = await ort.InferenceSession.create(file, { intraOpNumThreads: threads, executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
    } catch (err: unknown) {
      throw new InputError(`--model-path: onnxruntime cannot load ${file}: ${errorMessage(err)}`, { subject: 'model-path', cause: err });
    }
    const loadSeconds = (performance.now() - started) / 1000;
    try {
      const inputs = session.inputMetadata.map((m) => signatureOf(m, 'input', file)).filter((s): s is TensorSignature => s !== undefined);
      const outputs = session.outputMetadata.map((m) => signatureOf(m, 'output', file)).filter((s): s is TensorSignature => s !== undefined);
      if (outputs.length === 0) throw new InputError(`--model-path: ${file} has no tensor outputs to serve`, { subject: 'model-path' });
      return new OnnxSession(ort, session, { inputs, outputs }, loadSeconds);
    } catch (err: unknown) {
      await session.release();
      throw err;
    }
  }

  async run(feeds: Readonly<Record<string, PlainTensor>>, fetches: readonly string[]): Promise<Record<string, PlainTensor>> {
    const Tensor = this.ort.Tensor as unknown as new (type: string, data: TensorData, dims: readonly number[]) => OrtTensor;
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      const tensor = new Tensor(t.type, t.data, t.dims);
      if (t.type === 'float16') passFloat16AsUint16(tensor);
      ortFeeds[name] = tensor;
    }
    let results: Record<string, OrtTensor>;
    try {
      results = (await this.session.run(ortFeeds, fetches)) as Record<string, OrtTensor>;
    } catch (err: unknown) {
      const message = errorMessage(err).replace(/\s+/g, ' ').trim();
      throw new RunFailure(message, CLIENT_FAULT.test(message));
    }
    const out: Record<string, PlainTensor> = {};
    for (const name of fetches) {
      const t = results[name];
      if (!t) throw new RunFailure(`onnxruntime returned no ${name}`, false);
      out[name] = plain(t);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
