// canary-deploy, promote and rollback: progressive delivery judged by statistics. The three share
// how they reach a target (the router, HAProxy) and the record kept there.
import type { InputDeclarations } from '../inputs.js';
import { defineStep } from './common.js';

export const TARGETS = ['local', 'haproxy', 'kserve', 'gateway-api'] as const;

const TARGET_INPUTS = {
  target: { type: 'string', description: 'Where the model is served: the local Ferry router, HAProxy, or Kubernetes Deployments behind a Gateway API HTTPRoute (gateway-api); kserve is not included yet.', options: TARGETS, default: 'local' },
  environment: {
    type: 'string',
    description: 'Environment name; deployment records use <name> and <name>-canary. One router or state file serves one environment.',
    default: 'production',
    pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
  },
  'router-url': { type: 'string', description: 'local target: the admin URL of `ferry router` (http://127.0.0.1:PORT).', default: '' },
  'router-token': { type: 'string', description: 'local target: bearer token of the router admin API, when it has one.', secret: true, default: '' },
  'haproxy-runtime': { type: 'string', description: 'haproxy target: the runtime API address, a unix socket path or host:port (level admin).', default: '' },
  'haproxy-backend': { type: 'string', description: 'haproxy target: the backend whose servers named stable* and canary* carry the two versions.', default: 'models' },
  'state-file': { type: 'path', description: 'haproxy target: the rollout record, a JSON file next to the router (written atomically).', default: '' },
  kubeconfig: {
    type: 'string',
    description: 'gateway-api target: kubeconfig text for the cluster (masked); empty: the pod\'s service account in-cluster, else $KUBECONFIG or ~/.kube/config.',
    secret: true,
    default: '',
  },
  'kube-context': { type: 'string', description: 'gateway-api target: the kubeconfig context to use; empty: its current-context.', default: '' },
  namespace: { type: 'string', description: 'gateway-api target: the namespace of the HTTPRoute, Deployments and Services.', default: 'default' },
  route: {
    type: 'string',
    description: 'gateway-api target: the HTTPRoute that splits traffic; the Deployments and Services are <route>-stable and <route>-canary, and the rollout record lives in its annotations.',
    default: '',
  },
  gateway: { type: 'string', description: 'gateway-api target: the Gateway the HTTPRoute attaches to, as name or namespace/name.', default: '' },
  image: { type: 'string', description: 'gateway-api target: image repository of the model server; a version runs <image>@<digest>, or <image>:<version> without a digest.', default: '' },
  'container-port': { type: 'integer', description: 'gateway-api target: the port the model server listens on, also the Services\' port.', default: 8080, min: 1, max: 65535 },
  replicas: { type: 'integer', description: 'gateway-api target: replicas of each Deployment.', default: 1, min: 1, max: 1000 },
  'ready-timeout': { type: 'duration', description: 'gateway-api target: how long a Deployment may take to become available with a new version before the step fails (traffic stays on stable).', default: '5m' },
  'environment-url': {
    type: 'string',
    description: 'Where the environment serves users (https://models.example.com): the deployment records link it (GitHub environment_url, GitLab environment url through dotenv).',
    default: '',
  },
  'lease-ttl': { type: 'duration', description: 'How long the lease on the target lasts without renewal; a killed job\'s lease frees itself after this.', default: '60s' },
  'verify-timeout': { type: 'duration', description: 'How long a traffic change may take to show on the router before the step fails (exit 3).', default: '10s' },
} as const satisfies InputDeclarations;

