// The generated GitLab templates, included from a user's .gitlab-ci.yml and run by gitlab-ci-local
// on the shell executor. validate-model: outputs reach a later job through the dotenv report, the
// report artifacts are well formed, a bad model stops the pipeline, and inputs stay inert. The
// incremental rollout and rollback against a real router: each job moves one increment, the
// manual rollback takes its job input safely, and the router token never reaches a log.
//
// gitlab-ci-local differences this works around (see test/support/gitlab-ci-local.ts):
// it sets GITLAB_CI=false, it points CI_PROJECT_DIR at /builds/… for jobs with `image:` even on
// the shell executor, it needs rsync, and `include: local` sees only files git tracks.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitlabCiLocal, makeWorkspace, requireGitlabCiLocal, shellRunnerArgs, type PipelineRun, type Workspace } from '../support/gitlab-ci-local.js';
import { makeSmokeModel, startFerryServe, stopFerryServes, type ServeProcess } from '../support/ferry-serve.js';
import { cleanEnv, CLI, ferry, NODE24, REPO_ROOT, requireBuilt } from '../support/repo.js';
import { findAll, parseXml } from '../support/xml.js';

const TEMPLATE = readFileSync(join(REPO_ROOT, 'gitlab-templates/validate-model.yml'), 'utf8');
const TINY = ['config.json', 'model.safetensors'];

/** A user's pipeline: the template included with job_prefix `gate`, then a job that reads its outputs. */
function userPipeline(modelPath: string): string {
  return stringify({
    stages: ['test', 'verify'],
    // Runner tags through the array input (gitlab-ci-local runs tagged jobs like any other).
    include: [{ local: 'ci/validate-model.yml', inputs: { model_path: modelPath, job_prefix: 'gate', stage: 'test', runner_tags: ['ferry-test-runner'] } }],
    'use-outputs': {
      stage: 'verify',
      needs: ['gate-validate-model'],
      script: [
        'echo "digest=$FERRY_VALIDATE_MODEL_MODEL_DIGEST"',
        'echo "verdict=$FERRY_VALIDATE_MODEL_VERDICT"',
        'echo "files=$FERRY_VALIDATE_MODEL_FILE_DIGESTS"',
        'test "$FERRY_VALIDATE_MODEL_VERDICT" = pass',
      ],
    },
  });
}

function workspace(modelFiles: Record<string, string | Uint8Array>, modelPath: string): Workspace {
  return makeWorkspace({ '.gitlab-ci.yml': userPipeline(modelPath), 'ci/validate-model.yml': TEMPLATE, ...modelFiles });
}

/** 4 KiB of pseudo-random bytes, the same every run, so no run can stumble on a format's magic bytes. */
function unrecognisedBlob(): Buffer {
  return Buffer.concat(Array.from({ length: 128 }, (_, i) => createHash('sha256').update(`ferry-blob-${i}`).digest()));
}

const reportFile = (ws: Workspace, job: string, name: string): string => join(ws.repo, '.gitlab-ci-local/artifacts', job, '.ferry/validate-model', name);

beforeAll(() => {
  requireBuilt();
  requireGitlabCiLocal('jobs');
});

