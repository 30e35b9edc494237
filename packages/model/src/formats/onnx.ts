// Structure check for ONNX models: streams the protobuf (never holding tensor bytes), applies the
// ONNX checker's structural rules, checks external data, and reports the serving signature.
import { open } from 'node:fs/promises';
import type { Finding } from '@ferry/core';
import { FileCursor } from './file-cursor.js';
import { checkExternalData } from './onnx-external.js';
import {
  checkDomains,
  checkGraphs,
  checkModelHeader,
  checkTensorData,
  countNodes,
  elementCount,
  forEachInitializer,
  type Fail,
} from './onnx-graph.js';
import { readOnnxOutline, type OnnxModel, type OnnxType, type OnnxValueInfo } from './onnx-proto.js';
import { ProtoReader } from './protobuf.js';
import { MalformedModelError, type FileCheck, type FileCheckContext, type ModelSignature, type TensorSpec } from './types.js';

/** protobuf cannot parse a message of 2 GiB or more, so no ONNX runtime can load such a file. */
export const ONNX_PROTOBUF_LIMIT = 2 ** 31;

/** TensorProto.DataType names, as build-serving-image and the report show them. */
export const ONNX_ELEM_TYPES: readonly string[] = [
  'UNDEFINED', 'FLOAT', 'UINT8', 'INT8', 'UINT16', 'INT16', 'INT32', 'INT64', 'STRING', 'BOOL', 'FLOAT16', 'DOUBLE',
  'UINT32', 'UINT64', 'COMPLEX64', 'COMPLEX128', 'BFLOAT16', 'FLOAT8E4M3FN', 'FLOAT8E4M3FNUZ', 'FLOAT8E5M2',
  'FLOAT8E5M2FNUZ', 'UINT4', 'INT4', 'FLOAT4E2M1', 'FLOAT8E8M0', 'UINT2', 'INT2',
];

function elemName(t: number): string {
  return ONNX_ELEM_TYPES[t] ?? `UNKNOWN(${t})`;
}

function typeName(t: OnnxType | undefined): string {
  if (!t) return 'UNDEFINED';
  switch (t.kind) {
    case 'tensor':
    case 'sparse_tensor':
      return elemName(t.elemType);
    case 'sequence':
    case 'optional':
      return `${t.kind}(${typeName(t.elem)})`;
    case 'map':
      return `map(${elemName(t.keyType)},${typeName(t.value)})`;
    default:
      return 'UNDEFINED';
  }
}

function spec(v: OnnxValueInfo): TensorSpec {
  const shape = v.type && (v.type.kind === 'tensor' || v.type.kind === 'sparse_tensor') ? (v.type.shape ?? []) : [];
  return { name: v.name, dtype: typeName(v.type), shape };
}

/** Graph inputs that are not initializers are what a caller must feed. */
function signatureOf(model: OnnxModel): ModelSignature {
  const g = model.graph;
  if (!g) return { inputs: [], outputs: [] };
  const inits = new Set([...g.initializers.map((t) => t.name), ...g.sparseInitializers]);
  return { inputs: g.inputs.filter((v) => !inits.has(v.name)).map(spec), outputs: g.outputs.map(spec) };
}

export async function checkOnnx(ctx: FileCheckContext): Promise<FileCheck> {
  const file = ctx.displayPath;
  const fail: Fail = (rule, detail) => new MalformedModelError(file, rule, detail);
  const findings: Finding[] = [];
  const fh = await open(ctx.path, 'r');
  let model: OnnxModel;
  try {
    const { size } = await fh.stat();
    if (size >= ONNX_PROTOBUF_LIMIT) {
      throw fail('onnx/protobuf-size', `the file is ${size} bytes, but protobuf cannot parse a message of 2 GiB or more: store the weights as external data`);
    }
    if (size === 0) throw fail('onnx/protobuf', 'the file is empty');
    const cursor = new FileCursor(fh, size, (d) => fail('onnx/protobuf', `truncated: ${d}`), ctx.signal);
    const reader = new ProtoReader(cursor, (d) => fail('onnx/protobuf', d), ctx.limits.maxHeaderBytes, (d) => fail('onnx/metadata-size', d));
    model = await readOnnxOutline(reader, size);
  } finally {
    await fh.close();
  }

  checkModelHeader(model, fail, findings, file);
  const graph = model.graph;
  if (!graph) throw fail('onnx/graph', 'the model has no graph');
  let parameters = 0n;
  let initializers = 0;
  forEachInitializer(graph, (t) => {
    checkTensorData(t, fail);
    initializers++;
    parameters += elementCount(t.dims) ?? 0n;
  });
  for (const t of model.externalTensors) checkTensorData(t, fail);
  checkGraphs(model, fail);
  checkDomains(model, fail, findings, file);
  const external = await checkExternalData(model.externalTensors, ctx, fail);

  const facts: [string, string][] = [
    ['ir version', String(model.irVersion)],
    ['opsets', model.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')],
    ['nodes', String(countNodes(graph))],
    ['initializers', String(initializers)],
    ['parameters', String(parameters)],
  ];
  if (model.producer) facts.push(['producer', model.producer]);
  if (model.functions.length > 0) facts.push(['local functions', String(model.functions.length)]);
  if (external.files > 0) facts.push(['external data', `${external.files} file(s), ${external.bytes} bytes`]);
  return { format: 'onnx', scanned: true, findings, facts, signature: signatureOf(model) };
}
