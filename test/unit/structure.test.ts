// Structure checks against real files from real writers (safetensors, torch.onnx.export, onnx.helper,
// h5py, the gguf package) and broken files derived from them: every rule is caught by its id, and
// valid files pass with the facts, findings and ONNX signature a reviewer would expect.
import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdtempSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectFormat } from '../../packages/model/src/formats/detect.js';
import { checkFile } from '../../packages/model/src/formats/index.js';
import { DEFAULT_LIMITS, MalformedModelError, type FileCheckContext, type ModelSignature } from '../../packages/model/src/formats/types.js';
import type { ModelFormat } from '../../packages/model/src/formats/detect.js';
import { requirePython } from '../support/python.js';
import { REPO_ROOT } from '../support/repo.js';

interface Expectation {
  readonly checker: ModelFormat;
  readonly expect: string;
  readonly findings: readonly string[];
  readonly scanned: boolean;
  readonly detect?: ModelFormat;
  readonly facts?: Record<string, string>;
  readonly signature?: ModelSignature;
}
interface Manifest {
  readonly files: Record<string, Expectation>;
  readonly writers: Record<string, string | null>;
}

const dir = mkdtempSync(join(tmpdir(), 'ferry-structure-'));
const manifest = JSON.parse(
  execFileSync(requirePython(), [join(REPO_ROOT, 'test/fixtures/make_models.py'), dir], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }),
) as Manifest;
const entries = Object.entries(manifest.files);
const valid = entries.filter(([, e]) => e.expect === 'pass');
const broken = entries.filter(([, e]) => e.expect !== 'pass');

function ctx(rel: string, root?: string): FileCheckContext {
  const path = join(dir, rel);
  return { path, displayPath: rel, modelRoot: root ?? dirname(path), limits: DEFAULT_LIMITS, signal: new AbortController().signal };
}

async function malformed(format: ModelFormat, c: FileCheckContext): Promise<MalformedModelError> {
  try {
    await checkFile(format, c);
  } catch (err) {
    if (err instanceof MalformedModelError) return err;
    throw err;
  }
  throw new Error(`${c.displayPath} passed, but it is malformed`);
}

/** Every rule a checker can throw; each must be shown caught on a real file below. */
const RULES = [
  'safetensors/header-length', 'safetensors/header-utf8', 'safetensors/header-json', 'safetensors/duplicate-key', 'safetensors/metadata',
  'safetensors/tensor-info', 'safetensors/dtype', 'safetensors/shape', 'safetensors/tensor-size', 'safetensors/offsets-contiguous',
  'safetensors/data-end',
  'gguf/magic', 'gguf/version', 'gguf/tensor-count', 'gguf/kv-count', 'gguf/value-type', 'gguf/bool-value', 'gguf/duplicate-key', 'gguf/key',
  'gguf/string-length', 'gguf/array-length', 'gguf/array-nesting', 'gguf/tensor-name', 'gguf/duplicate-tensor', 'gguf/tensor-dims',
  'gguf/tensor-type', 'gguf/block-size', 'gguf/alignment', 'gguf/tensor-bounds', 'gguf/tensor-overlap', 'gguf/architecture', 'gguf/truncated',
  'onnx/protobuf', 'onnx/ir-version', 'onnx/opset-import', 'onnx/initializer-names', 'onnx/topological-order', 'onnx/undefined-value', 'onnx/ssa',
  'onnx/domain-import', 'onnx/tensor-data', 'onnx/external-data', 'onnx/metadata-props',
  'keras/config-json', 'keras/config-missing', 'keras/archive',
  'savedmodel/protobuf', 'savedmodel/schema-version',
];

describe('structure fixtures', () => {
  it('were written by the real writers, the gguf package included', () => {
    expect(manifest.writers['onnx-torch']).toMatch(/torch\.onnx\.export/);
    expect(manifest.writers.safetensors).toMatch(/safetensors/);
    expect(manifest.writers['gguf-package'], 'the gguf package is missing from the test venv: re-run "sudo bash scripts/install-python-deps.sh"').toBeTruthy();
  });
  it('cover every rule id', () => {
    const covered = new Set(broken.map(([, e]) => e.expect));
    expect(RULES.filter((r) => !covered.has(r))).toEqual([]);
  });
});

describe('valid files pass (or are marked unscanned when they cannot be read)', () => {
  it.each(valid)('%s', async (rel, e) => {
    const result = await checkFile(e.checker, ctx(rel));
    expect(result).toBeDefined();
    if (!result) return;
    expect(result.scanned).toBe(e.scanned);
    expect([...new Set(result.findings.map((f) => f.rule))].sort()).toEqual([...e.findings].sort());
    const facts = Object.fromEntries(result.facts);
    for (const [k, v] of Object.entries(e.facts ?? {})) expect(facts[k], `fact ${k}`).toBe(v);
    if (e.signature) expect(result.signature).toEqual(e.signature);
    if (e.detect) expect((await detectFormat(join(dir, rel))).format).toBe(e.detect);
  });
});

describe('each broken rule is caught with its rule id', () => {
  it.each(broken)('%s', async (rel, e) => {
    const err = await malformed(e.checker, ctx(rel));
    expect(err.rule).toBe(e.expect);
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(rel);
    expect(err.message).toContain(e.expect);
  });
});

