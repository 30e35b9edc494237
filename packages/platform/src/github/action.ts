// The GitHub Action door: read inputs, run the step, then show the result where GitHub shows it
// (outputs, job summary, check run with annotations, the sticky PR comment). One failure boundary.
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as core from '@actions/core';
import { appliesTo, errorMessage, type AnyStep, type InputDeclarations, type RawInputs, type StepResult } from '@ferry/core';
import { executeStep } from '../execute.js';
import { stepMarkdown } from '../render/markdown.js';
import { checkContent, publishCheckRun, type CheckRunContent } from './checks.js';
import { upsertReportComment } from './comment.js';
import { readGitHubEnvironment, type GitHubEnvironment } from './environment.js';
import { githubLogger } from './logger.js';
import { githubClient } from './octokit.js';
import { GitHubDeploymentLedger } from './deployments.js';

/** Reads every declared input; action.yml carries no defaults, so unset means '' and ferry.yml can apply. */
export function readActionInputs(step: AnyStep): RawInputs {
  const values: Record<string, string> = {};
  for (const [name, decl] of Object.entries(step.definition.inputs as InputDeclarations)) {
    if (!appliesTo(decl, 'github')) continue;
    const v = core.getInput(name);
    if (v !== '') values[name] = v;
  }
  return { platform: 'github', values, describe: (name) => `input "${name}"` };
}

function writeResultFile(result: StepResult): string {
  // Outside a runner the result goes to the temp dir, never into the user's checkout.
  const dir = join(process.env.RUNNER_TEMP ?? tmpdir(), 'ferry');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${result.step}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/** Optional publishing never fails the step: a missing permission becomes a warning. */
async function optional(what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err: unknown) {
    core.warning(`could not ${what}: ${errorMessage(err)}`);
  }
}

async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  await optional('write the job summary', () => core.summary.addRaw(markdown, true).write());
}

async function publish(step: AnyStep, env: GitHubEnvironment, inputs: RawInputs, content: CheckRunContent, markdown: string): Promise<void> {
  const token = typeof inputs.values['github-token'] === 'string' ? inputs.values['github-token'] : '';
  const wantsCheck = inputs.values['check-run'] !== 'false';
  const wantsComment = inputs.values['report-comment'] !== 'false';
  if (!token) {
    core.notice('no github-token: check run and pull-request report skipped');
    return;
  }
  const gh = githubClient(token, env.apiUrl);
  if (wantsCheck && env.headSha) await optional(`create the check run "ferry / ${step.definition.name}"`, () => publishCheckRun(gh, env, content));
  if (wantsComment && env.pullNumber !== undefined) {
    await optional('update the pull-request report comment', () => upsertReportComment(gh, env, env.pullNumber ?? 0, step.definition.name, markdown));
  }
}

export async function runAction(step: AnyStep): Promise<void> {
  const name = step.definition.name;
  const controller = new AbortController();
  const cancel = (): void => controller.abort(new Error('the job was cancelled'));
  process.once('SIGINT', cancel);
  process.once('SIGTERM', cancel);
  const env = readGitHubEnvironment(process.env);
  let inputs: RawInputs;
  try {
    inputs = readActionInputs(step);
  } catch (err: unknown) {
    core.setFailed(`${name}: ${errorMessage(err)}`);
    return;
  }
  // Rollout steps mirror what they did into GitHub Deployments; a ledger failure never stops them.
  const token = typeof inputs.values['github-token'] === 'string' ? inputs.values['github-token'] : '';
  const ledger = token && ['canary-deploy', 'promote', 'rollback'].includes(name) && env.owner ? new GitHubDeploymentLedger(githubClient(token, env.apiUrl), env) : undefined;
  const execution = await executeStep(step, { raw: inputs, cwd: process.cwd(), env: process.env, logger: githubLogger(), signal: controller.signal, ...(ledger ? { ledger } : {}) });
  if (!execution.ok) {
    core.setOutput('verdict', 'error');
    const markdown = `### ${name}: ❌ error\n\n${execution.message}`;
    await writeSummary(markdown);
    await publish(step, env, inputs, { step: name, verdict: 'error', title: execution.message, summary: markdown, findings: [] }, markdown);
    core.setFailed(execution.message);
    return;
  }
  const { result } = execution;
  const reportPath = writeResultFile(result);
  for (const [key, value] of Object.entries({ ...result.outputs, 'report-path': reportPath })) core.setOutput(key, value);
  const markdown = stepMarkdown(result);
  await writeSummary(markdown);
  if (inputs.values['check-run'] === 'false' || typeof inputs.values['github-token'] !== 'string') {
    // Without a check run, findings still reach the diff as workflow annotations.
    for (const f of result.findings) {
      const props = f.file ? { file: f.file, ...(f.line ? { startLine: f.line } : {}), title: f.rule } : { title: f.rule };
      if (f.severity === 'critical' || f.severity === 'high') core.error(f.message, props);
      else if (f.severity === 'medium') core.warning(f.message, props);
      else core.notice(f.message, props);
    }
  }
  await publish(step, env, inputs, checkContent(result, markdown), markdown);
  if (result.verdict !== 'pass') core.setFailed(`${name}: ${result.verdict}: ${result.headline}`);
}
