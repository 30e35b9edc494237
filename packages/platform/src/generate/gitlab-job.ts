// The pieces every Ferry GitLab template is made of: the template's own inputs, the step's inputs
// as spec inputs and FERRY_INPUT_* job variables, the job that runs the CLI, deployment keywords.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { appliesTo, describeDefault, gitlabInputName, inputEnvVar, type StepDefinition, type StepName } from '@ferry/core';
import { stringify } from 'yaml';
import { dotenvName } from '../gitlab/dotenv.js';
import { reportFiles } from '../gitlab/publish.js';
import { GENERATED_HEADER } from './action-yml.js';

/** The CLI image's repository; its tag is Ferry's version (include form) or the component version. */
export const CLI_IMAGE_REPOSITORY = 'ferry/cli';

/**
 * Two forms of one template. `include` is for include: local/remote/project, where GitLab has no
 * component context, so the image tag is Ferry's version written at generation time. `component`
 * is for a component project (templates/<step>.yml): `$[[ component.version ]]` pins the image to
 * the released component version. GitLab interpolates it in the job body only, never inside an
 * input default, so the input holds the repository and the job appends the version.
 */
export type TemplateForm = { readonly kind: 'include'; readonly version: string } | { readonly kind: 'component' };

export type SpecInput = Record<string, unknown>;

/** Ferry's version, from the root package.json: the tag of the CLI image the include form runs. */
export function ferryVersion(root: string): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

export function defaultStage(step: string): string {
  return step === 'build-serving-image' ? 'build' : step === 'validate-model' || step === 'benchmark-on-gpu-runner' ? 'test' : 'deploy';
}

/** The inputs of the template itself (not of the step): stage, job name prefix, runner tags, image. */
export function templateInputs(step: string, jobNames: string, form: TemplateForm): Record<string, SpecInput> {
  const gpu = step === 'benchmark-on-gpu-runner';
  return {
    stage: { description: 'Pipeline stage of the job.', default: defaultStage(step) },
    job_prefix: { description: `Prefix of the job name (${jobNames}), so the template can be included more than once in one pipeline.`, default: 'ferry' },
    runner_tags: {
      description: gpu
        ? 'Runner tags that pick the GPU runner the benchmark runs on, for example [gpu] or [gpu, a100]. Empty: any runner, which measures the CPU path only.'
        : 'Runner tags that pick the runner, for example [docker, linux]. Empty: any runner.',
      type: 'array',
      default: [],
    },
    cli_image:
      form.kind === 'include'
        ? { description: 'Image with the ferry CLI (the default is the version these templates come from).', default: `${CLI_IMAGE_REPOSITORY}:${form.version}` }
        : { description: 'Repository of the image with the ferry CLI; the job runs the tag equal to the component version.', default: CLI_IMAGE_REPOSITORY },
  };
}

/** `image:` of every job: the input as is, or (component) the repository at the component version. */
function jobImage(form: TemplateForm): string {
  return form.kind === 'include' ? '$[[ inputs.cli_image ]]' : '$[[ inputs.cli_image ]]:$[[ component.version ]]';
}

/**
 * The step's inputs as GitLab spec inputs, and the job variables that hand each one to the CLI.
 * `fixed` inputs are not offered: the template sets them (the incremental rollout fixes its steps).
 */
