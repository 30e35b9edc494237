// The committed action bundles: rebuilt and compared byte for byte, validated, and executed on Node 24.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STEP_DEFINITIONS } from '@ferry/core';
import { requirePython } from '../support/python.js';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.js';
import { cleanEnv, NODE24, REPO_ROOT, requireBuilt, run } from '../support/repo.js';

const steps = STEP_DEFINITIONS.map((s) => s.name);

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
    .sort();
}

describe('action bundles', () => {
  let fresh: string;
  beforeAll(async () => {
    requireBuilt();
    fresh = mkdtempSync(join(tmpdir(), 'ferry-dist-'));
    const r = await run('bash', ['scripts/build.sh', '--dist-out', fresh], { timeoutMs: 400_000 });
    if (r.code !== 0) throw new Error(`rebuilding the bundles failed:\n${r.stderr}`);
  }, 420_000);

  it.each(steps)('%s: committed dist/ is exactly what the build produces', (step) => {
    const committed = join(REPO_ROOT, 'actions', step, 'dist');
    const rebuilt = join(fresh, 'actions', step, 'dist');
    expect(listFiles(committed)).toEqual(listFiles(rebuilt));
    for (const f of listFiles(rebuilt)) {
      const same = readFileSync(join(committed, f)).equals(readFileSync(join(rebuilt, f)));
      expect(same, `actions/${step}/dist/${f} is stale: run npm run build and commit dist/`).toBe(true);
    }
  });

  it('runs on Node 24', async () => {
    const r = await run(NODE24, ['--version']);
    expect(r.stdout.trim()).toMatch(/^v24\./);
  });

  it.each(steps)('%s: fails with exit 1 and an ::error:: naming what is missing when run without inputs', async (step) => {
    const def = STEP_DEFINITIONS.find((s) => s.name === step);
    const required = Object.entries(def?.inputs ?? {}).filter(([, d]) => d.required).map(([n]) => n);
    const out = mkdtempSync(join(tmpdir(), 'ferry-gh-'));
    writeFileSync(join(out, 'output'), '');
    const r = await run(NODE24, [join(REPO_ROOT, 'actions', step, 'dist/index.js')], {
      cwd: out,
      env: { ...cleanEnv(), GITHUB_OUTPUT: join(out, 'output') },
    });
    expect(r.code).toBe(1);
    const errors = r.stdout.split('\n').filter((l) => l.startsWith('::error::'));
    expect(errors).toHaveLength(1);
    if (required.length > 0) expect(errors[0]).toContain(`missing required input "${required[0]}"`);
    else if (step === 'benchmark-on-gpu-runner') expect(errors[0]).toContain('nothing to benchmark: give endpoint');
    else expect(errors[0]).toContain('the local target needs router-url');
    expect(readFileSync(join(out, 'output'), 'utf8')).toMatch(/^verdict<<.*\nerror\n/);
  });

  it('validate-model bundle validates a model and writes outputs and the job summary', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ferry-gh-'));
    writeFileSync(join(out, 'output'), '');
    writeFileSync(join(out, 'summary'), '');
    const r = await run(NODE24, [join(REPO_ROOT, 'actions/validate-model/dist/index.js')], {
      cwd: REPO_ROOT,
      env: { ...cleanEnv(), 'INPUT_MODEL-PATH': 'examples/tiny', GITHUB_OUTPUT: join(out, 'output'), GITHUB_STEP_SUMMARY: join(out, 'summary'), RUNNER_TEMP: out },
    });
    expect(r.stdout).not.toContain('::error::');
    expect(r.code).toBe(0);
    const outputs = readFileSync(join(out, 'output'), 'utf8');
    expect(outputs).toMatch(/verdict<<(\S+)\npass\n\1/);
    expect(outputs).toMatch(/format<<(\S+)\nsafetensors\n\1/);
    expect(outputs).toMatch(/model-digest<<(\S+)\nsha256:[0-9a-f]{64}\n\1/);
    const summary = readFileSync(join(out, 'summary'), 'utf8');
    expect(summary).toContain('validate-model: ✅ pass');
    expect(summary).toContain('model.safetensors');
    const resultFile = JSON.parse(readFileSync(join(out, 'ferry/validate-model.json'), 'utf8')) as { verdict: string };
    expect(resultFile.verdict).toBe('pass');
  });

  // ncc once rewrote `<cwd>/ferry.yml` into a copy of examples/classifier/ferry.yml bundled beside
  // the action, because a file of that name existed in the checkout at build time.
  it("reads the ferry.yml of the workspace it runs in, and nothing bundled from Ferry's checkout", async () => {
    const ws = mkdtempSync(join(tmpdir(), 'ferry-gh-ws-'));
    writeFileSync(join(ws, 'ferry.yml'), 'validate-model:\n  model-path: no-such-model\n');
    writeFileSync(join(ws, 'output'), '');
    const r = await run(NODE24, [join(REPO_ROOT, 'actions/validate-model/dist/index.js')], { cwd: ws, env: { ...cleanEnv(), GITHUB_OUTPUT: join(ws, 'output'), RUNNER_TEMP: ws } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/::error::.*no-such-model/);
    for (const step of steps) expect(listFiles(join(REPO_ROOT, 'actions', step, 'dist')).filter((f) => f.endsWith('ferry.yml'))).toEqual([]);
  });
});

