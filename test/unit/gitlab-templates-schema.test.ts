// Every generated GitLab template: valid for GitLab's CI schema as a file and once gitlab-ci-local
// has interpolated its inputs into a user's pipeline, its inputs one to one with the step's
// declaration in packages/core, and every input value delivered to the CLI unchanged.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { appliesTo, describeDefault, gitlabInputName, inputEnvVar, STEP_DEFINITIONS, type StepDefinition } from '@ferry/core';
import { reportFiles } from '@ferry/platform';
import { gitlabCiLocal, makeWorkspace, requireGitlabCiLocal } from '../support/gitlab-ci-local.js';
import { REPO_ROOT } from '../support/repo.js';

const SCHEMA = '/work/shared/reference/gitlab-ci-schema.json';
/** Inputs of the template itself, not of the step. */
const TEMPLATE_ONLY = ['stage', 'job_prefix', 'cli_image'];
const TEMPLATE_DIR = join(REPO_ROOT, 'gitlab-templates');
const templates = readdirSync(TEMPLATE_DIR)
  .filter((f) => f.endsWith('.yml'))
  .map((f) => f.slice(0, -4))
  .sort();

type SpecInput = { default?: unknown; options?: unknown[]; regex?: string; type?: string };

function definition(step: string): StepDefinition {
  const def = STEP_DEFINITIONS.find((d) => d.name === step);
  if (!def) throw new Error(`gitlab-templates/${step}.yml has no step declared in packages/core`);
  return def;
}

function readTemplate(step: string): { header: { spec: { inputs: Record<string, SpecInput> } }; body: Record<string, unknown> } {
  const docs = parseAllDocuments(readFileSync(join(TEMPLATE_DIR, `${step}.yml`), 'utf8'));
  const errors = docs.flatMap((d) => d.errors.map((e) => e.message));
  if (errors.length > 0 || docs.length !== 2) throw new Error(`gitlab-templates/${step}.yml is not a spec header and one job document: ${errors.join('; ')}`);
  return { header: docs[0]!.toJS() as never, body: docs[1]!.toJS() as never };
}

function gitlabInputs(def: StepDefinition): [string, StepDefinition['inputs'][string]][] {
  return Object.entries(def.inputs).filter(([, d]) => appliesTo(d, 'gitlab'));
}

/** A value a user could give each input: variable references for secrets, else the declared default. */
function everyInputSet(def: StepDefinition): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, decl] of gitlabInputs(def)) {
    // A value GitLab's options or regex accept for each type; free text where any string goes.
    const typed = decl.type === 'boolean' ? 'true' : decl.type === 'integer' || decl.type === 'number' ? '1' : decl.type === 'duration' ? '1s' : undefined;
    const fallback = decl.options?.[0] ?? typed ?? `it's "${name}" $(not run)`;
    values[gitlabInputName(name)] = decl.secret ? `$FERRY_TEST_${inputEnvVar(name)}` : describeDefault(decl) || fallback;
  }
  return values;
}

/** Values for the inputs that have no default, which GitLab requires. */
function requiredOnly(def: StepDefinition): Record<string, string> {
  return Object.fromEntries(gitlabInputs(def).filter(([, d]) => d.required).map(([n]) => [gitlabInputName(n), `required ${n}`]));
}

let validate: ValidateFunction;
beforeAll(() => {
  requireGitlabCiLocal('preview');
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  // environment:url is `format: uri` with `pattern: ^(https?://.+|\$[A-Za-z]+)`: the schema itself
  // admits a variable reference there (GitLab documents `url: $DYNAMIC_ENVIRONMENT_URL` from a
  // dotenv report), which a strict URI check would refuse. Keep the URI check for everything else.
  const uri = ajv.formats.uri as { validate?: (s: string) => boolean } | ((s: string) => boolean) | RegExp;
  const isUri = (v: string): boolean => (typeof uri === 'function' ? uri(v) : uri instanceof RegExp ? uri.test(v) : (uri.validate?.(v) ?? true));
  ajv.addFormat('uri', (v: string) => /^\$[A-Za-z_][A-Za-z0-9_]*$/.test(v) || isUri(v));
  validate = ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')) as object);
});

