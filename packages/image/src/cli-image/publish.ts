// What publishing the CLI image reads from the CI environment: the tags (the version, and on a
// release tag also <major>.<minor>, which the GitLab templates' users can pin to) and the registry
// credentials (never logged: they only ever reach the registry client).
import { InputError } from '@ferry/core';
import type { RegistryCredentials } from '../oci/index.js';

type Env = Readonly<Record<string, string | undefined>>;

const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** The git tag this job runs for, from GitLab's or GitHub's variables; undefined on a branch. */
export function releaseTag(env: Env): string | undefined {
  if (env.CI_COMMIT_TAG) return env.CI_COMMIT_TAG;
  if (env.GITHUB_REF_TYPE === 'tag' && env.GITHUB_REF_NAME) return env.GITHUB_REF_NAME;
  return undefined;
}

/**
 * Tags to push: always the version; on a semver release tag (which must name that version, so a
 * forgotten version bump cannot overwrite an older release) also <major>.<minor>, unless it is a
 * pre-release. A tag that is not semver (a nightly, say) adds nothing.
 */
export function publishTags(version: string, env: Env): string[] {
  const tag = releaseTag(env);
  if (tag === undefined) return [version];
  const m = SEMVER.exec(tag);
  if (m === null) return [version];
  const tagged = tag.replace(/^v/, '');
  if (tagged !== version) {
    throw new InputError(`release tag ${tag} does not match the version in package.json (${version}): bump the version or tag v${version}`, { subject: 'CI_COMMIT_TAG' });
  }
  return m[4] === undefined ? [version, `${m[1]}.${m[2]}`] : [version];
}

/**
 * FERRY_CLI_REGISTRY_USERNAME/PASSWORD; else GitLab's CI_REGISTRY_USER/CI_REGISTRY_PASSWORD when the
 * repository is on $CI_REGISTRY; else undefined (the docker config file is read).
 */
export function registryCredentialsFromEnv(registry: string, env: Env): RegistryCredentials | undefined {
  const username = env.FERRY_CLI_REGISTRY_USERNAME;
  const password = env.FERRY_CLI_REGISTRY_PASSWORD;
  if (username && !password) throw new InputError('FERRY_CLI_REGISTRY_USERNAME is set but FERRY_CLI_REGISTRY_PASSWORD is not', { subject: 'FERRY_CLI_REGISTRY_PASSWORD' });
  if (password && !username) throw new InputError('FERRY_CLI_REGISTRY_PASSWORD is set but FERRY_CLI_REGISTRY_USERNAME is not', { subject: 'FERRY_CLI_REGISTRY_USERNAME' });
  if (username && password) return { username, password };
  if (env.CI_REGISTRY && env.CI_REGISTRY === registry && env.CI_REGISTRY_USER && env.CI_REGISTRY_PASSWORD) {
    return { username: env.CI_REGISTRY_USER, password: env.CI_REGISTRY_PASSWORD };
  }
  return undefined;
}