describe('benchmark-on-gpu-runner bundle', () => {
  let server: ScriptedServer;
  beforeAll(async () => {
    server = await startScriptedServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('sends load from its own worker threads, copied out of the repository, and writes outputs and the k6-style figures', async () => {
    // Copied away from the repository: the workers must come from the bundle's load-worker/, not packages/bench.
    const root = mkdtempSync(join(tmpdir(), 'ferry-action-'));
    const dist = join(root, 'benchmark-on-gpu-runner', 'dist');
    cpSync(join(REPO_ROOT, 'actions/benchmark-on-gpu-runner/dist'), dist, { recursive: true });
    const out = mkdtempSync(join(tmpdir(), 'ferry-gh-'));
    writeFileSync(join(out, 'output'), '');
    writeFileSync(join(out, 'summary'), '');
    const r = await run(NODE24, [join(dist, 'index.js')], {
      cwd: out,
      env: {
        ...cleanEnv(),
        INPUT_ENDPOINT: server.url,
        INPUT_PROTOCOL: 'http-template',
        'INPUT_REQUEST-METHOD': 'GET',
        'INPUT_REQUEST-PATH': '/fixed?ms=3',
        INPUT_RATE: '100',
        INPUT_WARMUP: '300ms',
        INPUT_WINDOW: '500ms',
        INPUT_DURATION: '1s',
        INPUT_THREADS: '2',
        'INPUT_MAX-SEND-LAG-MS': '250',
        'INPUT_MAX-P95-MS': '500',
        GITHUB_OUTPUT: join(out, 'output'),
        GITHUB_STEP_SUMMARY: join(out, 'summary'),
        RUNNER_TEMP: out,
      },
    });
    expect(r.stdout).not.toContain('::error::');
    expect(r.code, r.stdout).toBe(0);
    const outputs = readFileSync(join(out, 'output'), 'utf8');
    expect(outputs).toMatch(/verdict<<(\S+)\npass\n\1/);
    const p50 = Number(/p50-ms<<(\S+)\n([^\n]+)\n\1/.exec(outputs)![2]);
    expect(p50).toBeGreaterThanOrEqual(3);
    const throughput = Number(/throughput-rps<<(\S+)\n([^\n]+)\n\1/.exec(outputs)![2]);
    expect(throughput).toBeGreaterThan(90);
    const summary = readFileSync(join(out, 'summary'), 'utf8');
    expect(summary).toContain('xychart-beta');
    expect(summary).toContain('p95 latency');
  }, 60_000);
});

describe('validate-model bundle smoke inference', () => {
  // The bundle does not carry onnxruntime-node's native binaries; on a runner it installs the pinned
  // version into the tool cache once and loads it from there after. The bundle is copied out of the
  // repository so it cannot find the repository's own node_modules, and the tool cache is seeded
  // with this repository's copy of the same version, so the test needs no network.
  let dist: string;
  let toolCache: string;
  let models: string;
  beforeAll(() => {
    const root = mkdtempSync(join(tmpdir(), 'ferry-action-'));
    dist = join(root, 'validate-model', 'dist');
    cpSync(join(REPO_ROOT, 'actions/validate-model/dist'), dist, { recursive: true });
    toolCache = join(root, 'tool-cache');
    const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules/onnxruntime-node/package.json'), 'utf8')) as { version: string }).version;
    const modules = join(toolCache, 'ferry', `onnxruntime-node-${version}`, 'node_modules');
    mkdirSync(modules, { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules/onnxruntime-node'), join(modules, 'onnxruntime-node'));
    models = join(root, 'models');
    execFileSync(requirePython(), [join(REPO_ROOT, 'test/fixtures/make_smoke_model.py'), models], { encoding: 'utf8' });
  }, 120_000);

  async function smoke(golden: string): Promise<{ code: number; stdout: string; outputs: string }> {
    const out = mkdtempSync(join(tmpdir(), 'ferry-gh-'));
    writeFileSync(join(out, 'output'), '');
    const r = await run(NODE24, [join(dist, 'index.js')], {
      cwd: models,
      env: {
        ...cleanEnv(),
        'INPUT_MODEL-PATH': 'model.onnx',
        'INPUT_SMOKE-SAMPLES': 'samples.json',
        'INPUT_SMOKE-GOLDEN': golden,
        GITHUB_OUTPUT: join(out, 'output'),
        RUNNER_TEMP: out,
        RUNNER_TOOL_CACHE: toolCache,
      },
    });
    return { code: r.code ?? -1, stdout: r.stdout, outputs: readFileSync(join(out, 'output'), 'utf8') };
  }

  it('loads onnxruntime from the tool cache and passes when outputs match the golden ones', async () => {
    const r = await smoke('golden.json');
    expect(r.stdout).not.toContain('::error::');
    expect(r.stdout).not.toContain('installing onnxruntime-node');
    expect(r.code).toBe(0);
    expect(r.outputs).toMatch(/verdict<<(\S+)\npass\n\1/);
  });

  it('fails with exit 1 when outputs differ from the golden ones', async () => {
    const r = await smoke('golden-wrong.json');
    expect(r.code).toBe(1);
    expect(r.outputs).toMatch(/verdict<<(\S+)\nfail\n\1/);
    expect(r.outputs).toMatch(/gates-failed<<(\S+)\n[1-9]\d*\n\1/);
  });
});

describe('action.yml files', () => {
  it.each(steps)('%s: declares node24 and dist/index.js', (step) => {
    const doc = parse(readFileSync(join(REPO_ROOT, 'actions', step, 'action.yml'), 'utf8')) as { runs: { using: string; main: string } };
    expect(doc.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
  });

  // @action-validator/cli 0.6.0 (the newest release) embeds a schema whose runs.using enum stops at
  // node20. Everything else in the file is validated as written; only that enum value is swapped in
  // a copy, and the test above pins node24 in the real file.
  it.each(steps)('%s: passes @action-validator/cli', async (step) => {
    const original = readFileSync(join(REPO_ROOT, 'actions', step, 'action.yml'), 'utf8');
    expect(original).toContain('using: node24');
    const dir = mkdtempSync(join(tmpdir(), 'ferry-av-'));
    const copy = join(dir, 'action.yml');
    writeFileSync(copy, original.replace('using: node24', 'using: node20'));
    const r = await run(NODE24, [join(REPO_ROOT, 'node_modules/@action-validator/cli/cli.mjs'), copy]);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
    // The validator does reject a broken file, so a pass above means something.
    writeFileSync(copy, original.replace('using: node24', 'using: node20').replace('runs:', 'runz:'));
    expect((await run(NODE24, [join(REPO_ROOT, 'node_modules/@action-validator/cli/cli.mjs'), copy])).code).not.toBe(0);
  });
});
