// Structure and op check for a TensorFlow SavedModel's saved_model.pb: streams the protobuf (field
// numbers from tensorflow/core/protobuf/saved_model.proto, meta_graph.proto, graph.proto,
// function.proto, node_def.proto, attr_value.proto), lists op types, and reports risky ops.
import { open } from 'node:fs/promises';
import type { Finding } from '@ferry/core';
import { FileCursor } from './file-cursor.js';
import { ProtoReader, type Tag } from './protobuf.js';
import { attrRisk, CHECKPOINT_OPS, CHECKPOINT_OUTSIDE_SAVER, isSaverFunction, isSaverNode, OP_RISKS, RISKY_ATTRS, type OpRisk } from './savedmodel-ops.js';
import { MalformedModelError, type FileCheck, type FileCheckContext } from './types.js';

const MAX_NAME = 64 * 1024;
const OBJECT_COST = 64;

interface NodeRecord {
  readonly name: string;
  readonly op: string;
  readonly attrs: readonly (readonly [string, string])[];
}

/** Uses of one risky op, aggregated so a graph of millions of nodes keeps a few places per op. */
interface Hit {
  readonly risk: OpRisk;
  readonly op: string;
  count: number;
  readonly places: string[];
}

class SavedModelScan {
  readonly opCounts = new Map<string, number>();
  readonly functions = new Set<string>();
  readonly strippedOps = new Set<string>();
  readonly tags: string[] = [];
  readonly signatures: string[] = [];
  readonly hits = new Map<string, Hit>();
  checkpointInSaver = 0;
  tfVersion = '';
  schemaVersion: number | undefined;
  metaGraphs = 0;
  private readonly r: ProtoReader;
  constructor(r: ProtoReader) {
    this.r = r;
  }

  private str(t: Tag, end: number, what: string): Promise<string> {
    return this.r.text(t, end, MAX_NAME, what);
  }

  async savedModel(end: number): Promise<void> {
    const r = this.r;
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      if (t.field === 1) this.schemaVersion = await r.scalar(t, end, 'saved_model_schema_version');
      else if (t.field === 2) await this.metaGraph(await r.message(t, end, 'meta_graphs'));
      else await r.skip(t, end);
    }
  }

  /** MetaGraphDef: meta_info_def 1, graph_def 2, signature_def 5 (map entries: key 1). */
  private async metaGraph(end: number): Promise<void> {
    const r = this.r;
    this.metaGraphs++;
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      if (t.field === 1) await this.metaInfo(await r.message(t, end, 'meta_info_def'));
      else if (t.field === 2) await this.graphDef(await r.message(t, end, 'graph_def'));
      else if (t.field === 5) this.signatures.push(await this.mapKey(await r.message(t, end, 'signature_def')));
      else await r.skip(t, end);
    }
  }

  /** MetaInfoDef: stripped_op_list 2 (OpList: op 1 → OpDef: name 1), tags 4, tensorflow_version 5. */
  private async metaInfo(end: number): Promise<void> {
    const r = this.r;
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      if (t.field === 4) {
        this.tags.push(await this.str(t, end, 'tag'));
      } else if (t.field === 5) {
        this.tfVersion = await this.str(t, end, 'tensorflow_version');
      } else if (t.field === 2) {
        const listEnd = await r.message(t, end, 'stripped_op_list');
        for (let o = await r.tag(listEnd); o; o = await r.tag(listEnd)) {
          if (o.field === 1) this.strippedOps.add(await this.opDefName(await r.message(o, listEnd, 'op')));
          else await r.skip(o, listEnd);
        }
      } else {
        await r.skip(t, end);
      }
    }
  }

  private async opDefName(end: number): Promise<string> {
    const r = this.r;
    let name = '';
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      if (t.field === 1) name = await this.str(t, end, 'op name');
      else await r.skip(t, end);
    }
    return name;
  }

  private async mapKey(end: number): Promise<string> {
    const r = this.r;
    let key = '';
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      if (t.field === 1) key = await this.str(t, end, 'map key');
      else await r.skip(t, end);
    }
    return key;
  }

  /** GraphDef: node 1, library 2 (FunctionDefLibrary: function 1). */
  private async graphDef(end: number): Promise<void> {
    const r = this.r;
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      if (t.field === 1) {
        const node = await this.node(await r.message(t, end, 'node'));
        this.record(node, isSaverNode(node.name), 'the main graph');
      } else if (t.field === 2) {
        const libEnd = await r.message(t, end, 'library');
        for (let f = await r.tag(libEnd); f; f = await r.tag(libEnd)) {
          if (f.field === 1) await this.functionDef(await r.message(f, libEnd, 'function'));
          else await r.skip(f, libEnd);
        }
      } else {
        await r.skip(t, end);
      }
    }
  }

  /** FunctionDef: signature 1 (OpDef: name 1), node_def 3. Nodes are judged once the name is known. */
  private async functionDef(end: number): Promise<void> {
    const r = this.r;
    let name = '';
    const nodes: NodeRecord[] = [];
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      if (t.field === 1) name = await this.opDefName(await r.message(t, end, 'signature'));
      else if (t.field === 3) nodes.push(await this.node(await r.message(t, end, 'node_def')));
      else await r.skip(t, end);
    }
    this.functions.add(name);
    const saver = isSaverFunction(name);
    for (const node of nodes) this.record(node, saver, `function '${name}'`);
  }

  /** NodeDef: name 1, op 2, attr 5 (map entry: key 1, AttrValue 2). */
  private async node(end: number): Promise<NodeRecord> {
    const r = this.r;
    let name = '';
    let op = '';
    const attrs: [string, string][] = [];
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      if (t.field === 1) name = await this.str(t, end, 'node name');
      else if (t.field === 2) op = await this.str(t, end, 'node op');
      else if (t.field === 5) await this.attr(await r.message(t, end, 'attr'), attrs);
      else await r.skip(t, end);
    }
    r.retain(OBJECT_COST);
    return { name, op, attrs };
  }

  /** Keeps only the attributes that decide risk; AttrValue: s 2, list 1 (ListValue: s 2). */
  private async attr(end: number, out: [string, string][]): Promise<void> {
    const r = this.r;
    let key = '';
    for (let t = await r.tag(end); t; t = await r.tag(end)) {
      if (t.field === 1) {
        key = await this.str(t, end, 'attr key');
      } else if (t.field === 2 && RISKY_ATTRS.has(key)) {
        const valueEnd = await r.message(t, end, 'attr value');
        for (let v = await r.tag(valueEnd); v; v = await r.tag(valueEnd)) {
          if (v.field === 2) out.push([key, await this.str(v, valueEnd, 'attr string')]);
          else await r.skip(v, valueEnd);
        }
      } else {
        await r.skip(t, end);
      }
    }
  }

  hit(risk: OpRisk, op: string, where: string): void {
    const key = `${risk.rule}\u0000${op}`;
    const h = this.hits.get(key) ?? { risk, op, count: 0, places: [] };
    h.count++;
    if (h.places.length < 3) h.places.push(where);
    this.hits.set(key, h);
  }

  private record(node: NodeRecord, inSaver: boolean, where: string): void {
    this.opCounts.set(node.op, (this.opCounts.get(node.op) ?? 0) + 1);
    const at = `${where}${node.name ? `, node '${node.name}'` : ''}`;
    if (CHECKPOINT_OPS.has(node.op)) {
      if (inSaver) this.checkpointInSaver++;
      else this.hit(CHECKPOINT_OUTSIDE_SAVER, node.op, at);
      return;
    }
    const risk = OP_RISKS.get(node.op);
    if (risk) this.hit(risk, node.op, at);
    for (const [key, value] of node.attrs) {
      const attr = attrRisk(node.op, key, value);
      if (attr) this.hit(attr, `${node.op}(${key}=${value.slice(0, 80)})`, at);
    }
  }
}

