// Generates gitlab-templates/<step>.yml: a CI/CD component with typed spec:inputs and jobs that
// run the ferry CLI. Input values travel as job variables, never spliced into the script, so a
// value holding $(...) or quotes stays inert.
import { STEP_DEFINITIONS, type StepDefinition } from '@ferry/core';
import { incrementalRolloutTemplate, INCREMENTAL_TEMPLATE } from './gitlab-incremental.js';
import { deploymentKeywords, ferryJob, FREEZE_RULE, renderTemplate, stepInputs, templateInputs, type TemplateForm } from './gitlab-job.js';
import { manualRollbackJob } from './gitlab-rollback.js';

export { CLI_IMAGE_REPOSITORY, ferryVersion, type TemplateForm } from './gitlab-job.js';

const ROLLOUT_STEPS: readonly string[] = ['canary-deploy', 'promote', 'rollback'];

export function gitlabTemplate(def: StepDefinition, form: TemplateForm): string {
  const rollback = def.name === 'rollback';
  const own = templateInputs(def.name, rollback ? '<job_prefix>-rollback and <job_prefix>-rollback-manual' : `<job_prefix>-${def.name}`, form);
  const { inputs, variables } = stepInputs(def, own);
  const job = ferryJob(def.name, variables, form);
  const jobs: Record<string, unknown> = { [`$[[ inputs.job_prefix ]]-${def.name}`]: job };
  if (ROLLOUT_STEPS.includes(def.name)) Object.assign(job, deploymentKeywords(def.name), { rules: [FREEZE_RULE, { when: 'on_success' }] });
  if (rollback) jobs['$[[ inputs.job_prefix ]]-rollback-manual'] = manualRollbackJob(def, variables, form);
  return renderTemplate(def.name, { ...own, ...inputs }, jobs, form);
}

/** Every template, by file name without `.yml`: one per step, and the incremental rollout. */
export function gitlabTemplates(form: TemplateForm): Map<string, string> {
  const files = new Map<string, string>();
  for (const def of STEP_DEFINITIONS) files.set(def.name, gitlabTemplate(def, form));
  files.set(INCREMENTAL_TEMPLATE, incrementalRolloutTemplate(form));
  return files;
}
