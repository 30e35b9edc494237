// The repository's own GitHub workflows pass actionlint, pin third-party actions by commit, and call
// this repository's actions (./actions/<step>) only with inputs their action.yml declares.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { lintWorkflow } from '../support/actionlint.js';
import { REPO_ROOT } from '../support/repo.js';

const WORKFLOWS_DIR = join(REPO_ROOT, '.github/workflows');
const workflows = readdirSync(WORKFLOWS_DIR).filter((f) => /\.ya?ml$/.test(f)).sort();

interface Step {
  uses?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  permissions?: unknown;
  jobs: Record<string, { permissions?: unknown; steps?: Step[] }>;
}

function load(file: string): { source: string; workflow: Workflow } {
  const source = readFileSync(join(WORKFLOWS_DIR, file), 'utf8');
  return { source, workflow: parse(source) as Workflow };
}

function steps(workflow: Workflow): { job: string; step: Step }[] {
  return Object.entries(workflow.jobs).flatMap(([job, j]) => (j.steps ?? []).map((step) => ({ job, step })));
}

describe('repository workflows', () => {
  it('are the CI and model-pipeline workflows', () => {
    expect(workflows).toEqual(['ci.yml', 'model-pipeline.yml']);
  });

  it.each(workflows)('%s: actionlint reports nothing', async (file) => {
    const { source } = load(file);
    const findings = await lintWorkflow(source, `.github/workflows/${file}`);
    expect(findings.map((f) => `${file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`)).toEqual([]);
  });

  it.each(workflows)('%s: third-party actions are pinned to a full commit, with the release in a comment', (file) => {
    const { source, workflow } = load(file);
    const remote = steps(workflow).map((s) => s.step.uses).filter((u): u is string => u !== undefined && !u.startsWith('./'));
    expect(remote.length).toBeGreaterThan(0);
    for (const uses of remote) expect(uses).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
    for (const line of source.split('\n').filter((l) => /uses: [\w.-]+\/[\w.-]+@/.test(l))) expect(line).toMatch(/@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
  });

  it.each(workflows)('%s: the default token gets no more than read access unless a job asks', (file) => {
    const { workflow } = load(file);
    expect(['{}', '{"contents":"read"}']).toContain(JSON.stringify(workflow.permissions));
    for (const [name, job] of Object.entries(workflow.jobs)) {
      const granted = Object.entries((job.permissions ?? {}) as Record<string, string>).filter(([, v]) => v === 'write').map(([k]) => k);
      expect(granted.every((p) => ['checks', 'pull-requests', 'deployments', 'packages'].includes(p)), `${file} job ${name}: ${granted.join(', ')}`).toBe(true);
    }
  });

  it.each(workflows)("%s: ./actions/<step> gets only inputs its action.yml declares, and every required one", (file) => {
    const { workflow } = load(file);
    for (const { job, step } of steps(workflow).filter((s) => s.step.uses?.startsWith('./'))) {
      const action = parse(readFileSync(join(REPO_ROOT, step.uses!, 'action.yml'), 'utf8')) as { inputs: Record<string, { required?: boolean }> };
      const given = Object.keys(step.with ?? {});
      expect(given.filter((k) => !(k in action.inputs)), `${file} job ${job}: ${step.uses}`).toEqual([]);
      const required = Object.entries(action.inputs).filter(([, d]) => d.required).map(([k]) => k);
      expect(required.filter((k) => !given.includes(k)), `${file} job ${job}: ${step.uses}`).toEqual([]);
    }
  });
});

describe('the workflow lint', () => {
  // A lint that cannot fail proves nothing: each of these must be reported.
  const broken: [string, string, string][] = [
    ['an untrusted pull-request title in a script', 'run: echo "${{ github.event.pull_request.title }}"', 'potentially untrusted'],
    ['an undeclared runner label', 'run: echo hi', 'label "tpu" is unknown'],
    ['a job output that does not exist', 'run: echo "${{ needs.nothing.outputs.digest }}"', 'property "nothing" is not defined'],
  ];

  it.each(broken)('reports %s', async (_what, step, expected) => {
    const runsOn = expected.includes('tpu') ? '[self-hosted, tpu]' : '[self-hosted, gpu]';
    const source = ['on: pull_request', 'permissions: {}', 'jobs:', '  bench:', `    runs-on: ${runsOn}`, '    steps:', `      - ${step}`, ''].join('\n');
    const findings = await lintWorkflow(source, 'broken.yml');
    expect(findings.map((f) => f.message).join('\n')).toContain(expected);
  });

  it('accepts the declared gpu label, which actionlint alone rejects', async () => {
    const source = ['on: push', 'jobs:', '  bench:', '    runs-on: [self-hosted, gpu]', '    steps:', '      - run: nvidia-smi', ''].join('\n');
    expect(await lintWorkflow(source, 'gpu.yml')).toEqual([]);
  });
});