describe('validate-model template: a good model', () => {
  let ws: Workspace;
  let run: PipelineRun;
  beforeAll(async () => {
    const files = Object.fromEntries(TINY.map((f) => [`models/tiny/${f}`, readFileSync(join(REPO_ROOT, 'examples/tiny', f))]));
    ws = workspace(files, 'models/tiny');
    run = await gitlabCiLocal(ws, shellRunnerArgs(ws));
  });
  afterAll(() => ws?.remove());

  it('runs the ferry job, then the job that needs it', () => {
    expect(run.code, run.output).toBe(0);
    expect([...run.jobs]).toEqual([
      ['gate-validate-model', 0],
      ['use-outputs', 0],
    ]);
    expect(run.output).not.toContain('could not be found');
    const expanded = parse(readFileSync(join(ws.repo, '.gitlab-ci-local/expanded-gitlab-ci.yml'), 'utf8')) as Record<string, { tags?: string[]; script?: string[] }>;
    expect(expanded['gate-validate-model']).toMatchObject({ tags: ['ferry-test-runner'], script: ['ferry validate-model --from-env'] });
  });

  it('passes the model digest through dotenv, equal to the one the CLI computes directly', async () => {
    const direct = await ferry(['validate-model', '--model-path', join(ws.repo, 'models/tiny'), '--json']);
    expect(direct.code, direct.stderr).toBe(0);
    const outputs = (JSON.parse(direct.stdout) as { outputs: Record<string, string> }).outputs;
    expect(outputs['model-digest']).toMatch(/^sha256:[0-9a-f]{64}$/);
    const log = run.log('use-outputs') ?? '';
    expect(log).toContain(`digest=${outputs['model-digest']}`);
    expect(log).toContain('verdict=pass');
    // The JSON output survives GitLab's one-line dotenv format intact.
    const files = /^files=(.*)$/m.exec(log)?.[1] ?? '';
    expect(JSON.parse(files)).toEqual(JSON.parse(outputs['file-digests']!));
  });

  it('collects well-formed junit, codequality and OpenMetrics reports as artifacts', () => {
    const junit = parseXml(readFileSync(reportFile(ws, 'gate-validate-model', 'junit.xml'), 'utf8'));
    expect(junit.name).toBe('testsuites');
    const suites = findAll(junit, 'testsuite');
    expect(suites.map((s) => s.attributes.name)).toEqual(['validate-model']);
    expect(suites[0]!.attributes.failures).toBe('0');
    expect(findAll(junit, 'testcase').length).toBeGreaterThan(0);
    expect(findAll(junit, 'failure')).toEqual([]);

    const quality = JSON.parse(readFileSync(reportFile(ws, 'gate-validate-model', 'codequality.json'), 'utf8')) as unknown;
    expect(Array.isArray(quality)).toBe(true);

    const metrics = readFileSync(reportFile(ws, 'gate-validate-model', 'metrics.txt'), 'utf8');
    expect(metrics.trimEnd().endsWith('# EOF')).toBe(true);
    expect(metrics).toMatch(/^ferry_validate_model_passed 1$/m);
    expect(metrics).toMatch(/^ferry_validate_model_model_bytes 622$/m);

    const result = JSON.parse(readFileSync(reportFile(ws, 'gate-validate-model', 'result.json'), 'utf8')) as { verdict: string };
    expect(result.verdict).toBe('pass');
  });
});

describe('validate-model template: a model that fails validation', () => {
  let ws: Workspace;
  let run: PipelineRun;
  beforeAll(async () => {
    ws = workspace({ 'models/blob.bin': unrecognisedBlob() }, 'models/blob.bin');
    run = await gitlabCiLocal(ws, shellRunnerArgs(ws));
  });
  afterAll(() => ws?.remove());

  it('fails the ferry job with exit 1 and never starts the job that needs it', () => {
    expect(run.code).not.toBe(0);
    expect(run.jobs.get('gate-validate-model')).toBe(1);
    expect(run.jobs.has('use-outputs')).toBe(false);
    expect(run.log('use-outputs')).toBeUndefined();
  });

  it('still reports why, with the file path relative to the project', () => {
    const outputs = readFileSync(reportFile(ws, 'gate-validate-model', 'outputs.env'), 'utf8');
    expect(outputs).toMatch(/^FERRY_VALIDATE_MODEL_VERDICT=fail$/m);
    const junit = parseXml(readFileSync(reportFile(ws, 'gate-validate-model', 'junit.xml'), 'utf8'));
    const failed = findAll(junit, 'testcase').filter((c) => findAll(c, 'failure').length > 0);
    expect(failed.map((c) => c.attributes.name)).toEqual(['files/unscanned models/blob.bin']);
    const quality = JSON.parse(readFileSync(reportFile(ws, 'gate-validate-model', 'codequality.json'), 'utf8')) as {
      check_name: string;
      severity: string;
      location: { path: string };
    }[];
    expect(quality.map((q) => [q.check_name, q.severity, q.location.path])).toEqual([['files/unscanned', 'critical', 'models/blob.bin']]);
    expect(readFileSync(reportFile(ws, 'gate-validate-model', 'metrics.txt'), 'utf8')).toMatch(/^ferry_validate_model_passed 0$/m);
  });
});

