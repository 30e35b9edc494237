// canary-deploy, promote and rollback: progressive delivery judged by statistics.
import type { InputDeclarations } from '../inputs.js';
import { defineStep } from './common.js';

export const TARGETS = ['local', 'haproxy', 'kserve', 'gateway-api'] as const;

const TARGET_INPUTS = {
  target: { type: 'string', description: 'Where the model is served.', options: TARGETS, default: 'local' },
  environment: {
    type: 'string',
    description: 'Environment name; deployment records use <name> and <name>-canary.',
    default: 'production',
    pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
  },
  'target-config': { type: 'string', description: 'Target address: router URL, HAProxy admin socket or Kubernetes object.' },
} as const satisfies InputDeclarations;

export const canaryDeployDefinition = defineStep({
  name: 'canary-deploy',
  title: 'Canary deploy',
  summary: 'Shift traffic to the new version step by step, judge it against stable, and abort on harm.',
  branding: { icon: 'git-branch', color: 'orange' },
  inputs: {
    ...TARGET_INPUTS,
    version: { type: 'string', description: 'Version label of the new model.', required: true },
    'model-ref': { type: 'string', description: 'Image reference or model location of the new version.', required: true },
    steps: { type: 'list', description: 'Traffic weights in percent, in order.', default: ['5', '25', '50', '100'] },
    bake: { type: 'duration', description: 'Bake time per step.', default: '2m' },
    analysis: {
      type: 'string',
      description: 'Where the judge gets data: paired synthetic load, or Prometheus.',
      options: ['synthetic', 'prometheus'],
      default: 'synthetic',
    },
    'prometheus-url': { type: 'string', description: 'Prometheus-compatible query endpoint.' },
    'on-inconclusive': {
      type: 'string',
      description: 'What an inconclusive final verdict does.',
      options: ['abort', 'hold'],
      default: 'abort',
    },
  },
  outputs: {
    'new-version': { description: 'Version that was rolled out.' },
    'previous-version': { description: 'Stable version before the rollout.' },
    'final-weights': { description: 'JSON object of final traffic weights by version.' },
    'decision-log': { description: 'JSON array of the decisions made at each step.' },
  },
});

export const promoteDefinition = defineStep({
  name: 'promote',
  title: 'Promote',
  summary: 'Make the canary the stable version everywhere and record it.',
  branding: { icon: 'check-circle', color: 'green' },
  inputs: {
    ...TARGET_INPUTS,
    version: { type: 'string', description: 'Version expected to be the canary; empty: whatever is canary.' },
  },
  outputs: {
    'stable-version': { description: 'Version now stable.' },
    'previous-version': { description: 'Version kept as the rollback point.' },
  },
});

export const rollbackDefinition = defineStep({
  name: 'rollback',
  title: 'Rollback',
  summary: 'Put the previous (or a named) stable version back, verify it is live, and record it.',
  branding: { icon: 'rotate-ccw', color: 'red' },
  inputs: {
    ...TARGET_INPUTS,
    'to-version': { type: 'string', description: 'Version to return to; empty: the previous stable version.' },
  },
  outputs: {
    'stable-version': { description: 'Version now serving all traffic.' },
    'rolled-back-from': { description: 'Version that was taken out of service.' },
  },
});
