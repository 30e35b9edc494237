// Inputs every step accepts, declared once and merged into each step's declaration.
import type { InputDeclarations, OutputDeclarations } from '../inputs.js';

export const STEP_NAMES = [
  'validate-model',
  'build-serving-image',
  'benchmark-on-gpu-runner',
  'canary-deploy',
  'promote',
  'rollback',
] as const;
export type StepName = (typeof STEP_NAMES)[number];

export interface StepDefinition<
  I extends InputDeclarations = InputDeclarations,
  O extends OutputDeclarations = OutputDeclarations,
> {
  readonly name: StepName;
  readonly title: string;
  /** One line, used in action.yml and `ferry --help`. */
  readonly summary: string;
  readonly inputs: I;
  readonly outputs: O;
  /** GitHub Marketplace branding. */
  readonly branding: { readonly icon: string; readonly color: string };
}

export const COMMON_INPUTS = {
  config: {
    type: 'path',
    description:
      'Path to ferry.yml, relative to the working directory. When empty, ferry.yml is read if it exists; an explicit path that does not exist is an error.',
    default: '',
    configurable: false,
  },
  'working-directory': {
    type: 'path',
    description: 'Directory that relative paths are resolved against.',
    default: '.',
    configurable: false,
  },
  'github-token': {
    type: 'string',
    description:
      'Token for check runs, the pull-request report comment and deployments. Needs checks, pull-requests and deployments write permission.',
    secret: true,
    platforms: ['github'],
    actionDefault: '${{ github.token }}',
  },
  'gitlab-token': {
    type: 'string',
    description:
      'Project access token (api scope) for the merge-request note and commit status. CI_JOB_TOKEN cannot post notes; without a token these are skipped with a notice.',
    secret: true,
    platforms: ['gitlab'],
    default: '',
  },
  'report-comment': {
    type: 'boolean',
    description: 'Update the one sticky pipeline report on the pull request or merge request.',
    default: true,
    platforms: ['github', 'gitlab'],
  },
  'check-run': {
    type: 'boolean',
    description: 'Publish a check run (GitHub) or commit status (GitLab) named "ferry / <step>".',
    default: true,
    platforms: ['github', 'gitlab'],
  },
} as const satisfies InputDeclarations;

export const COMMON_OUTPUTS = {
  verdict: { description: 'pass, fail or inconclusive.' },
  'report-path': { description: 'Path of the JSON result file written by the step.' },
} as const satisfies OutputDeclarations;

/** Declares a step, merging the common inputs and outputs so each step lists only its own. */
export function defineStep<const I extends InputDeclarations, const O extends OutputDeclarations>(
  def: StepDefinition<I, O>,
): StepDefinition<I & typeof COMMON_INPUTS, O & typeof COMMON_OUTPUTS> {
  for (const key of Object.keys(def.inputs)) {
    if (key in COMMON_INPUTS) throw new Error(`step ${def.name}: input ${key} is a common input`);
  }
  return {
    ...def,
    inputs: { ...def.inputs, ...COMMON_INPUTS },
    outputs: { ...def.outputs, ...COMMON_OUTPUTS },
  };
}