/** One finding per rule and op, naming up to three places, so a large graph does not flood the report. */
function findingsFrom(hits: Iterable<Hit>, file: string): Finding[] {
  return [...hits].map((h) => ({
    severity: h.risk.severity,
    rule: h.risk.rule,
    message: `op ${h.op} ${h.risk.why}: ${h.count} use(s), in ${h.places.join('; ')}${h.count > h.places.length ? '; …' : ''}`,
    file,
  }));
}

export async function checkSavedModel(ctx: FileCheckContext): Promise<FileCheck> {
  const file = ctx.displayPath;
  const fail = (rule: string, detail: string): MalformedModelError => new MalformedModelError(file, rule, detail);
  const fh = await open(ctx.path, 'r');
  const scan = await (async () => {
    try {
      const { size } = await fh.stat();
      if (size === 0) throw fail('savedmodel/protobuf', 'the file is empty');
      const cursor = new FileCursor(fh, size, (d) => fail('savedmodel/protobuf', `truncated: ${d}`), ctx.signal);
      const s = new SavedModelScan(new ProtoReader(cursor, (d) => fail('savedmodel/protobuf', d), ctx.limits.maxHeaderBytes, (d) => fail('savedmodel/metadata-size', d)));
      await s.savedModel(size);
      return s;
    } finally {
      await fh.close();
    }
  })();
  if (scan.schemaVersion !== undefined && scan.schemaVersion !== 1) {
    throw fail('savedmodel/schema-version', `saved_model_schema_version ${scan.schemaVersion} is not 1`);
  }
  if (scan.metaGraphs === 0) throw fail('savedmodel/no-meta-graph', 'the SavedModel holds no MetaGraphDef');

  // Ops listed in the stripped op list but never seen on a node still count: the list is what TF loads.
  const seen = new Set(scan.opCounts.keys());
  for (const op of scan.strippedOps) {
    const risk = OP_RISKS.get(op);
    if (risk && !seen.has(op)) scan.hit(risk, op, 'the stripped op list');
  }
  const ops = [...scan.opCounts].filter(([op]) => !scan.functions.has(op) && op !== '').sort((a, b) => b[1] - a[1]);
  const facts: [string, string][] = [
    ['meta graphs', String(scan.metaGraphs)],
    ['tags', [...new Set(scan.tags)].join(', ') || 'none'],
    ['op types', `${ops.length}: ${ops.slice(0, 30).map(([op]) => op).join(', ')}${ops.length > 30 ? ', …' : ''}`],
    ['functions', String(scan.functions.size)],
    ['signatures', scan.signatures.join(', ') || 'none'],
  ];
  if (scan.tfVersion) facts.push(['tensorflow version', scan.tfVersion]);
  if (scan.checkpointInSaver > 0) facts.push(['checkpoint ops', `${scan.checkpointInSaver} in the saver graph (not run by serving)`]);
  return { format: 'tf-savedmodel', scanned: true, findings: findingsFrom(scan.hits.values(), file), facts };
}