describe('validate-model template: shell syntax in an input value', () => {
  const marker = join(tmpdir(), `pwned-${randomBytes(6).toString('hex')}`);
  const keep = mkdtempSync(join(tmpdir(), 'ferry-keep-'));
  // Command substitution, backticks, quotes breaking out, a command after `;`, an interpolation
  // block GitLab must not expand a second time, and a line break.
  const hostile = `$(touch ${marker}) "double" 'single' \`touch ${marker}-bt\`"; rm -rf ${keep}; touch ${marker}-semi; "$[[ inputs.job_prefix ]]\nsecond line; touch ${marker}-nl`;
  let ws: Workspace;
  let run: PipelineRun;
  beforeAll(async () => {
    ws = workspace({}, hostile);
    run = await gitlabCiLocal(ws, shellRunnerArgs(ws));
  });
  afterAll(() => {
    ws?.remove();
    rmSync(keep, { recursive: true, force: true });
  });

  it('runs nothing: the value reaches ferry as one literal path', () => {
    for (const f of [marker, `${marker}-bt`, `${marker}-semi`, `${marker}-nl`]) expect(existsSync(f), `${f} was created`).toBe(false);
    expect(existsSync(keep), `${keep} was removed`).toBe(true);
    const log = run.log('gate-validate-model') ?? '';
    expect(log).toContain(`model-path: ${join(ws.repo, hostile)} does not exist`);
  });

  it('fails the job as bad input (exit 2), reports an error, and stops the pipeline', () => {
    expect(run.jobs.get('gate-validate-model')).toBe(2);
    expect(run.jobs.has('use-outputs')).toBe(false);
    expect(readFileSync(reportFile(ws, 'gate-validate-model', 'outputs.env'), 'utf8')).toBe('FERRY_VALIDATE_MODEL_VERDICT=error\n');
    const junit = parseXml(readFileSync(reportFile(ws, 'gate-validate-model', 'junit.xml'), 'utf8'));
    const errors = findAll(junit, 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.attributes.message).toContain(hostile);
  });
});

// The incremental rollout and the rollback templates against a real `ferry router` (with an admin
// token) in front of two real `ferry serve` processes.
const INCREMENTAL = readFileSync(join(REPO_ROOT, 'gitlab-templates/canary-deploy-incremental.yml'), 'utf8');
const ROLLBACK = readFileSync(join(REPO_ROOT, 'gitlab-templates/rollback.yml'), 'utf8');
const SECRET = `glpat-${randomBytes(12).toString('hex')}`;
const TOKEN_ARGS = ['--variable', `ML_ROUTER_TOKEN=${SECRET}`];

interface TokenRouter {
  readonly adminUrl: string;
  stop(): Promise<void>;
}

