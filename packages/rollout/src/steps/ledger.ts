// The deployment records people look at (GitHub Deployments) mirror what the target holds. They
// are a courtesy: a failure to write one is a warning in the log, never a failed or reversed rollout.
import { errorMessage, type DeploymentRecord, type DeploymentState, type StepContext } from '@ferry/core';

export class LedgerMirror {
  constructor(
    private readonly ctx: StepContext,
    /** The environment's URL, linked from every status (empty: none). */
    private readonly url = '',
  ) {}

  async start(environment: string, version: string, description: string): Promise<DeploymentRecord | undefined> {
    const ledger = this.ctx.ledger;
    if (!ledger) return undefined;
    try {
      return await ledger.start(environment, version, description);
    } catch (error) {
      this.ctx.logger.warn(`could not create the deployment record for ${environment}: ${errorMessage(error)}`);
      return undefined;
    }
  }

  async update(record: DeploymentRecord | undefined, state: DeploymentState, description: string): Promise<void> {
    const ledger = this.ctx.ledger;
    if (!ledger || !record) return;
    try {
      await ledger.update(record, state, description, this.url || undefined);
    } catch (error) {
      this.ctx.logger.warn(`could not set the deployment record of ${record.environment} to ${state}: ${errorMessage(error)}`);
    }
  }
}