function schemaErrors(doc: unknown): string[] {
  return validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} (${e.schemaPath})`);
}

it('there is one template per step', () => {
  expect(templates).toEqual(STEP_DEFINITIONS.map((d) => d.name).sort());
});

describe.each(templates)('gitlab-templates/%s.yml', (step) => {
  const def = definition(step);
  const { header, body } = readTemplate(step);
  const spec = header.spec.inputs;

  it('declares exactly the step inputs GitLab uses, with the same names and required ones', () => {
    const declared = gitlabInputs(def).map(([n]) => gitlabInputName(n));
    expect(Object.keys(spec).filter((n) => !TEMPLATE_ONLY.includes(n)).sort()).toEqual([...declared].sort());
    expect(Object.keys(spec).filter((n) => TEMPLATE_ONLY.includes(n)).sort()).toEqual([...TEMPLATE_ONLY].sort());
    // A step input named like a template input would take over the job's own keyword.
    expect(declared.filter((n) => TEMPLATE_ONLY.includes(n))).toEqual([]);
    const required = Object.entries(spec).filter(([, s]) => !('default' in s)).map(([n]) => n);
    expect(required.sort()).toEqual(gitlabInputs(def).filter(([, d]) => d.required).map(([n]) => gitlabInputName(n)).sort());
  });

  it('is valid for the GitLab CI schema as a file (spec header and job)', () => {
    expect(schemaErrors(header)).toEqual([]);
    expect(schemaErrors(body)).toEqual([]);
  });

  it('defaults no secret but the GitLab token to a variable', () => {
    const secrets = gitlabInputs(def).filter(([, d]) => d.secret);
    for (const [name] of secrets) {
      expect(spec[gitlabInputName(name)]?.default, name).toBe(name === 'gitlab-token' ? '$FERRY_GITLAB_TOKEN' : '');
    }
  });

  describe('included in a pipeline and interpolated by gitlab-ci-local', () => {
    const all = everyInputSet(def);
    const minimal = requiredOnly(def);
    let merged: Record<string, Record<string, unknown>>;
    beforeAll(async () => {
      const pipeline = {
        stages: ['build', 'test', 'deploy', 'ml-checks'],
        include: [
          { local: `ci/${step}.yml`, inputs: minimal },
          { local: `ci/${step}.yml`, inputs: { ...all, job_prefix: 'ml', stage: 'ml-checks', cli_image: 'registry.example.test/ferry/cli:9.9.9' } },
        ],
      };
      const ws = makeWorkspace({ '.gitlab-ci.yml': stringify(pipeline), [`ci/${step}.yml`]: readFileSync(join(TEMPLATE_DIR, `${step}.yml`)) });
      try {
        // Schema validation is ours, below, against the reference schema.
        const r = await gitlabCiLocal(ws, ['--preview', '--json-schema-validation=false']);
        if (r.code !== 0) throw new Error(`gitlab-ci-local --preview failed:\n${r.output}`);
        merged = parse(r.stdout) as typeof merged;
      } finally {
        ws.remove();
      }
    });

    it('is valid for the GitLab CI schema', () => {
      expect(Object.keys(merged).sort()).toEqual(['ferry-' + step, 'ml-' + step, 'stages'].sort());
      expect(schemaErrors(merged)).toEqual([]);
    });

    it('runs the CLI in the stage and image given, with the report paths the CLI writes', () => {
      const jobs = [
        { job: merged[`ferry-${step}`]!, stage: spec.stage!.default, image: spec.cli_image!.default },
        { job: merged[`ml-${step}`]!, stage: 'ml-checks', image: 'registry.example.test/ferry/cli:9.9.9' },
      ];
      for (const { job, stage, image } of jobs) {
        expect(job.stage).toBe(stage);
        expect(job.image).toEqual({ name: image });
        expect(job.tags).toBeUndefined();
        expect(job.script).toEqual([`ferry ${step} --from-env`]);
        const files = reportFiles(def.name);
        const reports = (job.artifacts as { reports: Record<string, string> }).reports;
        expect(reports).toMatchObject({ dotenv: files.dotenv, junit: files.junit, codequality: files.codequality, metrics: files.metrics });
      }
    });

    it('passes each input unchanged as FERRY_INPUT_<NAME>, and the defaults when none is given', () => {
      const given = merged[`ml-${step}`]!.variables as Record<string, string>;
      const defaulted = merged[`ferry-${step}`]!.variables as Record<string, string>;
      const expectAll: Record<string, string> = {};
      const expectDefaults: Record<string, string> = {};
      for (const [name] of gitlabInputs(def)) {
        const gl = gitlabInputName(name);
        expectAll[inputEnvVar(name)] = all[gl]!;
        expectDefaults[inputEnvVar(name)] = minimal[gl] ?? String(spec[gl]!.default);
      }
      expect(given).toEqual(expectAll);
      expect(defaulted).toEqual(expectDefaults);
    });
  });
});

describe.each(['canary-deploy', 'promote', 'rollback'])('gitlab-templates/%s.yml as a GitLab deployment', (step) => {
  const pipeline = stringify({ stages: ['deploy'], include: [{ local: `ci/${step}.yml`, inputs: { ...requiredOnly(STEP_DEFINITIONS.find((d) => d.name === step)!), environment: 'prod-eu' } }] });
  const listed = async (variables: readonly string[]): Promise<string> => {
    const ws = makeWorkspace({ '.gitlab-ci.yml': pipeline, [`ci/${step}.yml`]: readFileSync(join(TEMPLATE_DIR, `${step}.yml`)) });
    try {
      const r = await gitlabCiLocal(ws, ['--list', ...variables.flatMap((v) => ['--variable', v])]);
      if (r.code !== 0) throw new Error(`gitlab-ci-local --list failed:\n${r.output}`);
      return r.stdout;
    } finally {
      ws.remove();
    }
  };

  it('moves its environment in a resource group of its own', async () => {
    const ws = makeWorkspace({ '.gitlab-ci.yml': pipeline, [`ci/${step}.yml`]: readFileSync(join(TEMPLATE_DIR, `${step}.yml`)) });
    let job: Record<string, unknown>;
    try {
      const r = await gitlabCiLocal(ws, ['--preview', '--json-schema-validation=false']);
      if (r.code !== 0) throw new Error(`gitlab-ci-local --preview failed:\n${r.output}`);
      job = (parse(r.stdout) as Record<string, Record<string, unknown>>)[`ferry-${step}`]!;
    } finally {
      ws.remove();
    }
    expect(job.environment).toEqual({
      name: step === 'canary-deploy' ? 'prod-eu-canary' : 'prod-eu',
      // The step's environment-url output, read by GitLab from the job's own dotenv report.
      url: `$FERRY_${step.replace('-', '_').toUpperCase()}_ENVIRONMENT_URL`,
      deployment_tier: step === 'canary-deploy' ? 'staging' : 'production',
      action: 'start',
    });
    expect(job.resource_group).toBe('ferry-prod-eu');
  });

  it('does not run during a deploy freeze', async () => {
    expect(await listed([])).toContain(`ferry-${step}`);
    expect(await listed(['CI_DEPLOY_FREEZE=true'])).not.toContain(`ferry-${step}`);
  });
});
