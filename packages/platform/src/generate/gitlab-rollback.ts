// The manual rollback job: someone presses play on <prefix>-rollback-manual and may name the
// version to return to in GitLab's job inputs form (empty: the previous stable version).
import { inputEnvVar, type StepDefinition } from '@ferry/core';
import { deploymentKeywords, ferryJob, FREEZE_RULE, type TemplateForm } from './gitlab-job.js';

/**
 * What a version label may hold in the job input. GitLab checks it when the job is run or
 * retried; no quote, `$`, backtick, backslash, space or line break can pass, so the heredoc below
 * cannot be ended early and nothing in the value is shell syntax.
 */
export const TO_VERSION_REGEX = '^([A-Za-z0-9][A-Za-z0-9_.:@+/-]*)?$';
/** Ends the heredoc that carries the job input; no value the regex admits can equal it. */
const HEREDOC_END = 'FERRY_JOB_INPUT_END';

/**
 * Job inputs are not variables: the runner writes `${{ job.inputs.NAME }}` into the script text.
 * A quoted heredoc takes that text verbatim (no expansion), and the value reaches ferry as
 * FERRY_INPUT_TO_VERSION like every other input.
 */
export function toVersionScript(): string {
  const env = inputEnvVar('to-version');
  return [`${env}=$(cat <<'${HEREDOC_END}'`, '${{ job.inputs.to_version }}', HEREDOC_END, ')', `export ${env}`, ''].join('\n');
}

export function manualRollbackJob(def: StepDefinition, variables: Record<string, string>, form: TemplateForm): Record<string, unknown> {
  const env = inputEnvVar('to-version');
  const rest = Object.fromEntries(Object.entries(variables).filter(([k]) => k !== env));
  const job: Record<string, unknown> = {
    inputs: {
      to_version: {
        description: 'Version to return to; empty: the stable version during a canary, else the previous stable version.',
        type: 'string',
        default: '',
        regex: TO_VERSION_REGEX,
      },
    },
    ...ferryJob(def.name, rest, form, [toVersionScript(), `ferry ${def.name} --from-env`]),
  };
  // Optional: the pipeline does not wait for it; it is there when someone needs it.
  Object.assign(job, deploymentKeywords(def.name), { rules: [FREEZE_RULE, { when: 'manual', allow_failure: true }] });
  return job;
}
