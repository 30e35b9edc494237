// A GitLab component project made from Ferry's templates: templates/<name>.yml in the component
// form (image pinned to the component version), a README for the CI/CD Catalog, and a pipeline
// that tests every component at the pushed commit and releases semver tags with `release:`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitlabInputName, STEP_DEFINITIONS } from '@ferry/core';
import { stringify } from 'yaml';
import { INCREMENTAL_TEMPLATE, INCREMENTAL_WEIGHTS } from './gitlab-incremental.js';
import { CLI_IMAGE_REPOSITORY, ferryVersion, gitlabTemplates } from './gitlab-template.js';

/** The job name prefix of the component tests in the component project's own pipeline. */
export const COMPONENT_TEST_PREFIX = 'component-test';
/** The tiny model the validate-model component test checks, copied from examples/tiny. */
const TEST_MODEL_DIR = 'test/model';
const TEST_MODEL_FILES = ['config.json', 'model.safetensors'];

function jobNames(template: string): string[] {
  if (template === 'rollback') return ['rollback', 'rollback-manual'];
  if (template === INCREMENTAL_TEMPLATE) return INCREMENTAL_WEIGHTS.map((w) => `rollout-${w}`);
  return [template];
}

/** Values for the inputs a component requires, so GitLab can interpolate it in the test pipeline. */
function requiredInputs(template: string): Record<string, string> {
  const step = template === INCREMENTAL_TEMPLATE ? 'canary-deploy' : template;
  const def = STEP_DEFINITIONS.find((d) => d.name === step);
  if (!def) throw new Error(`template ${template} has no step declaration`);
  const values: Record<string, string> = {};
  for (const [name, decl] of Object.entries(def.inputs)) {
    if (decl.required) values[gitlabInputName(name)] = step === 'validate-model' && name === 'model-path' ? TEST_MODEL_DIR : `${COMPONENT_TEST_PREFIX}-${name}`;
  }
  return values;
}

function pipeline(version: string, templates: readonly string[]): string {
  const include = templates.map((t) => ({
    component: `$CI_SERVER_FQDN/$CI_PROJECT_PATH/${t}@$CI_COMMIT_SHA`,
    inputs: { job_prefix: COMPONENT_TEST_PREFIX, stage: 'test', ...requiredInputs(t) },
  }));
  const jobs: Record<string, unknown> = {};
  for (const t of templates) {
    for (const job of jobNames(t)) {
      const name = `${COMPONENT_TEST_PREFIX}-${job}`;
      // component.version is empty when a component is included by commit SHA, so the test runs
      // the CLI image of the Ferry version these templates were generated from.
      if (t === 'validate-model') jobs[name] = { image: `${CLI_IMAGE_REPOSITORY}:${version}` };
      // Included so that GitLab checks each spec and its interpolation on every pipeline; running
      // them needs a registry, a GPU runner or a serving stack this project does not have.
      else jobs[name] = { rules: [{ when: 'never' }] };
    }
  }
  jobs.release = {
    stage: 'release',
    image: 'registry.gitlab.com/gitlab-org/cli:latest',
    rules: [{ if: '$CI_COMMIT_TAG =~ /^\\d+\\.\\d+\\.\\d+$/' }],
    script: [
      // The jobs run ferry/cli:<component version>: a tag other than the Ferry version these
      // templates came from would point every user at the wrong image.
      `test "$CI_COMMIT_TAG" = "${version}" || { echo "these components were generated from Ferry ${version}; tag ${version}, or regenerate them from Ferry $CI_COMMIT_TAG"; exit 1; }`,
    ],
    release: {
      tag_name: '$CI_COMMIT_TAG',
      name: 'Ferry components $CI_COMMIT_TAG',
      description: `Ferry's CI/CD components at $CI_COMMIT_TAG; their jobs run ${CLI_IMAGE_REPOSITORY}:$CI_COMMIT_TAG.`,
    },
  };
  const header = `# Generated from Ferry ${version} by scripts/gitlab-component-project.sh. Do not edit: regenerate.\n`;
  return `${header}${stringify({ stages: ['test', 'release'], include, ...jobs }, { lineWidth: 0 })}`;
}

function readme(version: string, templates: readonly string[]): string {
  const summary = (t: string): string =>
    t === INCREMENTAL_TEMPLATE
      ? 'canary-deploy in increments of 10, 25, 50 and 100 %, each increment a job started by hand (`mode: manual`) or after a delay (`mode: timed`).'
      : (STEP_DEFINITIONS.find((d) => d.name === t)?.summary ?? '');
  return [
    '# Ferry CI/CD components',
    '',
    'Ferry takes a machine-learning model from a merge request to production: validate it, build its serving image, benchmark it on a GPU runner, roll it out as a canary, promote it, roll it back.',
    `These components were generated from Ferry ${version}. Each job runs \`${CLI_IMAGE_REPOSITORY}:<component version>\`; set the \`cli_image\` input to use a mirror of that repository.`,
    '',
    '| component | what it does |',
    '| --- | --- |',
    ...templates.map((t) => `| \`${t}\` | ${summary(t)} |`),
    '',
    '## Use',
    '',
    '```yaml',
    'include:',
    `  - component: $CI_SERVER_FQDN/<this project's path>/validate-model@${version}`,
    '    inputs:',
    '      model_path: models/classifier',
    '      runner_tags: [docker]',
    '```',
    '',
    'Every component has the inputs `stage`, `job_prefix` (include a component more than once under different prefixes), `runner_tags` and `cli_image`, and one input per Ferry step input; the catalog page lists them with their descriptions.',
    '',
  ].join('\n');
}

/** Every file of the component project, relative path → content. */
export function componentProjectFiles(root: string): Map<string, string | Buffer> {
  const version = ferryVersion(root);
  const files = new Map<string, string | Buffer>();
  const templates = gitlabTemplates({ kind: 'component' });
  for (const [name, text] of templates) files.set(`templates/${name}.yml`, text);
  files.set('README.md', readme(version, [...templates.keys()]));
  files.set('.gitlab-ci.yml', pipeline(version, [...templates.keys()]));
  for (const f of TEST_MODEL_FILES) files.set(`${TEST_MODEL_DIR}/${f}`, readFileSync(join(root, 'examples/tiny', f)));
  return files;
}
