// Parses an Open Inference Protocol v2 inference request: the JSON body, or the binary tensor data
// extension (an `Inference-Header-Content-Length` JSON header followed by raw tensor bytes), as
// Triton's clients and perf_analyzer send it.
import { badRequest } from './errors.js';
import type { OutputTensor, RequestTensor } from './tensors.js';

export interface RequestedOutput {
  readonly name: string;
  readonly binary: boolean;
}

export interface InferRequest {
  readonly id: string | undefined;
  readonly inputs: readonly RequestTensor[];
  /** Undefined: every output the model has. */
  readonly outputs: readonly RequestedOutput[] | undefined;
  /** `parameters.binary_data_output`: every output as binary unless the output says otherwise. */
  readonly binaryOutputs: boolean;
}

export interface InferResponse {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: OutputTensor[];
}

export const INFERENCE_HEADER = 'inference-header-content-length';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parameters(v: unknown, where: string): Record<string, unknown> {
  if (v === undefined) return {};
  if (!isRecord(v)) throw badRequest(`${where}: "parameters" must be an object`);
  return v;
}

function parseShape(v: unknown, name: string): number[] {
  if (!Array.isArray(v)) throw badRequest(`input ${name}: "shape" must be an array of non-negative integers`);
  for (const d of v) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw badRequest(`input ${name}: "shape" must be an array of non-negative integers, found ${JSON.stringify(d)}`);
    }
  }
  return v as number[];
}

/** The request from its body bytes; `headerLength` is the binary extension's JSON length, if any. */
export function parseInferRequest(body: Buffer, headerLength: number | undefined): InferRequest {
  const jsonEnd = headerLength ?? body.length;
  if (headerLength !== undefined && headerLength > body.length) {
    throw badRequest(`Inference-Header-Content-Length is ${headerLength}, but the body has only ${body.length} bytes`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8', 0, jsonEnd));
  } catch (err: unknown) {
    throw badRequest(`the request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isRecord(doc)) throw badRequest('the request body must be a JSON object with "inputs"');
  const id = doc.id;
  if (id !== undefined && typeof id !== 'string') throw badRequest('"id" must be a string');
  const requestParams = parameters(doc.parameters, 'request');
  if (!Array.isArray(doc.inputs) || doc.inputs.length === 0) throw badRequest('"inputs" must be a non-empty array of tensors');

  let binaryAt = jsonEnd;
  const seen = new Set<string>();
  const inputs = doc.inputs.map((raw: unknown, i: number): RequestTensor => {
    if (!isRecord(raw)) throw badRequest(`inputs[${i}] must be an object with name, shape, datatype and data`);
    const name = raw.name;
    if (typeof name !== 'string' || name === '') throw badRequest(`inputs[${i}]: "name" must be a non-empty string`);
    if (seen.has(name)) throw badRequest(`input ${name} is given twice`);
    seen.add(name);
    const shape = parseShape(raw.shape, name);
    if (typeof raw.datatype !== 'string') throw badRequest(`input ${name}: "datatype" must be a string such as FP32`);
    const params = parameters(raw.parameters, `input ${name}`);
    const size = params.binary_data_size;
    if (size !== undefined) {
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw badRequest(`input ${name}: binary_data_size must be a non-negative integer`);
      if (headerLength === undefined) throw badRequest(`input ${name}: binary_data_size needs the Inference-Header-Content-Length header`);
      if (binaryAt + size > body.length) throw badRequest(`input ${name}: binary_data_size ${size} runs past the end of the body`);
      const binary = body.subarray(binaryAt, binaryAt + size);
      binaryAt += size;
      return { name, shape, datatype: raw.datatype, data: undefined, binary };
    }
    if (raw.data === undefined) throw badRequest(`input ${name}: "data" is missing`);
    return { name, shape, datatype: raw.datatype, data: raw.data, binary: undefined };
  });
  if (headerLength !== undefined && binaryAt !== body.length) {
    throw badRequest(`the body has ${body.length - binaryAt} bytes after the tensors its binary_data_size values account for`);
  }

  const binaryOutputs = requestParams.binary_data_output === true;
  let outputs: RequestedOutput[] | undefined;
  if (doc.outputs !== undefined) {
    if (!Array.isArray(doc.outputs)) throw badRequest('"outputs" must be an array of {"name": ...}');
    const names = new Set<string>();
    outputs = doc.outputs.map((raw: unknown, i: number): RequestedOutput => {
      if (!isRecord(raw) || typeof raw.name !== 'string') throw badRequest(`outputs[${i}] must be an object with a "name"`);
      if (names.has(raw.name)) throw badRequest(`output ${raw.name} is requested twice`);
      names.add(raw.name);
      const params = parameters(raw.parameters, `output ${raw.name}`);
      const binary = params.binary_data === undefined ? binaryOutputs : params.binary_data === true;
      return { name: raw.name, binary };
    });
  }
  return { id, inputs, outputs, binaryOutputs };
}

/** The response body: plain JSON, or a JSON header followed by binary outputs (and its length for the header). */
export function encodeInferResponse(response: InferResponse, blobs: readonly Buffer[]): { body: Buffer; headerLength: number | undefined } {
  const json = Buffer.from(JSON.stringify(response), 'utf8');
  if (blobs.length === 0) return { body: json, headerLength: undefined };
  return { body: Buffer.concat([json, ...blobs]), headerLength: json.length };
}
