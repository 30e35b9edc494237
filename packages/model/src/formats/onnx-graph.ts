// The ONNX checker's model and graph rules over the streamed outline: IR version, opset imports,
// unique initializers, SSA and topological order (subgraphs see their outer scope), imported domains.
import type { Finding } from '@ferry/core';
import type { OnnxGraph, OnnxModel, OnnxTensor } from './onnx-proto.js';

/** Newest IR version this checker knows (onnx.proto `IR_VERSION`); newer is reported, not rejected. */
export const KNOWN_IR_VERSION = 13;
const MAX_SANE_IR_VERSION = 1000;

/** Domains every ONNX runtime implements; anything else needs a custom operator library. */
const STANDARD_DOMAINS = new Set(['', 'ai.onnx.ml', 'ai.onnx.training', 'ai.onnx.preview.training', 'com.microsoft']);

/** Bits per element of fixed-size TensorProto.DataType values (STRING and UNDEFINED have none). */
export const ONNX_ELEM_BITS: Readonly<Record<number, number>> = {
  1: 32, 2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 7: 64, 9: 8, 10: 16, 11: 64, 12: 32, 13: 64, 14: 64, 15: 128,
  16: 16, 17: 8, 18: 8, 19: 8, 20: 8, 21: 4, 22: 4, 23: 4, 24: 8, 25: 2, 26: 2,
};

export type Fail = (rule: string, detail: string) => Error;

/** "" and "ai.onnx" name the same default domain. */
export function normalizeDomain(domain: string): string {
  return domain === 'ai.onnx' ? '' : domain;
}

export function checkModelHeader(model: OnnxModel, fail: Fail, findings: Finding[], file: string): void {
  const ir = model.irVersion;
  if (ir === undefined) throw fail('onnx/ir-version', 'ir_version is not set');
  if (ir < 1 || ir > MAX_SANE_IR_VERSION) throw fail('onnx/ir-version', `ir_version ${ir} is not a valid IR version`);
  if (ir > KNOWN_IR_VERSION) {
    findings.push({
      severity: 'medium',
      rule: 'onnx/ir-version-newer',
      message: `ir_version ${ir} is newer than the newest this check knows (${KNOWN_IR_VERSION}); newer structures were not checked`,
      file,
    });
  }
  const seen = new Set<string>();
  for (const { domain, version } of model.opsets) {
    const d = normalizeDomain(domain);
    if (seen.has(d)) throw fail('onnx/opset-import', `domain '${domain || 'ai.onnx'}' is imported more than once`);
    seen.add(d);
    if (version < 1) throw fail('onnx/opset-import', `domain '${domain || 'ai.onnx'}' is imported with version ${version}`);
  }
  if (ir >= 3 && !seen.has('')) throw fail('onnx/opset-import', `IR version ${ir} requires an opset import for the default domain (ai.onnx)`);
  if (ir < 3 && model.opsets.length > 0) throw fail('onnx/opset-import', `IR version ${ir} predates opset imports, yet the model has some`);
  const keys = new Set<string>();
  for (const k of model.metadataKeys) {
    if (keys.has(k)) throw fail('onnx/metadata-props', `metadata_props key '${k}' appears more than once`);
    keys.add(k);
  }
  if (!model.graph) throw fail('onnx/graph', 'the model has no graph');
}

/** Checks one graph with the names visible from enclosing graphs (innermost last). */
function checkGraph(g: OnnxGraph, outer: readonly ReadonlySet<string>[], fail: Fail, where: string): void {
  const defined = new Set<string>();
  const visible = (n: string): boolean => defined.has(n) || outer.some((s) => s.has(n));
  for (const input of g.inputs) {
    if (input.name === '') throw fail('onnx/ssa', `${where}: a graph input has no name`);
    // Like the ONNX checker, a subgraph input may reuse an outer name (it shadows it); only
    // repeats within one graph break SSA.
    if (defined.has(input.name)) throw fail('onnx/ssa', `${where}: graph input '${input.name}' is defined more than once`);
    defined.add(input.name);
  }
  const inits = new Set<string>();
  for (const name of [...g.initializers.map((t) => t.name), ...g.sparseInitializers]) {
    if (name === '') throw fail('onnx/initializer-names', `${where}: an initializer has no name`);
    if (inits.has(name)) throw fail('onnx/initializer-names', `${where}: initializer '${name}' appears more than once`);
    inits.add(name);
    // An initializer may double as a graph input's default value, so it may share the input's name.
    defined.add(name);
  }
  // Names produced later, so a use before definition reads as an ordering fault, not a missing value.
  const producedLater = new Set<string>();
  for (const node of g.nodes) for (const o of node.outputs) if (o !== '') producedLater.add(o);
  g.nodes.forEach((node, i) => {
    const label = `${where}: node ${i} (${node.opType}${node.name ? ` '${node.name}'` : ''})`;
    for (const input of node.inputs) {
      if (input === '' || visible(input)) continue;
      if (producedLater.has(input)) {
        throw fail('onnx/topological-order', `${label} uses '${input}' before the node that produces it: nodes are not in topological order`);
      }
      throw fail('onnx/undefined-value', `${label} uses '${input}', which no graph input, initializer or node defines`);
    }
    // Checked now, so `defined` holds exactly the names produced before this node.
    const scope = [...outer, defined];
    node.subgraphs.forEach((sub, k) => checkGraph(sub, scope, fail, `${label} subgraph ${k}${sub.name ? ` '${sub.name}'` : ''}`));
    for (const output of node.outputs) {
      if (output === '') continue;
      if (visible(output)) throw fail('onnx/ssa', `${label} assigns '${output}', which is already defined: the graph is not in SSA form`);
      defined.add(output);
    }
  });
  for (const output of g.outputs) {
    if (!visible(output.name)) throw fail('onnx/undefined-value', `${where}: graph output '${output.name}' is never defined`);
  }
}

