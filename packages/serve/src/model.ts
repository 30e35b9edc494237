// The served model as requests see it: which file it is, and whether a request's inputs and
// requested outputs fit its signature, checked before anything runs so a bad tensor costs no compute.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '@ferry/core';
import { badRequest } from './errors.js';
import type { ModelSignature } from './session.js';
import { decodeInput, type PlainTensor, type RequestTensor } from './tensors.js';

/** A model file, or a directory holding exactly one .onnx file (how build-serving-image lays models out). */
export function resolveModelFile(path: string): string {
  if (!existsSync(path)) throw new InputError(`--model-path: ${path} does not exist`, { subject: 'model-path' });
  if (!statSync(path).isDirectory()) return path;
  const onnx = readdirSync(path).filter((f) => f.endsWith('.onnx'));
  if (onnx.length !== 1) {
    throw new InputError(`--model-path: ${path} is a directory with ${onnx.length === 0 ? 'no' : onnx.length} .onnx files; name the model file`, {
      subject: 'model-path',
    });
  }
  return join(path, onnx[0]!);
}

/** Every input decoded and checked against the signature; all of the model's inputs are required. */
export function decodeFeeds(signature: ModelSignature, tensors: readonly RequestTensor[]): Record<string, PlainTensor> {
  const feeds: Record<string, PlainTensor> = {};
  for (const t of tensors) {
    const sig = signature.inputs.find((s) => s.name === t.name);
    if (!sig) throw badRequest(`input ${t.name} is not an input of the model; it takes ${signature.inputs.map((s) => s.name).join(', ')}`);
    feeds[t.name] = decodeInput(t, sig);
  }
  const missing = signature.inputs.filter((s) => feeds[s.name] === undefined).map((s) => s.name);
  if (missing.length > 0) throw badRequest(`missing input${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  return feeds;
}

export function checkOutputs(signature: ModelSignature, names: readonly string[]): void {
  for (const n of names) {
    if (!signature.outputs.some((s) => s.name === n)) throw badRequest(`output ${n} is not an output of the model; it has ${signature.outputs.map((s) => s.name).join(', ')}`);
  }
}
