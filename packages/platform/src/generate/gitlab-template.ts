// Generates gitlab-templates/<step>.yml: a CI/CD component with typed spec:inputs and one job that
// runs the ferry CLI. Input values travel as job variables, never spliced into the script, so a
// value holding $(...) or quotes stays inert.
import { appliesTo, describeDefault, gitlabInputName, inputEnvVar, type StepDefinition, type StepName } from '@ferry/core';
import { stringify } from 'yaml';
import { dotenvName } from '../gitlab/dotenv.js';
import { reportFiles } from '../gitlab/publish.js';
import { GENERATED_HEADER } from './action-yml.js';

export const CLI_IMAGE_DEFAULT = 'ferry/cli:0.1.0';

const ROLLOUT_STEPS: readonly string[] = ['canary-deploy', 'promote', 'rollback'];

/**
 * What makes a rollout job a GitLab deployment: the environment it moves (the canary one while
 * traffic is split), a resource group so two deploys to one environment never overlap, and no run
 * at all during a deploy freeze ($CI_DEPLOY_FREEZE is set inside a freeze period).
 */
function rolloutKeywords(step: string): Record<string, unknown> {
  const canary = step === 'canary-deploy';
  return {
    environment: {
      name: canary ? '$[[ inputs.environment ]]-canary' : '$[[ inputs.environment ]]',
      // From the job's own dotenv report: GitLab reads the URL after the job ends.
      url: `$${dotenvName(step as StepName, 'environment-url')}`,
      deployment_tier: canary ? 'staging' : 'production',
      action: 'start',
    },
    resource_group: 'ferry-$[[ inputs.environment ]]',
    rules: [{ if: '$CI_DEPLOY_FREEZE != null', when: 'never' }, { when: 'on_success' }],
  };
}

export function gitlabTemplate(def: StepDefinition): string {
  // No runner-tags input: GitLab's CI schema requires `tags` to hold at least one item, so an
  // empty default would make every pipeline that sets no tags invalid; a job override adds them.
  const inputs: Record<string, Record<string, unknown>> = {
    stage: { description: 'Pipeline stage of the job.', default: def.name === 'validate-model' ? 'test' : def.name === 'build-serving-image' ? 'build' : def.name === 'benchmark-on-gpu-runner' ? 'test' : 'deploy' },
    job_prefix: {
      description: `Prefix of the job name (<job_prefix>-${def.name}), so the template can be included more than once. To add runner tags or other keywords, define a job of that name in your pipeline: GitLab merges it into this one.`,
      default: 'ferry',
    },
    cli_image: { description: 'Image with the ferry CLI.', default: CLI_IMAGE_DEFAULT },
  };
  const variables: Record<string, string> = {};
  for (const [name, decl] of Object.entries(def.inputs)) {
    if (!appliesTo(decl, 'gitlab')) continue;
    const gl = gitlabInputName(name);
    // A step input named like a template input would silently replace it (build-serving-image's
    // `image` once became the job's image), so the names must stay apart.
    if (gl in inputs) throw new Error(`${def.name}: input ${name} collides with the template input ${gl}`);
    const spec: Record<string, unknown> = { description: decl.description };
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
  const files = reportFiles(def.name);
  const reports: Record<string, string> = { dotenv: files.dotenv, junit: files.junit, codequality: files.codequality, metrics: files.metrics };
  if (def.name === 'benchmark-on-gpu-runner') reports.load_performance = files.loadPerformance;
  const job: Record<string, unknown> = {
    stage: '$[[ inputs.stage ]]',
    image: '$[[ inputs.cli_image ]]',
    variables,
    script: [`ferry ${def.name} --from-env`],
    artifacts: { when: 'always', paths: [`.ferry/${def.name}/`], reports, expire_in: '30 days' },
  };
  if (ROLLOUT_STEPS.includes(def.name)) Object.assign(job, rolloutKeywords(def.name));
  const header = stringify({ spec: { inputs } }, { lineWidth: 0 });
  const body = stringify({ [`$[[ inputs.job_prefix ]]-${def.name}`]: job }, { lineWidth: 0 });
  return `${GENERATED_HEADER(`packages/core/src/steps (${def.name})`)}${header}---\n${body}`;
}