export function checkGraphs(model: OnnxModel, fail: Fail): void {
  if (model.graph) checkGraph(model.graph, [], fail, `graph '${model.graph.name}'`);
}

/** Every domain a node uses must be imported; custom domains become findings. */
export function checkDomains(model: OnnxModel, fail: Fail, findings: Finding[], file: string): void {
  const imported = new Set(model.opsets.map((o) => normalizeDomain(o.domain)));
  const functions = new Set(model.functions.map((f) => `${f.domain}\u0000${f.name}`));
  const custom = new Map<string, Set<string>>();
  const visit = (g: OnnxGraph): void => {
    for (const node of g.nodes) {
      const domain = normalizeDomain(node.domain);
      if (!imported.has(domain)) {
        throw fail('onnx/domain-import', `node ${node.opType}${node.name ? ` '${node.name}'` : ''} uses domain '${node.domain}', which the model does not import`);
      }
      if (!STANDARD_DOMAINS.has(domain) && !functions.has(`${node.domain}\u0000${node.opType}`)) {
        const ops = custom.get(domain) ?? new Set<string>();
        ops.add(node.opType);
        custom.set(domain, ops);
      }
      node.subgraphs.forEach(visit);
    }
  };
  if (model.graph) visit(model.graph);
  for (const [domain, ops] of custom) {
    findings.push({
      severity: 'medium',
      rule: 'onnx/custom-op-domain',
      message: `operators ${[...ops].slice(0, 5).join(', ')} come from custom domain '${domain}': serving needs a custom operator library, which is native code outside this check`,
      file,
    });
  }
}

/** Element count of a tensor, or undefined when a dimension is negative or the product is absurd. */
export function elementCount(dims: readonly number[]): bigint | undefined {
  let n = 1n;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) return undefined;
    n *= BigInt(d);
    if (n > 2n ** 63n) return undefined;
  }
  return n;
}

/** Bytes a fixed-size tensor needs, or undefined when its type has no fixed size. */
export function tensorBytes(t: OnnxTensor): bigint | undefined {
  const bits = ONNX_ELEM_BITS[t.dataType];
  const n = elementCount(t.dims);
  if (bits === undefined || n === undefined) return undefined;
  return (n * BigInt(bits) + 7n) / 8n;
}

/** One data field per tensor, and raw_data exactly as long as its shape says. */
export function checkTensorData(t: OnnxTensor, fail: Fail): void {
  const label = `tensor '${t.name}'`;
  if (t.dims.some((d) => d < 0)) throw fail('onnx/tensor-data', `${label} has a negative dimension`);
  if (t.dataLocation !== 0 && t.dataLocation !== 1) throw fail('onnx/tensor-data', `${label} has unknown data_location ${t.dataLocation}`);
  if (t.dataLocation === 1) {
    if (t.dataFields.length > 0) throw fail('onnx/tensor-data', `${label} is stored externally but also carries inline data`);
    return;
  }
  if (t.external.length > 0) throw fail('onnx/tensor-data', `${label} has external_data entries but data_location is not EXTERNAL`);
  if (t.dataFields.length > 1) throw fail('onnx/tensor-data', `${label} carries data in more than one field`);
  if (t.rawBytes !== undefined && t.rawBytes > 0) {
    const want = tensorBytes(t);
    if (t.dataType === 8) throw fail('onnx/tensor-data', `${label} is a STRING tensor with raw_data`);
    if (want !== undefined && want !== BigInt(t.rawBytes)) {
      throw fail('onnx/tensor-data', `${label} has ${t.rawBytes} bytes of raw_data, but its type and shape need ${want}`);
    }
  }
}

/** Visits every initializer of every graph, subgraphs included. */
export function forEachInitializer(g: OnnxGraph, fn: (t: OnnxTensor) => void): void {
  g.initializers.forEach(fn);
  for (const node of g.nodes) for (const sub of node.subgraphs) forEachInitializer(sub, fn);
}

export function countNodes(g: OnnxGraph): number {
  let n = g.nodes.length;
  for (const node of g.nodes) for (const sub of node.subgraphs) n += countNodes(sub);
  return n;
}
