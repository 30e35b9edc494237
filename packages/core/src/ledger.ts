// Deployment records that mirror rollout state for people (GitHub Deployments, GitLab environments).
// The target itself holds the truth; a ledger failure never blocks or reverses a rollout.

export type DeploymentState = 'in_progress' | 'success' | 'failure' | 'inactive' | 'error';

export interface DeploymentRecord {
  readonly id: string;
  readonly environment: string;
  readonly ref: string;
  readonly version: string;
  readonly state: DeploymentState | undefined;
  readonly createdAt: string;
}

export interface DeploymentLedger {
  /** Opens a record for `version` rolling out to `environment`. */
  start(environment: string, version: string, description: string): Promise<DeploymentRecord>;
  /** Adds a status to a record; `logUrl` links the job, `environmentUrl` the live service. */
  update(record: DeploymentRecord, state: DeploymentState, description: string, environmentUrl?: string): Promise<void>;
  /** The newest successful record for `environment` other than `excludeVersion`: where rollback goes. */
  previousSuccessful(environment: string, excludeVersion?: string): Promise<DeploymentRecord | undefined>;
}