export function stepInputs(def: StepDefinition, taken: Readonly<Record<string, unknown>>, fixed: Readonly<Record<string, string>> = {}): { inputs: Record<string, SpecInput>; variables: Record<string, string> } {
  const inputs: Record<string, SpecInput> = {};
  const variables: Record<string, string> = {};
  for (const [name, decl] of Object.entries(def.inputs)) {
    if (!appliesTo(decl, 'gitlab')) continue;
    if (name in fixed) {
      variables[inputEnvVar(name)] = fixed[name]!;
      continue;
    }
    const gl = gitlabInputName(name);
    // A step input named like a template input would silently replace it (build-serving-image's
    // `image` once became the job's image), so the names must stay apart.
    if (gl in taken) throw new Error(`${def.name}: input ${name} collides with the template input ${gl}`);
    const spec: SpecInput = { description: decl.description };
    // Optional inputs default to '' so ferry.yml and the declared default still apply; GitLab's
    // typed inputs cannot be empty, so booleans and numbers are strings constrained by options/regex.
    // Only the GitLab token defaults to a variable reference: any other secret (a registry
    // password) must never receive the GitLab token by default.
    // `environment` also names the job's GitLab environment and resource group, which cannot be
    // empty, so it keeps its declared default here.
    if (!decl.required) spec.default = name === 'gitlab-token' ? '$FERRY_GITLAB_TOKEN' : name === 'environment' ? String(decl.default ?? '') : '';
    if (decl.type === 'boolean') spec.options = ['', 'true', 'false'];
    else if (decl.options && decl.type !== 'list') spec.options = ['', ...decl.options];
    else if (decl.type === 'number') spec.regex = '^(-?[0-9]+(\\.[0-9]+)?)?$';
    else if (decl.type === 'integer') spec.regex = '^(-?[0-9]+)?$';
    else if (decl.type === 'object') spec.description = `${decl.description} YAML or JSON text.`;
    else if (decl.type === 'duration') spec.regex = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h)?)?$';
    else if (decl.pattern) spec.regex = decl.pattern.replace(/^\^/, '^(').replace(/\$$/, ')?$');
    const def0 = describeDefault(decl);
    if (def0 !== '' && !decl.secret) spec.description = `${decl.description} Default: \`${def0}\`.`;
    if (decl.secret) spec.description = `${decl.description} Give a reference to a masked CI/CD variable, never the token itself.`;
    inputs[gl] = spec;
    variables[inputEnvVar(name)] = `$[[ inputs.${gl} ]]`;
  }
  return { inputs, variables };
}

/** Where GitLab shows the step's result: dotenv for later jobs, and its report widgets. */
function artifacts(step: StepName): Record<string, unknown> {
  const files = reportFiles(step);
  const reports: Record<string, string> = { dotenv: files.dotenv, junit: files.junit, codequality: files.codequality, metrics: files.metrics };
  if (step === 'benchmark-on-gpu-runner') reports.load_performance = files.loadPerformance;
  return { when: 'always', paths: [`.ferry/${step}/`], reports, expire_in: '30 days' };
}

/** The keywords every Ferry job has, in GitLab's usual order. */
export function ferryJob(step: StepName, variables: Record<string, string>, form: TemplateForm, script: readonly string[] = [`ferry ${step} --from-env`]): Record<string, unknown> {
  return {
    stage: '$[[ inputs.stage ]]',
    image: jobImage(form),
    tags: '$[[ inputs.runner_tags ]]',
    variables,
    script: [...script],
    artifacts: artifacts(step),
  };
}

/** No deployment at all while a deploy freeze is on ($CI_DEPLOY_FREEZE is set inside one). */
export const FREEZE_RULE = { if: '$CI_DEPLOY_FREEZE != null', when: 'never' } as const;

/**
 * What makes a rollout job a GitLab deployment: the environment it moves (the canary one while
 * traffic is split), and a resource group so two deploys to one environment never overlap.
 */
export function deploymentKeywords(step: StepName): Record<string, unknown> {
  const canary = step === 'canary-deploy';
  return {
    environment: {
      name: canary ? '$[[ inputs.environment ]]-canary' : '$[[ inputs.environment ]]',
      // From the job's own dotenv report: GitLab reads the URL after the job ends.
      url: `$${dotenvName(step, 'environment-url')}`,
      deployment_tier: canary ? 'staging' : 'production',
      action: 'start',
    },
    resource_group: 'ferry-$[[ inputs.environment ]]',
  };
}

/** A template file: the spec header, `---`, then the jobs. */
export function renderTemplate(source: string, inputs: Record<string, SpecInput>, jobs: Record<string, unknown>, form: TemplateForm): string {
  const spec = form.kind === 'component' ? { component: ['version'], inputs } : { inputs };
  const header = stringify({ spec }, { lineWidth: 0 });
  const body = stringify(jobs, { lineWidth: 0, aliasDuplicateObjects: false });
  return `${GENERATED_HEADER(`packages/core/src/steps (${source})`)}${header}---\n${body}`;
}
