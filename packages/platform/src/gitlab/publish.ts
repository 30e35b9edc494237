// Shows a step's result where GitLab shows it: dotenv outputs, report artifacts, the MR note and a
// commit status. The dotenv and junit reports always land, also when the step could not run; API
// calls are optional and only warn when they fail.
import { mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { errorMessage, type Logger, type StepName, type StepResult } from '@ferry/core';
import { stepMarkdown } from '../render/markdown.js';
import { API_TIMEOUT_MS, gitlabClient, responseStatus, setCommitStatus, upsertMergeRequestNote } from './api.js';
import { dotenvText } from './dotenv.js';
import type { GitLabEnvironment } from './environment.js';
import { codeQualityJson, junitErrorXml, junitXml, k6Summary, openMetrics } from './reports.js';

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

/**
 * Findings under the project directory with project-relative paths: GitLab links code-quality
 * locations relative to the repository, and its fingerprints and test names must not change with
 * the runner's build directory, or every pipeline would show all issues as new.
 */
function withProjectPaths(result: StepResult, projectDir: string): StepResult {
  const findings = result.findings.map((f) => {
    if (f.file === undefined || !isAbsolute(f.file)) return f;
    const rel = relative(projectDir, f.file);
    return rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel) ? f : { ...f, file: rel.split(sep).join('/') };
  });
  return { ...result, findings };
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
    const omitted = (output: string, bytes: number): void =>
      opts.logger.warn(`output ${output} (${bytes} bytes) left out of ${files.dotenv}: GitLab refuses dotenv reports of 5 KiB or more; it is in ${files.result}`);
    write(opts.reportDir, files.dotenv, dotenvText(step, { ...r.outputs, 'report-path': files.result }, omitted));
    write(opts.reportDir, files.result, `${JSON.stringify(r, null, 2)}\n`);
    const shown = withProjectPaths(r, opts.reportDir);
    write(opts.reportDir, files.junit, junitXml(shown));
    write(opts.reportDir, files.codequality, codeQualityJson(shown));
    write(opts.reportDir, files.metrics, openMetrics(r));
    if (r.loadPerformance) write(opts.reportDir, files.loadPerformance, k6Summary(r.loadPerformance));
  } else {
    write(opts.reportDir, files.dotenv, dotenvText(step, { verdict: 'error' }));
    write(opts.reportDir, files.junit, junitErrorXml(step, outcome.error));
  }
  const wantsNote = opts.note && opts.env.mergeRequestIid !== undefined;
  const wantsStatus = opts.status && opts.env.sha !== '';
  if (!wantsNote && !wantsStatus) return;
  if (opts.env.jobToken) opts.logger.setSecret(opts.env.jobToken);
  if (!opts.token || opts.token === opts.env.jobToken) {
    opts.logger.info(missingToken(step, { note: wantsNote, status: wantsStatus, jobToken: opts.token !== undefined }));
    return;
  }
  opts.logger.setSecret(opts.token);
  const api = await gitlabClient(opts.token, opts.env);
  const verdict = 'result' in outcome ? outcome.result.verdict : 'error';
  const headline = 'result' in outcome ? outcome.result.headline : outcome.error;
  const markdown = 'result' in outcome ? stepMarkdown(outcome.result) : `### ${step}: ❌ error\n\n${outcome.error}`;
  if (wantsStatus) {
    try {
      await setCommitStatus(api, opts.env, step, verdict, headline);
    } catch (err: unknown) {
      opts.logger.warn(`could not set the commit status "ferry / ${step}": ${apiFailure(err, opts.env)}`);
    }
  }
  if (wantsNote) {
    try {
      await upsertMergeRequestNote(api, opts.env, step, markdown);
    } catch (err: unknown) {
      opts.logger.warn(`could not update the merge-request note: ${apiFailure(err, opts.env)}`);
    }
  }
}

/**
 * The one line a job without a usable token prints: what is skipped, why, and what to set. The
 * input is named as the template's `gitlab_token`, which reads the masked CI/CD variable
 * FERRY_GITLAB_TOKEN by default.
 */
function missingToken(step: StepName, what: { note: boolean; status: boolean; jobToken: boolean }): string {
  const skipped = [what.note ? 'the merge-request note' : '', what.status ? `the commit status "ferry / ${step}"` : ''].filter(Boolean).join(' and ');
  const why = what.jobToken ? 'the gitlab_token input is CI_JOB_TOKEN, and CI_JOB_TOKEN cannot post' : 'no gitlab_token input, and CI_JOB_TOKEN cannot post';
  return (
    `${why} merge-request notes or commit statuses: ${skipped} skipped. ` +
    'To get them, store a project access token (api scope, Developer role) in the masked CI/CD variable FERRY_GITLAB_TOKEN, ' +
    'which the gitlab_token input (FERRY_INPUT_GITLAB_TOKEN, --gitlab-token) reads by default.'
  );
}

/** Why an API call failed, with what to check when GitLab refused the token. */
function apiFailure(err: unknown, env: GitLabEnvironment): string {
  if (err instanceof Error && err.name === 'GitbeakerTimeoutError') return `no answer from ${env.apiUrl} in ${API_TIMEOUT_MS / 1000} s`;
  const status = responseStatus(err);
  const message = errorMessage(err);
  if (status === 401) return `${message} (GitLab refused the gitlab_token: is it revoked, expired or mistyped?)`;
  if (status === 403) return `${message} (the gitlab_token needs the api scope and at least the Developer role in this project)`;
  return message;
}
