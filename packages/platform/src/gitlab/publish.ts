// Shows a step's result where GitLab shows it: dotenv outputs, report artifacts, the MR note and a
// commit status. The dotenv and junit reports always land, also when the step could not run; API
// calls are optional and only warn when they fail.
import { mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { errorMessage, type Logger, type StepName, type StepResult } from '@ferry/core';
import { stepMarkdown } from '../render/markdown.js';
import { gitlabClient, setCommitStatus, upsertMergeRequestNote } from './api.js';
import { dotenvText } from './dotenv.js';
import type { GitLabEnvironment } from './environment.js';
import { codeQualityJson, junitErrorXml, junitXml, openMetrics } from './reports.js';

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
  } else {
    write(opts.reportDir, files.dotenv, dotenvText(step, { verdict: 'error' }));
    write(opts.reportDir, files.junit, junitErrorXml(step, outcome.error));
  }
  if (!opts.token) {
    if (opts.note || opts.status) opts.logger.info('no gitlab-token: merge-request note and commit status skipped (CI_JOB_TOKEN cannot post notes)');
    return;
  }
  opts.logger.setSecret(opts.token);
  const api = await gitlabClient(opts.token, opts.env);
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