/** `ferry router` whose admin API takes only `SECRET`, with `stable` serving as v1. */
function startTokenRouter(stateDir: string, stable: ServeProcess): Promise<TokenRouter> {
  const args = [CLI, 'router', '--state-dir', stateDir, '--port', '0', '--admin-port', '0', '--stable-version', 'v1', '--stable-endpoint', stable.url, '--token-env', 'ROUTER_SECRET'];
  const child = spawn(NODE24, args, { env: { ...cleanEnv(), ROUTER_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ferry router not ready in 20 s\n${stderr}`)), 20_000);
    child.stdout.once('data', (d: Buffer) => {
      clearTimeout(timer);
      const ready = JSON.parse(d.toString().split('\n')[0]!) as { adminUrl: string };
      resolve({
        adminUrl: ready.adminUrl,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    });
    void exited.then(() => reject(new Error(`ferry router exited before it was ready\n${stderr}`)));
  });
}

/**
 * A job's exit code from gitlab-ci-local's summary line. The manual rollback is allowed to fail
 * (the pipeline does not wait for it), so a failure reads `WARN <code>` there, not `FAIL <code>`.
 */
function exitOf(run: PipelineRun, job: string): number | undefined {
  const m = new RegExp(`^${job}\\s+finished in .*?(?:(?:FAIL|WARN) (\\d+))?\\s*$`, 'm').exec(run.output);
  return m ? Number(m[1] ?? 0) : undefined;
}

async function canaryWeight(router: TokenRouter): Promise<number> {
  const res = await fetch(`${router.adminUrl}/routing`, { headers: { authorization: `Bearer ${SECRET}` } });
  return ((await res.json()) as { weights: { canary: number } }).weights.canary;
}

/** The inputs every rollout job here shares: the router, its token by reference, a quick bake. */
function targetInputs(router: TokenRouter): Record<string, unknown> {
  return { router_url: router.adminUrl, router_token: '$ML_ROUTER_TOKEN', environment: 'ml-prod', runner_tags: ['ferry-test-runner'] };
}

function rolloutPipeline(router: TokenRouter, canary: ServeProcess, mode: 'manual' | 'timed'): string {
  const rollout = { version: 'v2', endpoints: canary.url, model_name: 'classifier', bake: '3s', analysis: 'synthetic', synthetic_rate: '40', min_agreement: '0.9', latency_floor: '0.5', error_floor: '0.02', max_extensions: '4' };
  return stringify({ stages: ['deploy'], include: [{ local: 'ci/canary-deploy-incremental.yml', inputs: { ...targetInputs(router), ...rollout, mode, delay: '1 minute' } }] });
}

describe('rollout templates against a real router', () => {
  let dir: string;
  const serves: Record<string, ServeProcess> = {};
  const routers: TokenRouter[] = [];
  const workspaces: Workspace[] = [];
  const outputs: string[] = [];
  const newRouter = async (): Promise<TokenRouter> => {
    const r = await startTokenRouter(mkdtempSync(join(dir, 'router-')), serves.v1!);
    routers.push(r);
    return r;
  };
  const glci = async (ws: Workspace, args: readonly string[]): Promise<PipelineRun> => {
    const r = await gitlabCiLocal(ws, [...shellRunnerArgs(ws), ...TOKEN_ARGS, ...args], { timeoutMs: 170_000 });
    outputs.push(r.output, ...[...r.jobs.keys()].map((j) => r.log(j) ?? ''));
    return r;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-gitlab-rollout-'));
    const model = await makeSmokeModel(dir);
    const args = (version: string): string[] => ['--model-path', model, '--model-name', 'classifier', '--model-version', version, '--port', '0', '--inject-latency-ms', '20'];
    const [v1, v2] = await Promise.all([startFerryServe(args('v1')), startFerryServe(args('v2'))]);
    Object.assign(serves, { v1, v2 });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(routers.map((r) => r.stop()));
    await stopFerryServes();
    for (const ws of workspaces) ws.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('canary-deploy-incremental, mode manual, then the manual rollback', () => {
    let router: TokenRouter;
    let ws: Workspace;
    beforeAll(async () => {
      router = await newRouter();
      ws = makeWorkspace({ '.gitlab-ci.yml': rolloutPipeline(router, serves.v2!, 'manual'), 'ci/canary-deploy-incremental.yml': INCREMENTAL });
      workspaces.push(ws);
    });

    it('the pipeline moves 10% and stops: each later increment waits for someone to run it', async () => {
      const run = await glci(ws, []);
      expect([...run.jobs], run.output).toEqual([['ferry-rollout-10', 0]]);
      expect(await canaryWeight(router)).toBe(10);
      expect(run.log('ferry-rollout-10')).toContain('traffic holds at this increment');
      expect(readFileSync(join(ws.repo, '.gitlab-ci-local/artifacts/ferry-rollout-10/.ferry/canary-deploy/outputs.env'), 'utf8')).toMatch(/^FERRY_CANARY_DEPLOY_PHASE=paused$/m);
    }, 180_000);

    it.each([
      ['ferry-rollout-25', 25, 'paused'],
      ['ferry-rollout-50', 50, 'paused'],
      ['ferry-rollout-100', 100, 'completed'],
    ])('running %s moves traffic exactly one increment, to %i%%', async (job, weight, phase) => {
      const run = await glci(ws, [job]);
      expect(run.jobs.get(job), run.output).toBe(0);
      expect(await canaryWeight(router)).toBe(weight);
      expect(readFileSync(join(ws.repo, `.gitlab-ci-local/artifacts/${job}/.ferry/canary-deploy/outputs.env`), 'utf8')).toContain(`FERRY_CANARY_DEPLOY_PHASE=${phase}\n`);
    }, 180_000);

    /**
     * The manual rollback job as GitLab's runner hands it over: the runner writes the job input
     * into the script text where `${{ job.inputs.to_version }}` stands (gitlab-ci-local has no job
     * inputs, so this does that replacement, and nothing else, before running the job).
     */
    const rollbackWith = async (toVersion: string): Promise<{ run: PipelineRun; ws: Workspace }> => {
      const template = ROLLBACK.split('${{ job.inputs.to_version }}');
      expect(template).toHaveLength(2);
      const pipeline = stringify({ stages: ['deploy'], include: [{ local: 'ci/rollback.yml', inputs: targetInputs(router) }] });
      const rws = makeWorkspace({ '.gitlab-ci.yml': pipeline, 'ci/rollback.yml': template.join(toVersion) });
      workspaces.push(rws);
      return { run: await glci(rws, ['ferry-rollback-manual']), ws: rws };
    };

    it('the manual rollback takes a version from its job input, and hostile text there stays inert', async () => {
      const regex = new RegExp((parse(ROLLBACK.split('\n---\n')[1]!) as Record<string, { inputs: { to_version: { regex: string } } }>)['$[[ inputs.job_prefix ]]-rollback-manual']!.inputs.to_version.regex);
      const marker = join(tmpdir(), `pwned-${randomBytes(6).toString('hex')}`);
      const hostile = `$(touch ${marker}) 'single' "double" \`touch ${marker}-bt\`; touch ${marker}-semi`;
      // GitLab refuses it at the job input already; the script does not rely on that.
      expect(regex.test(hostile)).toBe(false);
      expect(regex.test('v1')).toBe(true);
      const refused = await rollbackWith(hostile);
      expect(exitOf(refused.run, 'ferry-rollback-manual'), refused.run.output).toBe(2);
      for (const f of [marker, `${marker}-bt`, `${marker}-semi`]) expect(existsSync(f), `${f} was created`).toBe(false);
      expect(refused.run.log('ferry-rollback-manual')).toContain(`version ${hostile} is not known`);
      expect(await canaryWeight(router)).toBe(100);

      const back = await rollbackWith('v1');
      expect(exitOf(back.run, 'ferry-rollback-manual'), back.run.output).toBe(0);
      expect(await canaryWeight(router)).toBe(0);
      expect(readFileSync(join(back.ws.repo, '.gitlab-ci-local/artifacts/ferry-rollback-manual/.ferry/rollback/outputs.env'), 'utf8')).toMatch(/^FERRY_ROLLBACK_STABLE_VERSION=v1$/m);
    }, 180_000);
  });

  describe('canary-deploy-incremental, mode timed', () => {
    it('runs 10, 25, 50 and 100 in order in one pipeline', async () => {
      const router = await newRouter();
      const ws = makeWorkspace({ '.gitlab-ci.yml': rolloutPipeline(router, serves.v2!, 'timed'), 'ci/canary-deploy-incremental.yml': INCREMENTAL });
      workspaces.push(ws);
      const run = await glci(ws, []);
      expect([...run.jobs], run.output).toEqual([
        ['ferry-rollout-10', 0],
        ['ferry-rollout-25', 0],
        ['ferry-rollout-50', 0],
        ['ferry-rollout-100', 0],
      ]);
      expect(await canaryWeight(router)).toBe(100);
    }, 180_000);
  });

  it('never shows the router token in a job log or in gitlab-ci-local output', () => {
    expect(outputs.length).toBeGreaterThan(0);
    for (const text of outputs) expect(text).not.toContain(SECRET);
  });
});