describe('what users see in findings', () => {
  it('names the Lambda layer and the custom module', async () => {
    const lambda = await checkFile('keras', ctx('keras/lambda.keras'));
    expect(lambda?.findings).toContainEqual(expect.objectContaining({ severity: 'critical', rule: 'keras/lambda-layer', message: expect.stringContaining("'double'") }));
    const custom = await checkFile('keras', ctx('keras/custom.keras'));
    expect(custom?.findings).toContainEqual(expect.objectContaining({ severity: 'high', message: expect.stringContaining('my_company.layers') }));
  });
  it('reports SavedModel file and code ops with where they are', async () => {
    const r = await checkFile('tf-savedmodel', ctx('savedmodel/readfile/saved_model.pb'));
    const messages = r?.findings.map((f) => f.message).join('\n') ?? '';
    expect(messages).toMatch(/ReadFile.*__inference_serving_default_42/);
    expect(messages).toMatch(/WriteFile/);
    const clean = await checkFile('tf-savedmodel', ctx('savedmodel/clean/saved_model.pb'));
    expect(Object.fromEntries(clean?.facts ?? [])['checkpoint ops']).toMatch(/saver graph/);
  });
  it('reports the torch-exported model signature with its symbolic batch dimension', async () => {
    const r = await checkFile('onnx', ctx('onnx/torch_mlp.onnx'));
    expect(r?.signature?.inputs).toEqual([{ name: 'x', dtype: 'FLOAT', shape: ['batch', 4] }]);
    expect(r?.signature?.outputs).toEqual([{ name: 'logits', dtype: 'FLOAT', shape: ['batch', 3] }]);
  });
});

describe('crafted cases the writers cannot produce', () => {
  function write(name: string, bytes: Buffer): string {
    writeFileSync(join(dir, name), bytes);
    return name;
  }
  const tight = (rel: string, limits: Partial<typeof DEFAULT_LIMITS>): FileCheckContext => ({ ...ctx(rel), limits: { ...DEFAULT_LIMITS, ...limits } });

  it.each([
    // ir_version 8, opset_import { version 13 }, and no graph.
    ['onnx', 'no-graph.onnx', Buffer.from('0808420210 0d'.replace(/ /g, ''), 'hex'), 'onnx/graph'],
    // saved_model_schema_version 1 and no MetaGraphDef.
    ['tf-savedmodel', 'no-meta-graph.pb', Buffer.from('0801', 'hex'), 'savedmodel/no-meta-graph'],
    ['keras', 'not-keras.bin', Buffer.from('not a zip or hdf5 file'), 'keras/format'],
  ] as const)('%s %s fails with %s', async (format, name, bytes, rule) => {
    expect((await malformed(format, ctx(write(name, bytes)))).rule).toBe(rule);
  });

  it.each([
    ['gguf', 'gguf/spec_writer.gguf', { maxHeaderBytes: 64 }, 'gguf/metadata-size'],
    ['keras', 'keras/clean.keras', { maxHeaderBytes: 100 }, 'keras/config-size'],
    ['onnx', 'onnx/torch_mlp.onnx', { maxHeaderBytes: 100 }, 'onnx/metadata-size'],
    ['tf-savedmodel', 'savedmodel/clean/saved_model.pb', { maxHeaderBytes: 100 }, 'savedmodel/metadata-size'],
    ['safetensors', 'st/torch.safetensors', { maxHeaderBytes: 100 }, 'safetensors/header-length'],
  ] as const)('%s %s stops at a lowered limit with %s', async (format, rel, limits, rule) => {
    expect((await malformed(format, tight(rel, limits))).rule).toBe(rule);
  });

  it('a cancelled job stops the check', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(checkFile('onnx', { ...ctx('onnx/torch_mlp.onnx'), signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('large files cost only their headers', () => {
  /** A sparse file: the header is written, the rest is a hole that takes no disk and no reading. */
  function sparse(name: string, head: Buffer, size: number): string {
    const fd = openSync(join(dir, name), 'w');
    writeSync(fd, head, 0, head.length, 0);
    ftruncateSync(fd, size);
    closeSync(fd);
    return name;
  }
  const GIB = 1024 ** 3;

  it('an ONNX file of 2 GiB or more is rejected: protobuf cannot hold it', async () => {
    const rel = sparse('huge.onnx', Buffer.from([0x08, 0x08]), 2 * GIB + 1);
    const err = await malformed('onnx', ctx(rel));
    expect(err.rule).toBe('onnx/protobuf-size');
    expect(err.message).toMatch(/external data/);
  });

  it('a 3 GiB safetensors file passes from its header alone', async () => {
    const n = (3 * GIB) / 4;
    const header = Buffer.from(JSON.stringify({ big: { dtype: 'F32', shape: [n], data_offsets: [0, 3 * GIB] } }));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    const rel = sparse('big.safetensors', Buffer.concat([len, header]), 8 + header.length + 3 * GIB);
    const started = performance.now();
    const r = await checkFile('safetensors', ctx(rel));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(Object.fromEntries(r?.facts ?? []).parameters).toBe(String(n));
  });
});
