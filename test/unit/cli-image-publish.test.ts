// What scripts/publish-cli-image.sh reads from CI variables: the tags it pushes and the login it uses.
import { describe, expect, it } from 'vitest';
import { publishTags, registryCredentialsFromEnv } from '@ferry/image';

describe('publishTags', () => {
  it.each([
    ['a branch build', {}, ['1.4.2']],
    ['GitLab release tag', { CI_COMMIT_TAG: 'v1.4.2' }, ['1.4.2', '1.4']],
    ['release tag without v', { CI_COMMIT_TAG: '1.4.2' }, ['1.4.2', '1.4']],
    ['GitHub release tag', { GITHUB_REF_TYPE: 'tag', GITHUB_REF_NAME: 'v1.4.2' }, ['1.4.2', '1.4']],
    ['GitHub branch', { GITHUB_REF_TYPE: 'branch', GITHUB_REF_NAME: 'v1.4.2' }, ['1.4.2']],
    ['a tag that is not semver', { CI_COMMIT_TAG: 'nightly' }, ['1.4.2']],
  ])('%s', (_, env, tags) => {
    expect(publishTags('1.4.2', env)).toEqual(tags);
  });

  it('a pre-release tag adds no <major>.<minor>', () => {
    expect(publishTags('2.0.0-rc.1', { CI_COMMIT_TAG: 'v2.0.0-rc.1' })).toEqual(['2.0.0-rc.1']);
  });

  it('a release tag naming another version is refused, naming both', () => {
    expect(() => publishTags('1.4.2', { CI_COMMIT_TAG: 'v1.5.0' })).toThrow(/release tag v1\.5\.0 does not match the version in package\.json \(1\.4\.2\)/);
  });
});

describe('registryCredentialsFromEnv', () => {
  const gitlab = { CI_REGISTRY: 'registry.gitlab.com', CI_REGISTRY_USER: 'gitlab-ci-token', CI_REGISTRY_PASSWORD: 'job-secret' };
  it.each([
    ['explicit login', 'registry.gitlab.com', { ...gitlab, FERRY_CLI_REGISTRY_USERNAME: 'bot', FERRY_CLI_REGISTRY_PASSWORD: 's' }, { username: 'bot', password: 's' }],
    ["GitLab's registry login for its own registry", 'registry.gitlab.com', gitlab, { username: 'gitlab-ci-token', password: 'job-secret' }],
    ["not GitLab's login for another registry", 'ghcr.io', gitlab, undefined],
    ['nothing: the docker config file', 'ghcr.io', {}, undefined],
  ])('%s', (_, registry, env, expected) => {
    expect(registryCredentialsFromEnv(registry, env)).toEqual(expected);
  });

  it('half a login is an error naming the missing variable', () => {
    expect(() => registryCredentialsFromEnv('ghcr.io', { FERRY_CLI_REGISTRY_USERNAME: 'bot' })).toThrow("FERRY_CLI_REGISTRY_USERNAME is set but FERRY_CLI_REGISTRY_PASSWORD is not");
  });
});
