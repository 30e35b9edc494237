// GitHub Deployments as the ledger people see: a deployment per rollout, with statuses and log URL.
import type { DeploymentLedger, DeploymentRecord, DeploymentState } from '@ferry/core';
import type { GitHubEnvironment } from './environment.js';
import type { GitHubClient } from './octokit.js';

export class GitHubDeploymentLedger implements DeploymentLedger {
  constructor(
    private readonly gh: GitHubClient,
    private readonly env: GitHubEnvironment,
  ) {}

  async start(environment: string, version: string, description: string): Promise<DeploymentRecord> {
    const res = await this.gh.rest.repos.createDeployment({
      owner: this.env.owner,
      repo: this.env.repo,
      ref: this.env.headSha || this.env.ref,
      environment,
      description: description.slice(0, 140),
      auto_merge: false,
      required_contexts: [],
      transient_environment: environment.endsWith('-canary'),
      production_environment: !environment.endsWith('-canary'),
      payload: { version, tool: 'ferry' },
    });
    if (!('id' in res.data)) throw new Error(`GitHub did not create the deployment: ${res.data.message ?? 'no reason given'}`);
    const d = res.data;
    return { id: String(d.id), environment, ref: d.ref, version, state: undefined, createdAt: d.created_at };
  }

  async update(record: DeploymentRecord, state: DeploymentState, description: string, environmentUrl?: string): Promise<void> {
    await this.gh.rest.repos.createDeploymentStatus({
      owner: this.env.owner,
      repo: this.env.repo,
      deployment_id: Number(record.id),
      state,
      description: description.slice(0, 140),
      ...(this.env.runUrl ? { log_url: this.env.runUrl } : {}),
      ...(environmentUrl ? { environment_url: environmentUrl } : {}),
      auto_inactive: state === 'success',
    });
  }

  async previousSuccessful(environment: string, excludeVersion?: string): Promise<DeploymentRecord | undefined> {
    const deployments = await this.gh.rest.repos.listDeployments({ owner: this.env.owner, repo: this.env.repo, environment, per_page: 30 });
    for (const d of deployments.data) {
      const payload = (typeof d.payload === 'object' && d.payload !== null ? d.payload : {}) as { version?: unknown };
      const version = typeof payload.version === 'string' ? payload.version : '';
      if (excludeVersion !== undefined && version === excludeVersion) continue;
      const statuses = await this.gh.rest.repos.listDeploymentStatuses({ owner: this.env.owner, repo: this.env.repo, deployment_id: d.id, per_page: 10 });
      // Statuses are newest first; a deployment later marked inactive was still successful once.
      if (statuses.data.some((s) => s.state === 'success' || s.state === 'inactive')) {
        return { id: String(d.id), environment, ref: d.ref, version, state: statuses.data[0]?.state as DeploymentState | undefined, createdAt: d.created_at };
      }
    }
    return undefined;
  }
}
