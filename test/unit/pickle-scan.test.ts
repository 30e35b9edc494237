// The pickle scanner against a corpus written by real Python (pickle, torch.save, numpy) and by hand
// opcode by opcode: every hostile file is caught with the right global and severity, every benign
// checkpoint passes, policy files widen the allowlist but never silence a critical global, and
// broken streams fail as malformed (exit 2) unless something critical was found first.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CancelledError, InputError, type Finding } from '@ferry/core';
import { FileRangeSource } from '../../packages/model/src/formats/byte-source.js';
import { detectFormat } from '../../packages/model/src/formats/detect.js';
import { DEFAULT_LIMITS, MalformedModelError, type FileCheck, type FileCheckContext } from '../../packages/model/src/formats/types.js';
import {
  checkNpz,
  checkNumpy,
  checkPickle,
  checkPytorchLegacy,
  checkPytorchZip,
  DEFAULT_PICKLE_POLICY,
  loadPicklePolicy,
  parsePicklePolicy,
  scanPickleStream,
  type PicklePolicy,
} from '../../packages/model/src/scan/index.js';
import { OPCODE_NAMES } from '../../packages/model/src/scan/pickle-opcodes.js';
import { REPO_ROOT } from '../support/repo.js';
import { requirePython } from '../support/python.js';

interface Expectation {
  readonly expect: 'critical' | 'unknown' | 'clean' | 'archive' | 'malformed';
  readonly global?: string;
  readonly member?: string;
  readonly rules?: readonly string[];
  readonly opcodes?: Readonly<Record<string, number>>;
}

const dir = mkdtempSync(join(tmpdir(), 'ferry-pickles-'));
const manifest = JSON.parse(
  execFileSync(requirePython(), [join(REPO_ROOT, 'test/fixtures/make_hostile_pickles.py'), dir], { encoding: 'utf8', maxBuffer: 16 << 20 }),
) as Record<string, Expectation> & { __opcodes__: Record<string, number> };
const cpythonOpcodes = manifest.__opcodes__;
const corpus = Object.entries(manifest).filter(([k]) => k !== '__opcodes__') as [string, Expectation][];

type Checker = (ctx: FileCheckContext, policy?: PicklePolicy) => Promise<FileCheck>;
const CHECKERS: Record<string, Checker> = {
  pickle: checkPickle,
  'pytorch-zip': checkPytorchZip,
  'pytorch-legacy': checkPytorchLegacy,
  numpy: checkNumpy,
  npz: checkNpz,
};

function ctxFor(path: string, displayPath = path.slice(dir.length + 1)): FileCheckContext {
  return { path, displayPath, modelRoot: dir, limits: DEFAULT_LIMITS, signal: new AbortController().signal };
}

/** Detects the format from the bytes, as validate-model does, and runs that format's checker. */
async function check(file: string, policy: PicklePolicy = DEFAULT_PICKLE_POLICY, path = join(dir, file)): Promise<FileCheck> {
  const { format } = await detectFormat(path);
  const checker = CHECKERS[format];
  if (!checker) throw new Error(`${file} was detected as ${format}, which has no pickle checker`);
  return checker(ctxFor(path, file), policy);
}

const bySeverity = (c: FileCheck, ...severities: Finding['severity'][]): Finding[] => c.findings.filter((f) => severities.includes(f.severity));

async function malformedOf(promise: Promise<unknown>): Promise<MalformedModelError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MalformedModelError);
  return err as MalformedModelError;
}

function writeTemp(name: string, data: Buffer | string): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

describe('the hostile corpus is caught with the right global and severity', () => {
  const hostile = corpus.filter(([, e]) => e.expect === 'critical');
  it('covers the attacks the issue lists', () => {
    expect(hostile.length).toBeGreaterThanOrEqual(25);
  });
  it.each(hostile)('%s is critical', async (file, e) => {
    const result = await check(file);
    const critical = bySeverity(result, 'critical');
    expect(critical.length, JSON.stringify(result.findings, null, 1)).toBeGreaterThan(0);
    const byRule: Record<string, string> = { unresolved: 'pickle/unresolved-global', computed: 'pickle/computed-call' };
    const rule = byRule[e.global ?? ''];
    const named = rule ? critical.filter((f) => f.rule === rule) : critical.filter((f) => f.message.includes(e.global ?? '?'));
    expect(named.length, JSON.stringify(critical, null, 1)).toBeGreaterThan(0);
    const where = e.member ? `${file}:${e.member}` : file;
    expect(named.some((f) => f.message.startsWith(`${where}: `) && f.file === file)).toBe(true);
    expect(named.every((f) => ['pickle/dangerous-global', 'pickle/unresolved-global', 'pickle/computed-call', 'pickle/global-mutation'].includes(f.rule))).toBe(true);
  });
});

