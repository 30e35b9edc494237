// Streams an ONNX ModelProto into the small outline the structure rules need (names, types, domains,
// where tensor bytes live), passing over tensor payloads by length. Field numbers are onnx.proto's.
import type { ProtoReader, Tag } from './protobuf.js';

export interface OnnxTensor {
  readonly name: string;
  readonly dataType: number;
  readonly dims: readonly number[];
  /** TensorProto.DataLocation: 0 DEFAULT, 1 EXTERNAL. */
  readonly dataLocation: number;
  readonly external: readonly (readonly [string, string])[];
  /** Length of raw_data when present. */
  readonly rawBytes: number | undefined;
  /** Which data fields (raw_data, float_data, ...) carry values, by field number. */
  readonly dataFields: readonly number[];
}

export type OnnxType =
  | { readonly kind: 'tensor' | 'sparse_tensor'; readonly elemType: number; readonly shape: readonly (number | string)[] | undefined }
  | { readonly kind: 'sequence' | 'optional'; readonly elem: OnnxType | undefined }
  | { readonly kind: 'map'; readonly keyType: number; readonly value: OnnxType | undefined }
  | { readonly kind: 'unknown' };

export interface OnnxValueInfo {
  readonly name: string;
  readonly type: OnnxType | undefined;
}

export interface OnnxNode {
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Graphs held by attributes (If branches, Loop/Scan bodies). */
  readonly subgraphs: readonly OnnxGraph[];
}

export interface OnnxGraph {
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxTensor[];
  /** Names of sparse initializers (their values tensor's name). */
  readonly sparseInitializers: readonly string[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
}

export interface OnnxModel {
  readonly irVersion: number | undefined;
  readonly opsets: readonly { readonly domain: string; readonly version: number }[];
  readonly producer: string;
  readonly graph: OnnxGraph | undefined;
  readonly metadataKeys: readonly string[];
  readonly functions: readonly { readonly domain: string; readonly name: string }[];
  /** Every tensor, at any depth, whose bytes live in another file. */
  readonly externalTensors: readonly OnnxTensor[];
}

/** Names and op types are short in practice; anything longer is hostile or broken. */
const MAX_NAME = 64 * 1024;
const MAX_DIMS = 64;
/** Graphs nest through If/Loop/Scan attributes; real models stay within a handful of levels. */
const MAX_DEPTH = 32;
/** Rough heap cost charged per kept object, so counts are bounded as well as bytes. */
const OBJECT_COST = 64;

/** Data fields of TensorProto that hold values: float, int32, string, int64, raw, double, uint64. */
const DATA_FIELDS = new Set([4, 5, 6, 7, 9, 10, 11]);

class OutlineBuilder {
  readonly externalTensors: OnnxTensor[] = [];
  private readonly r: ProtoReader;
  constructor(r: ProtoReader) {
    this.r = r;
  }

  private str(t: Tag, end: number, what: string): Promise<string> {
    return this.r.text(t, end, MAX_NAME, what);
  }

  async model(end: number): Promise<OnnxModel> {
    const r = this.r;
    let irVersion: number | undefined;
    const opsets: { domain: string; version: number }[] = [];
    let producer = '';
    let producerVersion = '';
    let graph: OnnxGraph | undefined;
    const metadataKeys: string[] = [];
    const functions: { domain: string; name: string }[] = [];
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      switch (t.field) {
        case 1:
          irVersion = await r.scalar(t, end, 'ir_version');
          break;
        case 2:
          producer = await this.str(t, end, 'producer_name');
          break;
        case 3:
          producerVersion = await this.str(t, end, 'producer_version');
          break;
        case 7:
          if (graph) throw r.error('ModelProto has more than one graph');
          graph = await this.graph(await r.message(t, end, 'graph'), 0);
          break;
        case 8:
          opsets.push(await this.opset(await r.message(t, end, 'opset_import')));
          break;
        case 14:
          metadataKeys.push((await this.entry(await r.message(t, end, 'metadata_props')))[0]);
          break;
        case 25:
          functions.push(await this.functionName(await r.message(t, end, 'functions')));
          break;
        default:
          await r.skip(t, end);
      }
    }
    return {
      irVersion,
      opsets,
      producer: [producer, producerVersion].filter((s) => s !== '').join(' '),
      graph,
      metadataKeys,
      functions,
      externalTensors: this.externalTensors,
    };
  }

