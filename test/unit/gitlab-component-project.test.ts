// The GitLab component project generated from Ferry's templates: the same components as
// gitlab-templates/ with the image pinned to `$[[ component.version ]]`, and a pipeline that
// includes every component at the pushed commit, runs the validate-model one for real, and
// releases only the semver tag equal to the Ferry version the components came from.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { componentProjectFiles } from '../../packages/platform/src/generate/gitlab-component-project.js';
import { gitlabCiLocal, makeWorkspace, requireGitlabCiLocal, shellRunnerArgs, type Workspace } from '../support/gitlab-ci-local.js';
import { REPO_ROOT, requireBuilt } from '../support/repo.js';

const SCHEMA = '/work/shared/reference/gitlab-ci-schema.json';
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** GitLab accepts `tags: []` (any runner), the runner_tags default; its published schema says minItems 1. */
const UNTAGGED = ['--ignore-schema-paths', '#/definitions/tags/minItems'];

const files = componentProjectFiles(REPO_ROOT);
const templates = [...files.keys()].filter((f) => f.startsWith('templates/')).map((f) => f.slice('templates/'.length, -'.yml'.length));

type Doc = Record<string, unknown>;
function documents(text: string): [{ spec: { component?: unknown; inputs: Record<string, Doc> } }, Record<string, Doc>] {
  const docs = parseAllDocuments(text);
  expect(docs.flatMap((d) => d.errors)).toEqual([]);
  expect(docs).toHaveLength(2);
  return [docs[0]!.toJS() as never, docs[1]!.toJS() as never];
}

let validate: ValidateFunction;
let validateUntagged: ValidateFunction;
beforeAll(() => {
  requireGitlabCiLocal('jobs');
  requireBuilt();
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  // environment:url may be a variable reference ($FERRY_…_ENVIRONMENT_URL from the dotenv
  // report), which the schema's own pattern admits and a strict URI format check would not.
  const uri = ajv.formats.uri as (s: string) => boolean;
  ajv.addFormat('uri', (v: string) => /^\$[A-Za-z_][A-Za-z0-9_]*$/.test(v) || (typeof uri === 'function' ? uri(v) : true));
  const schema = JSON.parse(readFileSync(SCHEMA, 'utf8')) as { $id?: string; definitions: { tags: { minItems: number } } };
  validate = ajv.compile(schema);
  // Only difference from the reference: `tags: []`, which GitLab accepts (the runner_tags default).
  const untagged = structuredClone(schema);
  untagged.definitions.tags.minItems = 0;
  delete untagged.$id;
  validateUntagged = ajv.compile(untagged);
});

