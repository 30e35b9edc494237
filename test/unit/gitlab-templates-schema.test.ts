// Every generated GitLab template: valid for GitLab's CI schema as a file and once gitlab-ci-local
// has interpolated its inputs into a user's pipeline, free of global keywords, its inputs one to
// one with the step's declaration in packages/core, and every input value delivered to the CLI
// unchanged.
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
const TEMPLATE_DIR = join(REPO_ROOT, 'gitlab-templates');
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const INCREMENTAL = 'canary-deploy-incremental';
const INCREMENTAL_STEPS = '10,manual,25,manual,50,manual,100';
const templates = readdirSync(TEMPLATE_DIR)
  .filter((f) => f.endsWith('.yml'))
  .map((f) => f.slice(0, -4))
  .sort();

/** What a template is: the step it runs, its jobs, its own inputs, and step inputs it fixes. */
interface TemplateShape {
  step: string;
  jobs: string[];
  own: string[];
  fixed: Record<string, string>;
}
const COMMON_OWN = ['stage', 'job_prefix', 'runner_tags', 'cli_image'];
function shape(template: string): TemplateShape {
  if (template === INCREMENTAL) {
    return { step: 'canary-deploy', jobs: ['rollout-10', 'rollout-25', 'rollout-50', 'rollout-100'], own: [...COMMON_OWN, 'mode', 'delay'], fixed: { strategy: 'canary', steps: INCREMENTAL_STEPS } };
  }
  return { step: template, jobs: template === 'rollback' ? ['rollback', 'rollback-manual'] : [template], own: COMMON_OWN, fixed: {} };
}

type SpecInput = { default?: unknown; options?: unknown[]; regex?: string; type?: string; description?: string };
type Job = Record<string, unknown> & { variables?: Record<string, string>; script?: string[] };

function definition(step: string): StepDefinition {
  const def = STEP_DEFINITIONS.find((d) => d.name === step);
  if (!def) throw new Error(`gitlab-templates/${step}.yml has no step declared in packages/core`);
  return def;
}

function readTemplate(template: string): { header: { spec: { inputs: Record<string, SpecInput> } }; body: Record<string, Job> } {
  const docs = parseAllDocuments(readFileSync(join(TEMPLATE_DIR, `${template}.yml`), 'utf8'));
  const errors = docs.flatMap((d) => d.errors.map((e) => e.message));
  if (errors.length > 0 || docs.length !== 2) throw new Error(`gitlab-templates/${template}.yml is not a spec header and one job document: ${errors.join('; ')}`);
  return { header: docs[0]!.toJS() as never, body: docs[1]!.toJS() as never };
}

function gitlabInputs(def: StepDefinition, fixed: Record<string, string> = {}): [string, StepDefinition['inputs'][string]][] {
  return Object.entries(def.inputs).filter(([n, d]) => appliesTo(d, 'gitlab') && !(n in fixed));
}

/** A value a user could give each input: variable references for secrets, else the declared default. */
function everyInputSet(def: StepDefinition, fixed: Record<string, string>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, decl] of gitlabInputs(def, fixed)) {
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
let validateUntagged: ValidateFunction;
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
  const schema = JSON.parse(readFileSync(SCHEMA, 'utf8')) as { $id?: string; definitions: { tags: { minItems: number } } };
  validate = ajv.compile(schema);
  // The one deviation: GitLab's published schema says `tags` has at least one item, but GitLab
  // accepts `tags: []` and runs the job on any runner, which is what the runner_tags default
  // means. This copy differs from the reference only there, and only pipelines that leave
  // runner_tags at its default are checked with it; with tags given, the reference schema applies.
  const untagged = structuredClone(schema);
  untagged.definitions.tags.minItems = 0;
  delete untagged.$id;
  validateUntagged = ajv.compile(untagged);
});