describe('benign files pass', () => {
  it.each(corpus.filter(([, e]) => e.expect === 'clean'))('%s has no blocking finding', async (file) => {
    const result = await check(file);
    expect(bySeverity(result, 'critical', 'high')).toEqual([]);
    expect(result.scanned).toBe(true);
    expect(result.facts.length).toBeGreaterThan(0);
  });

  it('a torch.save state_dict names only allowlisted globals, and its storages match the pickle', async () => {
    const result = await check('state_dict.pt');
    const facts = Object.fromEntries(result.facts);
    expect(facts['allowlisted globals']).toContain('torch._utils._rebuild_tensor_v2');
    expect(facts['storage members']).toBe('5');
  });
});

describe('a full torch.save(model) references its own class', () => {
  it('is unknown (high, fails by default) and names __main__.TinyNet', async () => {
    const result = await check('full_model.pt');
    expect(bySeverity(result, 'critical')).toEqual([]);
    const unknown = result.findings.filter((f) => f.rule === 'pickle/unknown-global');
    expect(unknown.map((f) => f.severity)).toContain('high');
    expect(unknown.some((f) => f.message.includes('__main__.TinyNet'))).toBe(true);
    expect(unknown.some((f) => f.message.includes('torch.nn.modules.linear.Linear'))).toBe(true);
  });
});

describe('policy files', () => {
  const cases: [string, string, PicklePolicy, { readonly blocking: number; readonly rules: readonly string[] }][] = [
    ['allows the model class and torch.nn modules', 'full_model.pt', { allow: ['__main__.TinyNet', 'torch.nn.modules.*'], deny: [] }, { blocking: 0, rules: ['pickle/policy-allowed-global'] }],
    ['cannot allow os.system with wildcards', 'hostile_p2.pkl', { allow: ['posix.*', 'os.*', '*'], deny: [] }, { blocking: 1, rules: ['pickle/dangerous-global'] }],
    ['allows a critical global only by exact name, still reported', 'hostile_p2.pkl', { allow: ['posix.system'], deny: [] }, { blocking: 0, rules: ['pickle/dangerous-global-allowed'] }],
    ['exact os.system does not cover the posix spelling', 'hostile_p4.pkl', { allow: ['os.system'], deny: [] }, { blocking: 1, rules: ['pickle/dangerous-global'] }],
    ['denies an allowlisted global', 'state_dict.pt', { allow: [], deny: ['collections.OrderedDict'] }, { blocking: 1, rules: ['pickle/denied-global'] }],
  ];
  it.each(cases)('%s', async (_name, file, policy, want) => {
    const result = await check(file, policy);
    expect(bySeverity(result, 'critical', 'high').length).toBe(want.blocking);
    for (const rule of want.rules) expect(result.findings.map((f) => f.rule)).toContain(rule);
  });

  it('reads YAML and JSON policy files and names the file in findings', async () => {
    const yamlPath = writeTemp('policy.yml', 'allow:\n  - __main__.TinyNet\n  - torch.nn.modules.*\ndeny: []\n');
    const jsonPath = writeTemp('policy.json', JSON.stringify({ allow: ['__main__.TinyNet', 'torch.nn.*'] }));
    for (const path of [yamlPath, jsonPath]) {
      const policy = await loadPicklePolicy(path);
      const result = await check('full_model.pt', policy);
      expect(bySeverity(result, 'critical', 'high')).toEqual([]);
      expect(result.findings.find((f) => f.rule === 'pickle/policy-allowed-global')?.message).toContain(path);
    }
  });

  it.each([
    ['a list at the top', ['os.system']],
    ['an unknown key', { allow: [], permit: ['x'] }],
    ['a pattern that is not a name', { allow: ['os system'] }],
    ['allow not a list', { allow: 'os.system' }],
  ])('rejects %s as bad input naming the file', (_name, doc) => {
    expect(() => parsePicklePolicy(doc, 'policy.yml')).toThrow(InputError);
    expect(() => parsePicklePolicy(doc, 'policy.yml')).toThrow(/policy\.yml/);
  });
});

