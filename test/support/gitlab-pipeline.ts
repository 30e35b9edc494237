// Runs a whole user pipeline under gitlab-ci-local the way a GitLab shell runner in a merge-request
// pipeline would: the job environment gets the project's CI/CD variables and GitLab's predefined
// ones (API URL, project, merge request, registry), replacing the values gitlab-ci-local makes up.
import type { Workspace } from './gitlab-ci-local.js';

/**
 * gitlab-ci-local flags for a shell-executor run with `variables` set as CI/CD variables. Names
 * gitlab-ci-local predefines itself (CI_REGISTRY_IMAGE, CI_PROJECT_ID, …) are listed in
 * --ignore-predefined-vars so the given value wins; GITLAB_CI=true and CI_PROJECT_DIR as in
 * shellRunnerArgs (see there for why).
 */
export function pipelineRunnerArgs(ws: Workspace, variables: Readonly<Record<string, string>>): string[] {
  const all: Record<string, string> = { GITLAB_CI: 'true', CI_PROJECT_DIR: ws.repo, ...variables };
  const args = ['--force-shell-executor'];
  for (const [name, value] of Object.entries(all)) args.push('--variable', `${name}=${value}`);
  args.push('--ignore-predefined-vars', Object.keys(all).join(','));
  return args;
}
