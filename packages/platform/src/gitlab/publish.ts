// Shows a step's result where GitLab shows it: dotenv outputs, report artifacts, the MR note and a
// commit status. Report files always land; API calls are optional and only warn when they fail.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, type Logger, type StepName, type StepResult } from '@ferry/core';
import { stepMarkdown } from '../render/markdown.js';
import { gitlabClient, setCommitStatus, upsertMergeRequestNote } from './api.js';
import { dotenvText } from './dotenv.js';
import type { GitLabEnvironment } from './environment.js';
import { codeQualityJson, junitXml, openMetrics } from './reports.js';

export interface GitLabPublishOptions {
  readonly env: GitLabEnvironment;
  readonly logger: Logger;
  readonly token: string | undefined;
  readonly note: boolean;
  readonly status: boolean;
  /** Where report files go; the templates point their `artifacts:reports` here. */
  readonly reportDir: string;
}

/** Paths of the report files a step writes, relative to the project directory. */
export function reportFiles(step: StepName): { dotenv: string; junit: string; codequality: string; metrics: string; loadPerformance: string; result: string } {
  const dir = `.ferry/${step}`;
  return {
    dotenv: `${dir}/outputs.env`,
    junit: `${dir}/junit.xml`,
    codequality: `${dir}/codequality.json`,
    metrics: `${dir}/metrics.txt`,
    loadPerformance: `${dir}/load-performance.json`,
    result: `${dir}/result.json`,
  };
}

function write(base: string, rel: string, text: string): void {
  const file = join(base, rel);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
}

export async function publishGitLab(step: StepName, outcome: { result: StepResult } | { error: string }, opts: GitLabPublishOptions): Promise<void> {
  const files = reportFiles(step);
  if ('result' in outcome) {
    const r = outcome.result;
    write(opts.reportDir, files.dotenv, dotenvText(step, { ...r.outputs, 'report-path': files.result }));
    write(opts.reportDir, files.result, `${JSON.stringify(r, null, 2)}\n`);
    write(opts.reportDir, files.junit, junitXml(r));
    write(opts.reportDir, files.codequality, codeQualityJson(r));
    write(opts.reportDir, files.metrics, openMetrics(r));
  } else {
    write(opts.reportDir, files.dotenv, dotenvText(step, { verdict: 'error' }));
  }
  if (!opts.token) {
    if (opts.note || opts.status) opts.logger.info('no gitlab-token: merge-request note and commit status skipped (CI_JOB_TOKEN cannot post notes)');
    return;
  }
  opts.logger.setSecret(opts.token);
  const api = gitlabClient(opts.token, opts.env);
  const verdict = 'result' in outcome ? outcome.result.verdict : 'error';
  const headline = 'result' in outcome ? outcome.result.headline : outcome.error;
  const markdown = 'result' in outcome ? stepMarkdown(outcome.result) : `### ${step}: ❌ error\n\n${outcome.error}`;
  if (opts.status && opts.env.sha) {
    try {
      await setCommitStatus(api, opts.env, step, verdict, headline);
    } catch (err: unknown) {
      opts.logger.warn(`could not set the commit status "ferry / ${step}": ${errorMessage(err)}`);
    }
  }
  if (opts.note && opts.env.mergeRequestIid !== undefined) {
    try {
      await upsertMergeRequestNote(api, opts.env, step, markdown);
    } catch (err: unknown) {
      opts.logger.warn(`could not update the merge-request note: ${errorMessage(err)}`);
    }
  }
}
