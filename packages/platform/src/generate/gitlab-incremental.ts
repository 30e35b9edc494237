// The incremental rollout in the style of Auto DevOps: jobs <prefix>-rollout-10, -25, -50 and -100,
// each a canary-deploy run of one plan whose weights are separated by manual gates. A run stops
// at the next gate with the rollout record paused on the target; the next job's run is the
// approval that passes it, so each job moves traffic exactly one increment.
import { canaryDeployDefinition } from '@ferry/core';
import { dotenvName } from '../gitlab/dotenv.js';
import { reportFiles } from '../gitlab/publish.js';
import { deploymentKeywords, ferryJob, FREEZE_RULE, renderTemplate, stepInputs, templateInputs, type SpecInput, type TemplateForm } from './gitlab-job.js';

export const INCREMENTAL_TEMPLATE = 'canary-deploy-incremental';
export const INCREMENTAL_WEIGHTS = [10, 25, 50, 100] as const;
/** The plan every job runs: a manual gate before each weight after the first. */
export const INCREMENTAL_STEPS = INCREMENTAL_WEIGHTS.join(',manual,');

/** GitLab's start_in: a number and a unit, at most a week (GitLab checks the upper bound). */
const DELAY_REGEX = '^[1-9][0-9]* ?(s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w|weeks?)$';

/**
 * `ferry canary-deploy` exits 1 when it stops at a manual gate (verdict inconclusive, phase
 * paused), as it does for a canary it cannot judge. For these jobs stopping at the gate is the
 * goal, so a paused record in this job's own dotenv report counts as success; anything else keeps
 * ferry's exit code. The report is removed first, so one left by an earlier job cannot stand in.
 */
function gateScript(): string[] {
  const dotenv = `"$CI_PROJECT_DIR/${reportFiles('canary-deploy').dotenv}"`;
  const paused = `${dotenvName('canary-deploy', 'phase')}=paused`;
  return [
    `rm -f ${dotenv}`,
    `ferry canary-deploy --from-env || { status=$?; grep -qx '${paused}' ${dotenv} || exit $status; echo 'ferry: traffic holds at this increment; run the next rollout job to go on'; }`,
  ];
}

export function incrementalRolloutTemplate(form: TemplateForm): string {
  const names = INCREMENTAL_WEIGHTS.map((w) => `<job_prefix>-rollout-${w}`).join(', ');
  const own: Record<string, SpecInput> = {
    ...templateInputs('canary-deploy', names, form),
    mode: {
      description: 'How each increment after the first starts: manual (someone runs the job; the pipeline waits) or timed (GitLab starts it after `delay`).',
      options: ['manual', 'timed'],
      default: 'manual',
    },
    delay: { description: 'timed: how long GitLab waits before the next increment (start_in), for example `5 minutes`.', default: '5 minutes', regex: DELAY_REGEX },
  };
  // The weights are the template's; strategy canary is what walks them.
  const { inputs, variables } = stepInputs(canaryDeployDefinition, own, { strategy: 'canary', steps: INCREMENTAL_STEPS });
  const jobs: Record<string, unknown> = {};
  let previous: string | undefined;
  for (const weight of INCREMENTAL_WEIGHTS) {
    const name = `$[[ inputs.job_prefix ]]-rollout-${weight}`;
    const later = previous !== undefined;
    const job = ferryJob('canary-deploy', later ? { ...variables, FERRY_ROLLOUT_MODE: '$[[ inputs.mode ]]' } : variables, form, gateScript());
    // Order only: each job reads the rollout record on the target, not the previous job's files.
    if (previous) job.needs = [{ job: previous, artifacts: false }];
    Object.assign(job, deploymentKeywords('canary-deploy'), {
      rules: later
        ? [
            FREEZE_RULE,
            { if: '$FERRY_ROLLOUT_MODE == "timed"', when: 'delayed', start_in: '$[[ inputs.delay ]]' },
            // allow_failure false: the pipeline waits (blocked) for the person who runs it.
            { when: 'manual', allow_failure: false },
          ]
        : [FREEZE_RULE, { when: 'on_success' }],
    });
    jobs[name] = job;
    previous = name;
  }
  return renderTemplate(INCREMENTAL_TEMPLATE, { ...own, ...inputs }, jobs, form);
}