function schemaErrors(doc: unknown, v: ValidateFunction = validate): string[] {
  return v(doc) ? [] : (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} (${e.schemaPath})`);
}

it('there is one template per step, and the incremental rollout', () => {
  expect(templates).toEqual([...STEP_DEFINITIONS.map((d) => d.name), INCREMENTAL].sort());
});

describe.each(templates)('gitlab-templates/%s.yml', (template) => {
  const { step, jobs: jobNames, own, fixed } = shape(template);
  const def = definition(step);
  const { header, body } = readTemplate(template);
  const spec = header.spec.inputs;

  it('declares exactly the step inputs GitLab uses, with the same names and required ones', () => {
    const declared = gitlabInputs(def, fixed).map(([n]) => gitlabInputName(n));
    expect(Object.keys(spec).filter((n) => !own.includes(n)).sort()).toEqual([...declared].sort());
    expect(Object.keys(spec).filter((n) => own.includes(n)).sort()).toEqual([...own].sort());
    // A step input named like a template input would take over the job's own keyword.
    expect(declared.filter((n) => own.includes(n))).toEqual([]);
    const required = Object.entries(spec).filter(([, s]) => !('default' in s)).map(([n]) => n);
    expect(required.sort()).toEqual(gitlabInputs(def).filter(([, d]) => d.required).map(([n]) => gitlabInputName(n)).sort());
    for (const [name, s] of Object.entries(spec)) expect(s.description, name).toMatch(/\S/);
  });

  it('hands the CLI every declared input, and nothing it does not declare', () => {
    const allowed = new Map(Object.keys(def.inputs).filter((n) => appliesTo(def.inputs[n]!, 'gitlab')).map((n) => [inputEnvVar(n), n]));
    for (const job of Object.values(body)) {
      const passed = Object.keys(job.variables ?? {}).filter((v) => v.startsWith('FERRY_INPUT_'));
      expect(passed.filter((v) => !allowed.has(v)), 'FERRY_INPUT_* variables no input declares').toEqual([]);
    }
    // Each declared input reaches the CLI: as a job variable, or (rollback-manual's to_version) a job input.
    const main = body[`$[[ inputs.job_prefix ]]-${jobNames[0]}`]!;
    expect(Object.keys(main.variables!).filter((v) => v.startsWith('FERRY_INPUT_')).sort()).toEqual([...allowed.keys()].sort());
    for (const [name, value] of Object.entries(fixed)) expect(main.variables![inputEnvVar(name)]).toBe(value);
  });

  it('has only its jobs at the top level: no default, stages, variables or other global keyword', () => {
    expect(Object.keys(body)).toEqual(jobNames.map((j) => `$[[ inputs.job_prefix ]]-${j}`));
    for (const keyword of ['default', 'stages', 'variables', 'workflow', 'include', 'image', 'services', 'cache', 'before_script', 'after_script']) expect(body).not.toHaveProperty(keyword);
  });

  it('is valid for the GitLab CI schema as a file (spec header and jobs)', () => {
    expect(schemaErrors(header)).toEqual([]);
    // Every string input is valid where it stands, uninterpolated; `tags` is the one array input,
    // which only interpolation turns from its placeholder into an array: give it one.
    const tagged = Object.fromEntries(Object.entries(body).map(([name, job]) => {
      expect(job.tags, name).toBe('$[[ inputs.runner_tags ]]');
      return [name, { ...job, tags: ['gpu'] }];
    }));
    expect(schemaErrors(tagged)).toEqual([]);
  });

  it('defaults no secret but the GitLab token to a variable', () => {
    const secrets = gitlabInputs(def).filter(([, d]) => d.secret);
    for (const [name] of secrets) {
      expect(spec[gitlabInputName(name)]?.default, name).toBe(name === 'gitlab-token' ? '$FERRY_GITLAB_TOKEN' : '');
    }
  });

  it('runs the CLI image of this Ferry version unless told otherwise, with runner tags as an array input', () => {
    expect(spec.cli_image!.default).toBe(`ferry/cli:${VERSION}`);
    expect(spec.runner_tags).toMatchObject({ type: 'array', default: [] });
    if (template === 'benchmark-on-gpu-runner') expect(spec.runner_tags!.description).toMatch(/GPU runner.*\[gpu\]/);
    expect(readFileSync(join(TEMPLATE_DIR, `${template}.yml`), 'utf8')).not.toContain('component.');
  });

  describe('included in a pipeline and interpolated by gitlab-ci-local', () => {
    const all = everyInputSet(def, fixed);
    const minimal = requiredOnly(def);
    const extra = template === INCREMENTAL ? { mode: 'timed', delay: '30 minutes' } : {};
    let merged: Record<string, Job>;
    beforeAll(async () => {
      const pipeline = {
        stages: ['build', 'test', 'deploy', 'ml-checks'],
        include: [
          { local: `ci/${template}.yml`, inputs: minimal },
          { local: `ci/${template}.yml`, inputs: { ...all, ...extra, job_prefix: 'ml', stage: 'ml-checks', runner_tags: ['gpu', 'linux'], cli_image: 'registry.example.test/ferry/cli:9.9.9' } },
        ],
      };
      const ws = makeWorkspace({ '.gitlab-ci.yml': stringify(pipeline), [`ci/${template}.yml`]: readFileSync(join(TEMPLATE_DIR, `${template}.yml`)) });
      try {
        // Schema validation is ours, below, against the reference schema.
        const r = await gitlabCiLocal(ws, ['--preview', '--json-schema-validation=false']);
        if (r.code !== 0) throw new Error(`gitlab-ci-local --preview failed:\n${r.output}`);
        merged = parse(r.stdout) as typeof merged;
      } finally {
        ws.remove();
      }
    });

    it('is valid for the GitLab CI schema: with runner tags as is, and with the default (none)', () => {
      expect(Object.keys(merged).sort()).toEqual(['stages', ...jobNames.flatMap((j) => [`ferry-${j}`, `ml-${j}`])].sort());
      const tagged = Object.fromEntries(Object.entries(merged).filter(([k]) => !k.startsWith('ferry-')));
      expect(schemaErrors(tagged)).toEqual([]);
      expect(schemaErrors(merged, validateUntagged)).toEqual([]);
      // And the deviation is what the copy is for: the defaults fail the reference only on tags.
      expect(schemaErrors(merged).every((e) => /\/tags must NOT have fewer than 1 items/.test(e))).toBe(true);
    });

    it('runs the CLI in the stage, image and runner tags given, with the report paths the CLI writes', () => {
      const jobs = jobNames.flatMap((j) => [
        { job: merged[`ferry-${j}`]!, stage: spec.stage!.default, image: spec.cli_image!.default, tags: [] },
        { job: merged[`ml-${j}`]!, stage: 'ml-checks', image: 'registry.example.test/ferry/cli:9.9.9', tags: ['gpu', 'linux'] },
      ]);
      for (const { job, stage, image, tags } of jobs) {
        expect(job.stage).toBe(stage);
        expect(job.image).toEqual({ name: image });
        expect(job.tags).toEqual(tags);
        expect((job.script ?? []).at(-1)).toMatch(new RegExp(`^ferry ${step} --from-env( |$)`));
        const files = reportFiles(def.name);
        const reports = (job.artifacts as { reports: Record<string, string> }).reports;
        expect(reports).toMatchObject({ dotenv: files.dotenv, junit: files.junit, codequality: files.codequality, metrics: files.metrics });
      }
    });

    it('passes each input unchanged as FERRY_INPUT_<NAME>, and the defaults when none is given', () => {
      for (const j of jobNames) {
        const given = merged[`ml-${j}`]!.variables!;
        const defaulted = merged[`ferry-${j}`]!.variables!;
        const expectAll: Record<string, string> = {};
        const expectDefaults: Record<string, string> = {};
        for (const [name, value] of Object.entries(fixed)) expectAll[inputEnvVar(name)] = expectDefaults[inputEnvVar(name)] = value;
        for (const [name] of gitlabInputs(def, fixed)) {
          // The manual rollback takes to_version from its job input, at the time someone runs it.
          if (j === 'rollback-manual' && name === 'to-version') continue;
          const gl = gitlabInputName(name);
          expectAll[inputEnvVar(name)] = all[gl]!;
          expectDefaults[inputEnvVar(name)] = minimal[gl] ?? String(spec[gl]!.default);
        }
        if (template === INCREMENTAL && j !== 'rollout-10') {
          expectAll.FERRY_ROLLOUT_MODE = 'timed';
          expectDefaults.FERRY_ROLLOUT_MODE = 'manual';
        }
        expect(given, j).toEqual(expectAll);
        expect(defaulted, j).toEqual(expectDefaults);
      }
    });
  });
});

describe.each(['canary-deploy', 'promote', 'rollback', INCREMENTAL])('gitlab-templates/%s.yml as a GitLab deployment', (template) => {
  const { step, jobs } = shape(template);
  const pipeline = (inputs: Record<string, unknown> = {}): string =>
    stringify({ stages: ['deploy'], include: [{ local: `ci/${template}.yml`, inputs: { ...requiredOnly(definition(step)), environment: 'prod-eu', ...inputs } }] });
  const glci = async (args: readonly string[], inputs: Record<string, unknown> = {}): Promise<string> => {
    const ws = makeWorkspace({ '.gitlab-ci.yml': pipeline(inputs), [`ci/${template}.yml`]: readFileSync(join(TEMPLATE_DIR, `${template}.yml`)) });
    try {
      const r = await gitlabCiLocal(ws, [...args, '--ignore-schema-paths', '#/definitions/tags/minItems']);
      if (r.code !== 0) throw new Error(`gitlab-ci-local ${args.join(' ')} failed:\n${r.output}`);
      return r.stdout;
    } finally {
      ws.remove();
    }
  };
  const listed = (variables: readonly string[], inputs: Record<string, unknown> = {}): Promise<string> => glci(['--list', ...variables.flatMap((v) => ['--variable', v])], inputs);

  it('moves its environment in a resource group of its own', async () => {
    const merged = parse(await glci(['--preview', '--json-schema-validation=false'])) as Record<string, Record<string, unknown>>;
    for (const j of jobs) {
      const job = merged[`ferry-${j}`]!;
      expect(job.environment).toEqual({
        name: step === 'canary-deploy' ? 'prod-eu-canary' : 'prod-eu',
        // The step's environment-url output, read by GitLab from the job's own dotenv report.
        url: `$FERRY_${step.replace('-', '_').toUpperCase()}_ENVIRONMENT_URL`,
        deployment_tier: step === 'canary-deploy' ? 'staging' : 'production',
        action: 'start',
      });
      expect(job.resource_group).toBe('ferry-prod-eu');
    }
  });

  it('does not run during a deploy freeze', async () => {
    const running = await listed([]);
    for (const j of jobs) expect(running).toContain(`ferry-${j}`);
    const frozen = await listed(['CI_DEPLOY_FREEZE=true']);
    for (const j of jobs) expect(frozen).not.toContain(`ferry-${j}`);
  });

  if (template === INCREMENTAL) {
    /** name → [when, allow_failure, needs] from `gitlab-ci-local --list`. */
    const rows = (out: string): Record<string, string[]> =>
      Object.fromEntries(
        out
          .split('\n')
          .filter((l) => l.startsWith('ferry-rollout-'))
          .map((l) => {
            const cols = l.trim().split(/\s+/);
            return [cols[0]!, [cols[2]!, cols[3]!, cols[5] ?? '']];
          }),
      );

    it('mode manual: 10% starts on its own, then each increment waits for a person, in order', async () => {
      expect(rows(await listed([]))).toEqual({
        'ferry-rollout-10': ['on_success', 'false', ''],
        'ferry-rollout-25': ['manual', 'false', '[ferry-rollout-10]'],
        'ferry-rollout-50': ['manual', 'false', '[ferry-rollout-25]'],
        'ferry-rollout-100': ['manual', 'false', '[ferry-rollout-50]'],
      });
    });

    it('mode timed: each increment starts after the delay, in order', async () => {
      expect(rows(await listed([], { mode: 'timed', delay: '10 minutes' }))).toEqual({
        'ferry-rollout-10': ['on_success', 'false', ''],
        'ferry-rollout-25': ['delayed', 'false', '[ferry-rollout-10]'],
        'ferry-rollout-50': ['delayed', 'false', '[ferry-rollout-25]'],
        'ferry-rollout-100': ['delayed', 'false', '[ferry-rollout-50]'],
      });
      const merged = parse(await glci(['--preview', '--json-schema-validation=false'], { mode: 'timed', delay: '10 minutes' })) as Record<string, Job>;
      expect((merged['ferry-rollout-50']!.rules as { start_in?: string }[]).map((r) => r.start_in).filter(Boolean)).toEqual(['10 minutes']);
    });

    it('refuses a delay GitLab could not read', async () => {
      await expect(listed([], { mode: 'timed', delay: 'soon; rm -rf /' })).rejects.toThrow(/`delay` input: `soon; rm -rf \/` does not match required regex/);
    });
  }
});