export const canaryDeployDefinition = defineStep({
  name: 'canary-deploy',
  title: 'Canary deploy',
  summary: 'Shift traffic to the new version step by step, judge it against stable, and abort on harm.',
  branding: { icon: 'git-branch', color: 'orange' },
  inputs: {
    ...TARGET_INPUTS,
    version: { type: 'string', description: 'Version label of the new model (the `version` label of its metrics).', required: true },
    endpoints: { type: 'list', description: 'Base URLs of the new version\'s servers (http://10.0.0.7:8080), one per server.', required: true },
    digest: { type: 'string', description: 'Digest of the new version\'s image or model (from build-serving-image), recorded with it.', default: '' },
    'stable-version': { type: 'string', description: 'First rollout on a target only: the version label of what serves now.', default: '' },
    'stable-endpoints': { type: 'list', description: 'First rollout on a target only: base URLs of the stable servers.' },
    strategy: {
      type: 'string',
      description: 'canary: weighted steps. blue-green: verify at 0% with synthetic load, then switch at once. ab: a sticky split by header or cookie. shadow: mirrored requests only.',
      options: ['canary', 'blue-green', 'ab', 'shadow'],
      default: 'canary',
    },
    steps: { type: 'list', description: 'Canary weights in percent, in order; `manual` before a weight stops there until the job is re-run (an approval).', default: ['5', '25', '50', '100'] },
    bake: { type: 'duration', description: 'Bake time per step before the judge looks (extensions add the same again).', default: '2m' },
    'keep-warm': { type: 'duration', description: 'blue-green: how long the old version stays ready at 0% after the switch, for an instant rollback.', default: '10m' },
    'ab-header': { type: 'string', description: 'ab: request header whose value picks the version (sticky).', default: '' },
    'ab-cookie': { type: 'string', description: 'ab: cookie whose value picks the version (sticky), when no header is set.', default: '' },
    'ab-weight': { type: 'integer', description: 'ab: share of keys sent to the new version, in percent.', default: 50, min: 1, max: 99 },
    'mirror-percent': { type: 'integer', description: 'shadow: percent of requests copied to the new version.', default: 100, min: 1, max: 100 },
    analysis: {
      type: 'string',
      description: 'Where the judge gets data: paired synthetic load sent to both versions, or Prometheus.',
      options: ['synthetic', 'prometheus'],
      default: 'synthetic',
    },
    'prometheus-url': { type: 'string', description: 'Prometheus-compatible query endpoint (analysis: prometheus).', default: '' },
    'prometheus-metrics': { type: 'string', description: 'Which metrics the PromQL reads: those of `ferry serve` or of the local router.', options: ['ferry-serve', 'ferry-router'], default: 'ferry-serve' },
    'model-name': { type: 'string', description: 'Model name for synthetic load (Open Inference Protocol v2).', default: 'model' },
    dataset: { type: 'path', description: 'JSONL payloads for synthetic load; empty: generated from the model signature.', default: '' },
    'synthetic-rate': { type: 'number', description: 'Synthetic load: request pairs per second (each pair goes to both versions).', default: 20, min: 0.1 },
    alpha: { type: 'number', description: 'Chance of aborting a canary no worse than stable, over the whole rollout.', default: 0.01, min: 0.0001, max: 0.2 },
    'max-extensions': { type: 'integer', description: 'Extra bakes a step may take when the judge needs more requests.', default: 2, min: 0, max: 20 },
    'latency-floor': { type: 'number', description: 'Latency shift tolerated, as a fraction of stable\'s p50.', default: 0.1, min: 0 },
    'error-floor': { type: 'number', description: 'Error-rate increase tolerated, in absolute terms (0.005: half a percentage point); the sample is planned to catch twice this.', default: 0.005, min: 0, max: 1 },
    'slo-p95-ms': { type: 'number', description: 'Absolute objective: the canary\'s p95 latency must stay under this (0: none).', default: 0, min: 0 },
    'slo-error-rate': { type: 'number', description: 'Absolute objective: the canary\'s error rate must stay under this (0: none).', default: 0, min: 0, max: 1 },
    'min-agreement': { type: 'number', description: 'Lowest top-1 agreement with stable on paired requests (synthetic load and shadow).', default: 0.99, min: 0, max: 1 },
    'on-inconclusive': {
      type: 'string',
      description: 'What an inconclusive verdict does: abort to stable, or hold the weights for a human (then promote or rollback).',
      options: ['abort', 'hold'],
      default: 'abort',
    },
    'on-resume': {
      type: 'string',
      description: 'What a re-run does with a rollout its killed job left in progress: resume at the recorded step, or abort to stable.',
      options: ['resume', 'abort'],
      default: 'resume',
    },
  },
  outputs: {
    'new-version': { description: 'Version that was rolled out.' },
    'new-digest': { description: 'Digest of the version rolled out.' },
    'previous-version': { description: 'Stable version before the rollout.' },
    'previous-digest': { description: 'Digest of the stable version.' },
    phase: { description: 'Where the rollout stands: completed, aborted, holding, paused.' },
    'final-weights': { description: 'JSON object of final traffic weights by version.' },
    'decision-log': { description: 'JSON array of the decisions made at each step.' },
    'rollback-ms': { description: 'Milliseconds from the abort decision to verified 100% stable (aborted rollouts).' },
    'environment-url': { description: 'The environment-url input, for the deployment records of later jobs.' },
  },
});

export const promoteDefinition = defineStep({
  name: 'promote',
  title: 'Promote',
  summary: 'Make the canary the stable version everywhere and record it.',
  branding: { icon: 'check-circle', color: 'green' },
  inputs: {
    ...TARGET_INPUTS,
    version: { type: 'string', description: 'Version expected to be the canary; empty: whatever is canary.', default: '' },
    'registry-tag': {
      type: 'string',
      description: 'An OCI registry used as the model registry: move this tag (registry/repository:production) to the promoted version\'s digest. Empty: no tag is moved.',
      default: '',
    },
    'registry-username': { type: 'string', description: 'Registry user name for registry-tag (with registry-password).', default: '' },
    'registry-password': { type: 'string', description: 'Registry password or token for registry-tag. Without it, credentials come from the docker config file.', secret: true, default: '' },
    'insecure-registry': { type: 'boolean', description: 'Plain HTTP to the registry of registry-tag: loopback and test registries only.', default: false },
  },
  outputs: {
    'stable-version': { description: 'Version now stable.' },
    'stable-digest': { description: 'Digest of the version now stable.' },
    'previous-version': { description: 'Version kept as the rollback point.' },
    'previous-digest': { description: 'Digest of the rollback point.' },
    'final-weights': { description: 'JSON object of final traffic weights by version.' },
    'decision-log': { description: 'JSON array of the decisions recorded.' },
    'tagged': { description: 'The registry tag moved to the promoted digest (registry/repository:tag@digest); empty without registry-tag.' },
    'environment-url': { description: 'The environment-url input, for the deployment records of later jobs.' },
  },
});

export const rollbackDefinition = defineStep({
  name: 'rollback',
  title: 'Rollback',
  summary: 'Put the previous (or a named) stable version back, verify it is live, and record it.',
  branding: { icon: 'rotate-ccw', color: 'red' },
  inputs: {
    ...TARGET_INPUTS,
    'to-version': { type: 'string', description: 'Version to return to; empty: stable during a canary, else the previous stable version.', default: '' },
  },
  outputs: {
    'stable-version': { description: 'Version now serving all traffic.' },
    'stable-digest': { description: 'Digest of the version now serving.' },
    'rolled-back-from': { description: 'Version that was taken out of service.' },
    'final-weights': { description: 'JSON object of final traffic weights by version.' },
    'rollback-ms': { description: 'Milliseconds from the start of the rollback to verified 100% on the version returned to.' },
    'decision-log': { description: 'JSON array of the decisions recorded.' },
    'environment-url': { description: 'The environment-url input, for the deployment records of later jobs.' },
  },
});
