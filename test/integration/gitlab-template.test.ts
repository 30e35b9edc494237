// The generated validate-model GitLab template, included from a user's .gitlab-ci.yml and run by
// gitlab-ci-local on the shell executor: outputs reach a later job through the dotenv report,
// the report artifacts are well formed, a bad model stops the pipeline, and inputs stay inert.
//
// gitlab-ci-local differences this works around (see test/support/gitlab-ci-local.ts):
// it sets GITLAB_CI=false, it points CI_PROJECT_DIR at /builds/… for jobs with `image:` even on
// the shell executor, it needs rsync, and `include: local` sees only files git tracks.
import { existsSync, readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitlabCiLocal, makeWorkspace, requireGitlabCiLocal, shellRunnerArgs, type PipelineRun, type Workspace } from '../support/gitlab-ci-local.js';
import { ferry, REPO_ROOT, requireBuilt } from '../support/repo.js';
import { findAll, parseXml } from '../support/xml.js';

const TEMPLATE = readFileSync(join(REPO_ROOT, 'gitlab-templates/validate-model.yml'), 'utf8');
const TINY = ['config.json', 'model.safetensors'];

/** A user's pipeline: the template included with job_prefix `gate`, then a job that reads its outputs. */
function userPipeline(modelPath: string): string {
  return stringify({
    stages: ['test', 'verify'],
    include: [{ local: 'ci/validate-model.yml', inputs: { model_path: modelPath, job_prefix: 'gate', stage: 'test' } }],
    // Runner tags added to the included job by name, as the template's job_prefix input describes
    // (gitlab-ci-local runs tagged jobs like any other).
    'gate-validate-model': { tags: ['ferry-test-runner'] },
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
  const hostile = `$(touch ${marker}) "double" 'single' \`touch ${marker}-bt\`; touch ${marker}-semi`;
  let ws: Workspace;
  let run: PipelineRun;
  beforeAll(async () => {
    ws = workspace({}, hostile);
    run = await gitlabCiLocal(ws, shellRunnerArgs(ws));
  });
  afterAll(() => ws?.remove());

  it('runs nothing: the value reaches ferry as one literal path', () => {
    for (const f of [marker, `${marker}-bt`, `${marker}-semi`]) expect(existsSync(f), `${f} was created`).toBe(false);
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