describe('opcode coverage: the scanner reads what CPython writes', () => {
  it('knows exactly CPython\'s opcodes, by byte', () => {
    const ours = Object.fromEntries(OPCODE_NAMES.flatMap((n, byte) => (n ? [[n, byte]] : [])));
    expect(ours).toEqual(cpythonOpcodes);
  });
  const withOpcodes = corpus.filter(([, e]) => e.opcodes !== undefined);
  it('covers every opcode across the corpus', () => {
    const seen = new Set(withOpcodes.flatMap(([, e]) => Object.keys(e.opcodes ?? {})));
    expect([...seen].sort()).toEqual(Object.keys(cpythonOpcodes).sort());
  });
  it.each(withOpcodes)('%s: opcode counts match pickletools', async (file, e) => {
    const fh = await open(join(dir, file), 'r');
    try {
      const scan = await scanPickleStream(new FileRangeSource(fh, 0, (await fh.stat()).size), { label: file, maxBytes: 1 << 30 });
      expect(scan.malformed).toBeUndefined();
      expect(scan.opcodeCounts).toEqual(e.opcodes);
    } finally {
      await fh.close();
    }
  });
});

describe('names that reach dangerous code indirectly', () => {
  const sbu = (s: string): Buffer => Buffer.concat([Buffer.from([0x8c, Buffer.byteLength(s)]), Buffer.from(s)]);
  const stackGlobal = (module: string, name: string): Buffer =>
    Buffer.concat([Buffer.from([0x80, 0x04]), sbu(module), sbu(name), Buffer.from([0x93, 0x29, 0x52, 0x2e])]);
  it.each([
    ['an attribute path through an allowed module', 'torch.serialization', 'os.system', 'os.system'],
    ['dunder attributes', '__main__', '__builtins__.eval', '__builtins__.eval'],
    ['a Python 2 module name', '__builtin__', 'exec', '__builtin__.exec'],
    ['a submodule of a blocked module', 'os.path', 'join', 'os.path.join'],
    ['a network module', 'http.client', 'HTTPConnection', 'http.client.HTTPConnection'],
  ])('%s is critical', async (_name, module, name, shown) => {
    const result = await check(`dotted-${module}-${name}.pkl`, DEFAULT_PICKLE_POLICY, writeTemp(`dotted-${module}-${name}.pkl`, stackGlobal(module, name)));
    expect(bySeverity(result, 'critical').some((f) => f.message.includes(shown))).toBe(true);
  });
});

