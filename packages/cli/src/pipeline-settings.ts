// What each step gets from ferry.yml under `ferry pipeline`: the file's settings first, then what
// the pipeline knows and its embedded defaults where the file is silent; the target settings
// canary-deploy names, shared with promote and rollback; secret inputs from the environment; and
// the build and podman settings of a version's image.
import {
  canaryDeployDefinition,
  InputError,
  inputEnvVar,
  promoteDefinition,
  rollbackDefinition,
  type FerryConfig,
  type RawValue,
  type StepName,
} from '@ferry/core';
import type { ImageSource } from './pipeline-podman.js';
import type { BuiltImage } from './pipeline-run.js';
import { STEPS } from './steps.js';

/** True when ferry.yml sets `key` for `step`, under the step or in defaults. */
export function fileSets(config: FerryConfig, step: StepName, key: string): boolean {
  return config.steps[step]?.[key] !== undefined || config.defaults[key] !== undefined;
}

/**
 * Where the rollout happens: set once under canary-deploy, and used by promote and rollback too.
 * Every setting the three steps share (target, HAProxy, Kubernetes: namespace, route, image, ...).
 */
const TARGET_KEYS = Object.keys(canaryDeployDefinition.inputs).filter((k) => k in promoteDefinition.inputs && k in rollbackDefinition.inputs);

/** The target settings of canary-deploy in ferry.yml, for promote and rollback where their own sections leave them out. */
export function targetSettings(config: FerryConfig, step: 'promote' | 'rollback'): Record<string, RawValue> {
  const out: Record<string, RawValue> = {};
  for (const key of TARGET_KEYS) {
    const value = config.steps['canary-deploy']?.[key];
    if (value !== undefined && config.steps[step]?.[key] === undefined) out[key] = value;
  }
  return out;
}

/**
 * Secret inputs (kubeconfig, registry-password, router-token) cannot be in ferry.yml: the pipeline
 * takes them from FERRY_INPUT_<NAME>, as `ferry <step> --from-env` does.
 */
export function secretsFromEnv(step: StepName, env: Readonly<Record<string, string | undefined>>): Record<string, RawValue> {
  const out: Record<string, RawValue> = {};
  for (const [name, decl] of Object.entries(STEPS[step].definition.inputs)) {
    const value = env[inputEnvVar(name)];
    if ((decl as { secret?: boolean }).secret === true && value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

/** Values ferry.yml left out, from the embedded defaults; the file always wins. */
export function defaultsFor(config: FerryConfig, step: StepName, values: Record<string, RawValue>): Record<string, RawValue> {
  return Object.fromEntries(Object.entries(values).filter(([k]) => !fileSets(config, step, k)));
}


/** The build settings for a version's image: the pipeline's defaults where ferry.yml leaves them out. */
export function buildValues(config: FerryConfig, modelPath: string, version: string, layout: string): Record<string, RawValue> {
  const pipeline = config.pipeline!;
  const pushes = fileSets(config, 'build-serving-image', 'image');
  return {
    'model-path': modelPath,
    ...defaultsFor(config, 'build-serving-image', {
      'model-name': pipeline.modelName,
      'model-version': version,
      // Served by podman, the image must run: the runtime's own base (its pinned image), unless the
      // file names one. Otherwise the model layers alone are enough to record and push.
      ...(pushes ? {} : { output: layout, ...(pipeline.serveWith === 'podman' ? {} : { 'base-image': 'scratch' }) }),
    }),
  };
}

/** Where podman takes a version's image from: the registry the build pushed to, else its OCI layout. */
export function imageSource(built: BuiltImage, inputs: Record<string, unknown>): ImageSource {
  const insecure = inputs['insecure-registry'] === true || inputs['tls-verify'] === false;
  const authFile = typeof inputs['docker-config'] === 'string' && inputs['docker-config'] !== '' ? inputs['docker-config'] : undefined;
  return built.image ? { pushed: built.image, digest: built.digest, tlsVerify: !insecure, ...(authFile ? { authFile } : {}) } : { layout: built.output, digest: built.digest, tlsVerify: true };
}

/** serve-with: podman runs the built image; a scratch base has no server in it. */
export function checkServeWith(config: FerryConfig): void {
  const pipeline = config.pipeline!;
  if (pipeline.serveWith !== 'podman') return;
  const base = config.steps['build-serving-image']?.['base-image'] ?? config.defaults['base-image'];
  if (base === 'scratch') {
    throw new InputError(`${config.path}: pipeline.serve-with is podman, but build-serving-image.base-image is scratch: the image would hold the model files only, with no server to run; name a runnable base (the runtime's, or oci:DIR:TAG built by scripts/build-ferry-base.sh) or leave base-image out`, {
      subject: 'pipeline.serve-with',
    });
  }
}
