// One place that builds the octokit client, so the API base URL (GHES, or the test fake) and the
// token are handled the same way by every call.
import { getOctokit } from '@actions/github';

export type GitHubClient = ReturnType<typeof getOctokit>;

export function githubClient(token: string, apiUrl: string): GitHubClient {
  return getOctokit(token, { baseUrl: apiUrl });
}