describe('malformed streams fail as bad input (exit 2)', () => {
  const benign = corpus.filter(([f]) => /^benign_p\d\.pkl$/.test(f)).map(([f]) => f);
  const cuts = benign.flatMap((file) => {
    const bytes = readFileSync(join(dir, file));
    return [1, 2, 3, 5, 8, 13, 40, 100, 300, bytes.length - 1].filter((n) => n < bytes.length).map((n) => [file, n] as const);
  });
  it.each(cuts)('%s cut to %i bytes', async (file, n) => {
    const path = writeTemp(`cut-${n}-${file}`, readFileSync(join(dir, file)).subarray(0, n));
    const err = await malformedOf(checkPickle(ctxFor(path)));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(`cut-${n}-${file}`);
  });

  it.each([
    ['an empty file', Buffer.alloc(0), 'pickle/empty'],
    ['an unknown opcode', Buffer.from([0x80, 0x04, 0xff, 0x2e]), 'pickle/unknown-opcode'],
    ['a protocol from the future', Buffer.from([0x80, 0x09, 0x4e, 0x2e]), 'pickle/unsupported-protocol'],
    ['a memo read before any write', Buffer.from([0x80, 0x02, 0x68, 0x05, 0x2e]), 'pickle/memo-missing'],
    ['STOP on an empty stack', Buffer.from([0x80, 0x02, 0x2e]), 'pickle/stack-underflow'],
    ['garbage after the last STOP', Buffer.concat([Buffer.from([0x80, 0x02, 0x4e, 0x2e]), Buffer.from([0xff, 0xfe, 0xfd])]), 'pickle/unknown-opcode'],
    ['a negative BINSTRING length', Buffer.from([0x54, 0xff, 0xff, 0xff, 0xff]), 'pickle/bad-argument'],
    ['a payload longer than the file', Buffer.from([0x80, 0x04, 0x8e, 0, 0, 0, 0, 1, 0, 0, 0, 0x2e]), 'pickle/truncated'],
  ])('%s', async (_name, bytes, rule) => {
    const err = await malformedOf(checkPickle(ctxFor(writeTemp(`bad-${rule.replace('/', '-')}.pkl`, bytes))));
    expect(err.rule).toBe(rule);
  });

  it('random bytes never pass and never crash', async () => {
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 256;
    for (let i = 0; i < 50; i++) {
      const bytes = Buffer.from(Array.from({ length: 64 + i * 13 }, () => Math.floor(rand())));
      bytes[0] = 0x80;
      bytes[1] = 2 + (i % 4);
      const path = writeTemp(`random-${i}.pkl`, bytes);
      const result = await checkPickle(ctxFor(path)).catch((e: unknown) => e);
      if (result instanceof MalformedModelError) continue;
      expect(bySeverity(result as FileCheck, 'critical', 'high').length).toBeGreaterThan(0);
    }
  });

  it('a hostile pickle cut after its call is still critical, with the truncation reported beside it', async () => {
    const bytes = readFileSync(join(dir, 'hostile_p2.pkl'));
    const path = writeTemp('hostile-cut.pkl', bytes.subarray(0, bytes.length - 1));
    const result = await checkPickle(ctxFor(path));
    expect(bySeverity(result, 'critical').some((f) => f.message.includes('posix.system'))).toBe(true);
    expect(result.findings.map((f) => f.rule)).toContain('pickle/truncated');
    expect(result.scanned).toBe(false);
  });

  it('a legacy checkpoint missing storage bytes is malformed', async () => {
    const bytes = readFileSync(join(dir, 'legacy_state_dict.pt'));
    const path = writeTemp('legacy-cut.pt', bytes.subarray(0, bytes.length - 3));
    expect((await malformedOf(checkPytorchLegacy(ctxFor(path)))).rule).toBe('pytorch-legacy/storage-data');
  });

  it('an .npy whose data does not match its shape is malformed', async () => {
    const bytes = readFileSync(join(dir, 'floats.npy'));
    const path = writeTemp('short.npy', bytes.subarray(0, bytes.length - 4));
    expect((await malformedOf(checkNumpy(ctxFor(path)))).rule).toBe('numpy/data-size');
  });

  it('a stream over the opcode byte limit stops with a clear rule', async () => {
    const ctx = { ...ctxFor(join(dir, 'benign_p0.pkl')), limits: { ...DEFAULT_LIMITS, maxPickleBytes: 100 } };
    expect((await malformedOf(checkPickle(ctx))).rule).toBe('pickle/too-large');
  });

  it('a cancelled job stops the scan as cancelled, not as a verdict', async () => {
    const controller = new AbortController();
    controller.abort();
    const err = await checkPickle({ ...ctxFor(join(dir, 'benign_p2.pkl')), signal: controller.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
  });

  it('a deflated member that inflates past its declared size is malformed', async () => {
    expect((await malformedOf(check('lying_size.pt'))).rule).toBe('archive/size-mismatch');
  });
});

describe('streaming keeps memory and time bounded', () => {
  it('skips a 256 MiB payload without reading it into memory', async () => {
    const size = 256 * 1024 * 1024;
    const head = Buffer.concat([Buffer.from([0x80, 0x05, 0x8e]), Buffer.alloc(8)]);
    head.writeUInt32LE(size, 3);
    const path = join(dir, 'big-bytes.pkl');
    const fh = await open(path, 'w');
    await fh.write(head, 0, head.length, 0);
    await fh.write(Buffer.from([0x2e]), 0, 1, head.length + size); // sparse payload, then STOP
    await fh.close();
    const before = process.memoryUsage().rss;
    const started = performance.now();
    const result = await checkPickle(ctxFor(path));
    expect(bySeverity(result, 'critical', 'high')).toEqual([]);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('reads a protocol 0 string longer than its buffer', async () => {
    const path = writeTemp('long-line.pkl', Buffer.concat([Buffer.from("S'"), Buffer.alloc(3 << 20, 0x61), Buffer.from("'\n.")]));
    const result = await checkPickle(ctxFor(path));
    expect(result.findings).toEqual([]);
  });
});
