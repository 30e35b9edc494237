// What a GitLab job knows about where it runs, from its predefined CI/CD variables.

export interface GitLabEnvironment {
  readonly apiUrl: string;
  readonly projectId: string;
  readonly sha: string;
  readonly mergeRequestIid: number | undefined;
  readonly jobUrl: string | undefined;
  readonly pipelineId: number | undefined;
  readonly projectDir: string;
  /** CI_JOB_TOKEN, only to recognise it when it is given as the gitlab-token; it is never sent. */
  readonly jobToken: string | undefined;
}

export function isGitLabCi(env: Readonly<Record<string, string | undefined>>): boolean {
  return env.GITLAB_CI === 'true';
}

export function readGitLabEnvironment(env: Readonly<Record<string, string | undefined>>): GitLabEnvironment {
  const iid = env.CI_MERGE_REQUEST_IID ? Number(env.CI_MERGE_REQUEST_IID) : undefined;
  const pipeline = env.CI_PIPELINE_ID ? Number(env.CI_PIPELINE_ID) : undefined;
  return {
    apiUrl: env.CI_API_V4_URL ?? `${env.CI_SERVER_URL ?? 'https://gitlab.com'}/api/v4`,
    projectId: env.CI_PROJECT_ID ?? '',
    sha: env.CI_COMMIT_SHA ?? '',
    mergeRequestIid: iid !== undefined && Number.isInteger(iid) ? iid : undefined,
    jobUrl: env.CI_JOB_URL,
    pipelineId: pipeline !== undefined && Number.isInteger(pipeline) ? pipeline : undefined,
    projectDir: env.CI_PROJECT_DIR ?? process.cwd(),
    jobToken: env.CI_JOB_TOKEN || undefined,
  };
}