  private async opset(end: number): Promise<{ domain: string; version: number }> {
    const r = this.r;
    let domain = '';
    let version = 0;
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      if (t.field === 1) domain = await this.str(t, end, 'opset domain');
      else if (t.field === 2) version = await r.scalar(t, end, 'opset version');
      else await r.skip(t, end);
    }
    r.retain(OBJECT_COST);
    return { domain, version };
  }

  /** StringStringEntryProto: key 1, value 2. */
  private async entry(end: number): Promise<[string, string]> {
    const r = this.r;
    let key = '';
    let value = '';
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      if (t.field === 1) key = await this.str(t, end, 'entry key');
      else if (t.field === 2) value = await this.str(t, end, 'entry value');
      else await r.skip(t, end);
    }
    r.retain(OBJECT_COST);
    return [key, value];
  }

  /** FunctionProto: only its identity (name 1, domain 10) matters to the model-level rules. */
  private async functionName(end: number): Promise<{ domain: string; name: string }> {
    const r = this.r;
    let name = '';
    let domain = '';
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      if (t.field === 1) name = await this.str(t, end, 'function name');
      else if (t.field === 10) domain = await this.str(t, end, 'function domain');
      else await r.skip(t, end);
    }
    r.retain(OBJECT_COST);
    return { domain, name };
  }

  async graph(end: number, depth: number): Promise<OnnxGraph> {
    const r = this.r;
    if (depth > MAX_DEPTH) throw r.error(`graphs nested more than ${MAX_DEPTH} levels deep`);
    let name = '';
    const nodes: OnnxNode[] = [];
    const initializers: OnnxTensor[] = [];
    const sparseInitializers: string[] = [];
    const inputs: OnnxValueInfo[] = [];
    const outputs: OnnxValueInfo[] = [];
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      switch (t.field) {
        case 1:
          nodes.push(await this.node(await r.message(t, end, 'node'), depth));
          break;
        case 2:
          name = await this.str(t, end, 'graph name');
          break;
        case 5:
          initializers.push(await this.tensor(await r.message(t, end, 'initializer')));
          break;
        case 11:
          inputs.push(await this.valueInfo(await r.message(t, end, 'input')));
          break;
        case 12:
          outputs.push(await this.valueInfo(await r.message(t, end, 'output')));
          break;
        case 15:
          sparseInitializers.push(await this.sparseTensor(await r.message(t, end, 'sparse_initializer')));
          break;
        default:
          await r.skip(t, end);
      }
    }
    r.retain(OBJECT_COST);
    return { name, nodes, initializers, sparseInitializers, inputs, outputs };
  }

  private async node(end: number, depth: number): Promise<OnnxNode> {
    const r = this.r;
    let name = '';
    let opType = '';
    let domain = '';
    const inputs: string[] = [];
    const outputs: string[] = [];
    const subgraphs: OnnxGraph[] = [];
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      switch (t.field) {
        case 1:
          inputs.push(await this.str(t, end, 'node input'));
          r.retain(OBJECT_COST);
          break;
        case 2:
          outputs.push(await this.str(t, end, 'node output'));
          r.retain(OBJECT_COST);
          break;
        case 3:
          name = await this.str(t, end, 'node name');
          break;
        case 4:
          opType = await this.str(t, end, 'op_type');
          break;
        case 5:
          await this.attribute(await r.message(t, end, 'attribute'), depth, subgraphs);
          break;
        case 7:
          domain = await this.str(t, end, 'node domain');
          break;
        default:
          await r.skip(t, end);
      }
    }
    r.retain(OBJECT_COST);
    return { name, opType, domain, inputs, outputs, subgraphs };
  }

  /** AttributeProto: only graphs (g 6, graphs 11) and tensors (t 5, tensors 10, sparse 22/23) matter. */
  private async attribute(end: number, depth: number, subgraphs: OnnxGraph[]): Promise<void> {
    const r = this.r;
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      switch (t.field) {
        case 5:
        case 10:
          await this.tensor(await r.message(t, end, 'attribute tensor'));
          break;
        case 6:
        case 11:
          subgraphs.push(await this.graph(await r.message(t, end, 'attribute graph'), depth + 1));
          break;
        case 22:
        case 23:
          await this.sparseTensor(await r.message(t, end, 'attribute sparse tensor'));
          break;
        default:
          await r.skip(t, end);
      }
    }
  }

  /** SparseTensorProto: values 1 and indices 2 are tensors; its name is that of its values. */
  private async sparseTensor(end: number): Promise<string> {
    const r = this.r;
    let name = '';
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      if (t.field === 1) name = (await this.tensor(await r.message(t, end, 'sparse values'))).name;
      else if (t.field === 2) await this.tensor(await r.message(t, end, 'sparse indices'));
      else await r.skip(t, end);
    }
    return name;
  }

  async tensor(end: number): Promise<OnnxTensor> {
    const r = this.r;
    let name = '';
    let dataType = 0;
    const dims: number[] = [];
    let dataLocation = 0;
    const external: [string, string][] = [];
    let rawBytes: number | undefined;
    const dataFields = new Set<number>();
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      switch (t.field) {
        case 1:
          await r.ints(t, end, dims, MAX_DIMS, 'tensor dims');
          break;
        case 2:
          dataType = await r.scalar(t, end, 'tensor data_type');
          break;
        case 8:
          name = await this.str(t, end, 'tensor name');
          break;
        case 9:
          if (t.wire !== 2) throw r.error(`raw_data has wire type ${t.wire}`);
          rawBytes = await r.length(end);
          r.cursor.skip(rawBytes);
          if (rawBytes > 0) dataFields.add(9);
          break;
        case 13:
          external.push(await this.entry(await r.message(t, end, 'external_data')));
          break;
        case 14:
          dataLocation = await r.scalar(t, end, 'data_location');
          break;
        default:
          // Typed value fields are skipped by length (packed) or value, never loaded.
          if (DATA_FIELDS.has(t.field)) dataFields.add(t.field);
          await r.skip(t, end);
      }
    }
    r.retain(OBJECT_COST);
    const tensor: OnnxTensor = { name, dataType, dims, dataLocation, external, rawBytes, dataFields: [...dataFields] };
    if (dataLocation === 1 || external.length > 0) this.externalTensors.push(tensor);
    return tensor;
  }

  private async valueInfo(end: number): Promise<OnnxValueInfo> {
    const r = this.r;
    let name = '';
    let type: OnnxType | undefined;
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      if (t.field === 1) name = await this.str(t, end, 'value name');
      else if (t.field === 2) type = await this.type(await r.message(t, end, 'value type'), 0);
      else await r.skip(t, end);
    }
    r.retain(OBJECT_COST);
    return { name, type };
  }

  /** TypeProto: tensor_type 1, sequence_type 4, map_type 5, sparse_tensor_type 8, optional_type 9. */
  private async type(end: number, depth: number): Promise<OnnxType> {
    const r = this.r;
    if (depth > MAX_DEPTH) throw r.error(`types nested more than ${MAX_DEPTH} levels deep`);
    let type: OnnxType = { kind: 'unknown' };
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      switch (t.field) {
        case 1:
        case 8:
          type = { kind: t.field === 1 ? 'tensor' : 'sparse_tensor', ...(await this.tensorType(await r.message(t, end, 'tensor type'))) };
          break;
        case 4:
        case 9:
          type = { kind: t.field === 4 ? 'sequence' : 'optional', elem: await this.innerType(await r.message(t, end, 'element type'), 1, depth) };
          break;
        case 5:
          type = await this.mapType(await r.message(t, end, 'map type'), depth);
          break;
        default:
          await r.skip(t, end);
      }
    }
    r.retain(OBJECT_COST);
    return type;
  }

  /** Sequence/Optional hold one TypeProto at `field`. */
  private async innerType(end: number, field: number, depth: number): Promise<OnnxType | undefined> {
    const r = this.r;
    let inner: OnnxType | undefined;
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      if (t.field === field) inner = await this.type(await r.message(t, end, 'element type'), depth + 1);
      else await r.skip(t, end);
    }
    return inner;
  }

  private async mapType(end: number, depth: number): Promise<OnnxType> {
    const r = this.r;
    let keyType = 0;
    let value: OnnxType | undefined;
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      if (t.field === 1) keyType = await r.scalar(t, end, 'map key_type');
      else if (t.field === 2) value = await this.type(await r.message(t, end, 'map value type'), depth + 1);
      else await r.skip(t, end);
    }
    return { kind: 'map', keyType, value };
  }

  /** TypeProto.Tensor: elem_type 1, shape 2 (TensorShapeProto: dim 1 → dim_value 1 | dim_param 2). */
  private async tensorType(end: number): Promise<{ elemType: number; shape: (number | string)[] | undefined }> {
    const r = this.r;
    let elemType = 0;
    let shape: (number | string)[] | undefined;
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      if (t.field === 1) {
        elemType = await r.scalar(t, end, 'elem_type');
      } else if (t.field === 2) {
        shape = [];
        const shapeEnd = await r.message(t, end, 'shape');
        for (let s = await r.tag(shapeEnd); s; s = await r.tag(shapeEnd)) {
          if (s.field !== 1) {
            await r.skip(s, shapeEnd);
            continue;
          }
          if (shape.length >= MAX_DIMS) throw r.error(`a shape has more than ${MAX_DIMS} dimensions`);
          shape.push(await this.dim(await r.message(s, shapeEnd, 'dim')));
        }
      } else {
        await r.skip(t, end);
      }
    }
    return { elemType, shape };
  }

  private async dim(end: number): Promise<number | string> {
    const r = this.r;
    let dim: number | string = -1;
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      if (t.field === 1) dim = await r.scalar(t, end, 'dim_value');
      else if (t.field === 2) dim = await this.str(t, end, 'dim_param');
      else await r.skip(t, end);
    }
    r.retain(OBJECT_COST);
    return dim;
  }
}

/** Reads the whole ModelProto (the file from the reader's position to `end`). */
export function readOnnxOutline(r: ProtoReader, end: number): Promise<OnnxModel> {
  return new OutlineBuilder(r).model(end);
}
