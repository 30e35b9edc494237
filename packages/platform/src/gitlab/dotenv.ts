// Step outputs as a dotenv report, so later jobs receive them as variables (FERRY_<STEP>_<OUTPUT>).
import type { StepName } from '@ferry/core';

export function dotenvName(step: StepName, output: string): string {
  return `FERRY_${step}_${output}`.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase();
}

/** GitLab's dotenv parser takes one line per variable, so values are single-line. */
export function dotenvText(step: StepName, outputs: Readonly<Record<string, string>>): string {
  return Object.entries(outputs)
    .map(([k, v]) => `${dotenvName(step, k)}=${v.replace(/\r?\n/g, ' ')}`)
    .join('\n')
    .concat('\n');
}