const errors = (v: ValidateFunction, doc: unknown): string[] => (v(doc) ? [] : (v.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`));

it('holds every template of gitlab-templates/ under templates/, a README and a pipeline', () => {
  const included = readFileSync(join(REPO_ROOT, 'gitlab-templates/validate-model.yml'), 'utf8');
  expect(included).toContain(`default: ferry/cli:${VERSION}`);
  const dir = readdirSync(join(REPO_ROOT, 'gitlab-templates'));
  expect(templates.map((t) => `${t}.yml`).sort()).toEqual(dir.sort());
  expect(files.get('README.md')).toContain(`/validate-model@${VERSION}`);
  expect(files.has('.gitlab-ci.yml')).toBe(true);
});

describe.each(templates)('templates/%s.yml', (template) => {
  const [header, body] = documents(files.get(`templates/${template}.yml`) as string);
  const [includeHeader, includeBody] = documents(readFileSync(join(REPO_ROOT, 'gitlab-templates', `${template}.yml`), 'utf8'));

  it('declares the inputs of the include form, but cli_image names the repository', () => {
    expect(header.spec.component).toEqual(['version']);
    const { cli_image: image, ...rest } = header.spec.inputs;
    const { cli_image: includeImage, ...includeRest } = includeHeader.spec.inputs;
    expect(rest).toEqual(includeRest);
    expect(includeImage!.default).toBe(`ferry/cli:${VERSION}`);
    expect(image!.default).toBe('ferry/cli');
  });

  it('runs the same jobs, each on the CLI image tagged with the component version', () => {
    expect(Object.keys(body)).toEqual(Object.keys(includeBody));
    for (const [name, job] of Object.entries(body)) {
      expect(job.image, name).toBe('$[[ inputs.cli_image ]]:$[[ component.version ]]');
      expect({ ...job, image: includeBody[name]!.image }).toEqual(includeBody[name]);
    }
  });

  it('has a spec header valid for the GitLab CI schema', () => {
    // The reference schema predates `spec:component` (GitLab 18.6): check the rest of the header
    // against it; the component list itself is checked above.
    const { component: _component, ...spec } = header.spec;
    expect(errors(validate, { spec })).toEqual([]);
  });
});

describe('the component project pipeline, run by gitlab-ci-local', () => {
  let ws: Workspace;
  let sha: string;
  beforeAll(() => {
    ws = makeWorkspace(Object.fromEntries(files));
    // gitlab-ci-local resolves $CI_PROJECT_PATH from the remote and treats a component of this
    // project at this commit as local, as GitLab does for @$CI_COMMIT_SHA.
    spawnSync('git', ['remote', 'add', 'origin', 'git@gitlab.example.com:ml/ferry-components.git'], { cwd: ws.repo });
    sha = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: ws.repo, encoding: 'utf8' }).stdout.trim();
  });
  afterAll(() => ws?.remove());

  it('includes every component at the commit, interpolated into jobs valid for the GitLab CI schema', async () => {
    const r = await gitlabCiLocal(ws, ['--preview', '--json-schema-validation=false']);
    expect(r.code, r.output).toBe(0);
    const merged = parse(r.stdout) as Record<string, Doc>;
    const jobs = Object.keys(merged).filter((k) => k.startsWith('component-test-'));
    expect(jobs.sort()).toEqual(
      ['validate-model', 'build-serving-image', 'benchmark-on-gpu-runner', 'canary-deploy', 'promote', 'rollback', 'rollback-manual', 'rollout-10', 'rollout-25', 'rollout-50', 'rollout-100'].map((j) => `component-test-${j}`).sort(),
    );
    expect(r.stdout).not.toMatch(/\$\[\[/);
    expect(errors(validateUntagged, merged)).toEqual([]);
    // gitlab-ci-local gives a component included at a commit that commit as its version (GitLab
    // gives none, so the project's own test job names the image of its Ferry version instead).
    expect(merged['component-test-promote']!.image).toEqual({ name: `ferry/cli:${sha}` });
    expect(merged['component-test-validate-model']!.image).toEqual({ name: `ferry/cli:${VERSION}` });
    expect(merged.release).toMatchObject({ stage: 'release', release: { tag_name: '$CI_COMMIT_TAG' }, rules: [{ if: '$CI_COMMIT_TAG =~ /^\\d+\\.\\d+\\.\\d+$/' }] });
  });

  it('runs the validate-model component on its test model, and no release without a tag', async () => {
    const r = await gitlabCiLocal(ws, [...shellRunnerArgs(ws), ...UNTAGGED], { timeoutMs: 120_000 });
    expect(r.code, r.output).toBe(0);
    expect([...r.jobs]).toEqual([['component-test-validate-model', 0]]);
    const outputs = readFileSync(join(ws.repo, '.gitlab-ci-local/artifacts/component-test-validate-model/.ferry/validate-model/outputs.env'), 'utf8');
    expect(outputs).toMatch(/^FERRY_VALIDATE_MODEL_VERDICT=pass$/m);
  });

  it.each([
    [VERSION, 0],
    ['9.9.9', 1],
  ])('releases tag %s only when it is the Ferry version the components came from (exit %i)', async (tag, code) => {
    const r = await gitlabCiLocal(ws, [...shellRunnerArgs(ws), ...UNTAGGED, '--variable', `CI_COMMIT_TAG=${tag}`, 'release']);
    expect(r.jobs.get('release'), r.output).toBe(code);
    if (code !== 0) expect(r.log('release')).toContain(`these components were generated from Ferry ${VERSION}; tag ${VERSION}, or regenerate them from Ferry ${tag}`);
  });
});
