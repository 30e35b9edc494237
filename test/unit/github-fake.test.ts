// The fake GitHub API that platform tests run against: it must accept what GitHub accepts,
// refuse what GitHub's description forbids (and record why), and only serve schema-valid bodies.
import { getOctokit } from '@actions/github';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GitHubFake } from '../support/github-fake/index.js';
import { OperationIndex } from '../support/github-fake/operations.js';
import { loadSpec } from '../support/github-fake/spec.js';
import { SpecValidator } from '../support/github-fake/validators.js';

const OWNER = 'acme';
const REPO = 'model';
const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const REPO_PATH = `/repos/${OWNER}/${REPO}`;
const AUTH = { authorization: 'token ghs_test' };

interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

let fake: GitHubFake;

async function gh(method: string, path: string, body?: unknown, headers: Record<string, string> = AUTH): Promise<Reply> {
  const init: RequestInit = { method, headers: { accept: 'application/vnd.github+json', ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers = { ...init.headers, 'content-type': 'application/json' };
  }
  const response = await fetch(path.startsWith('http') ? path : `${fake.url}${path}`, init);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
}

beforeAll(async () => {
  fake = await GitHubFake.start();
});
afterAll(async () => {
  await fake?.stop();
});
beforeEach(() => {
  fake.reset();
});

describe('valid calls succeed and round-trip state', () => {
  interface Step {
    name: string;
    method: string;
    path: (ids: Record<string, number>) => string;
    body?: unknown;
    status: number;
    /** Saves an id from the response for later steps. */
    save?: string;
    check?: (reply: Reply) => void;
  }

  const steps: Step[] = [
    {
      name: 'create a check run',
      method: 'POST',
      path: () => `${REPO_PATH}/check-runs`,
      body: {
        name: 'ferry/validate-model',
        head_sha: SHA,
        status: 'in_progress',
        output: {
          title: 'Validating',
          summary: 'Scanning model.safetensors',
          annotations: [{ path: 'model.py', start_line: 3, end_line: 3, annotation_level: 'warning', message: 'pickle import' }],
        },
      },
      status: 201,
      save: 'checkRun',
      check: ({ body }) => {
        expect(body).toMatchObject({ name: 'ferry/validate-model', head_sha: SHA, status: 'in_progress', conclusion: null });
        expect(body.output.annotations_count).toBe(1);
        expect(body.url).toBe(`${fake.url}${REPO_PATH}/check-runs/${body.id}`);
      },
    },
    {
      name: 'complete the check run',
      method: 'PATCH',
      path: (ids) => `${REPO_PATH}/check-runs/${ids.checkRun}`,
      body: { conclusion: 'failure', output: { title: 'Failed', summary: '1 gate failed', text: 'accuracy 0.71 < 0.80' } },
      status: 200,
      check: ({ body }) => {
        expect(body).toMatchObject({ status: 'completed', conclusion: 'failure', output: { title: 'Failed', text: 'accuracy 0.71 < 0.80' } });
        expect(body.completed_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      },
    },
    {
      name: 'list check runs for the commit',
      method: 'GET',
      path: () => `${REPO_PATH}/commits/${SHA}/check-runs?check_name=ferry%2Fvalidate-model`,
      status: 200,
      check: ({ body }) => expect(body).toMatchObject({ total_count: 1, check_runs: [{ conclusion: 'failure' }] }),
    },
    {
      name: 'list check runs for a branch name with a slash (multi-segment ref)',
      method: 'GET',
      path: () => `${REPO_PATH}/commits/heads/feature/x/check-runs`,
      status: 200,
      check: ({ body }) => expect(body).toEqual({ total_count: 0, check_runs: [] }),
    },
    {
      name: 'read the check run annotations',
      method: 'GET',
      path: (ids) => `${REPO_PATH}/check-runs/${ids.checkRun}/annotations`,
      status: 200,
      check: ({ body }) => expect(body).toMatchObject([{ path: 'model.py', annotation_level: 'warning', message: 'pickle import' }]),
    },
    {
      name: 'post the sticky comment',
      method: 'POST',
      path: () => `${REPO_PATH}/issues/7/comments`,
      body: { body: '<!-- ferry -->\n## Ferry report' },
      status: 201,
      save: 'comment',
      check: ({ body }) => expect(body.user.login).toBe('github-actions[bot]'),
    },
    {
      name: 'list comments on the pull request',
      method: 'GET',
      path: () => `${REPO_PATH}/issues/7/comments`,
      status: 200,
      check: ({ body, headers }) => {
        expect(body).toHaveLength(1);
        expect(headers.get('link')).toBeNull();
      },
    },
    {
      name: 'update the sticky comment in place',
      method: 'PATCH',
      path: (ids) => `${REPO_PATH}/issues/comments/${ids.comment}`,
      body: { body: '<!-- ferry -->\n## Ferry report (run 2)' },
      status: 200,
      check: ({ body }) => expect(body.body).toContain('run 2'),
    },
    {
      name: 'read the comment back',
      method: 'GET',
      path: (ids) => `${REPO_PATH}/issues/comments/${ids.comment}`,
      status: 200,
      check: ({ body }) => expect(body.body).toContain('run 2'),
    },
    {
      name: 'create a deployment',
      method: 'POST',
      path: () => `${REPO_PATH}/deployments`,
      body: { ref: SHA, environment: 'staging', auto_merge: false, required_contexts: [], payload: { version: 'v2' }, description: 'canary v2' },
      status: 201,
      save: 'deployment',
      check: ({ body }) =>
        expect(body).toMatchObject({ sha: SHA, environment: 'staging', task: 'deploy', production_environment: false, payload: { version: 'v2' } }),
    },
    {
      name: 'report the deployment in progress',
      method: 'POST',
      path: (ids) => `${REPO_PATH}/deployments/${ids.deployment}/statuses`,
      body: { state: 'in_progress', description: 'canary at 10%', log_url: 'https://ci.example/run/1' },
      status: 201,
      check: ({ body }) => expect(body).toMatchObject({ state: 'in_progress', target_url: 'https://ci.example/run/1', environment: 'staging' }),
    },
    {
      name: 'report the deployment done with no URLs (GitHub answers empty strings)',
      method: 'POST',
      path: (ids) => `${REPO_PATH}/deployments/${ids.deployment}/statuses`,
      body: { state: 'success' },
      status: 201,
      check: ({ body }) => expect(body).toMatchObject({ state: 'success', target_url: '', environment_url: '' }),
    },
    {
      name: 'list deployment statuses, newest first',
      method: 'GET',
      path: (ids) => `${REPO_PATH}/deployments/${ids.deployment}/statuses`,
      status: 200,
      check: ({ body }) => expect(body.map((s: { state: string }) => s.state)).toEqual(['success', 'in_progress']),
    },
    {
      name: 'list deployments filtered by environment, ref and sha',
      method: 'GET',
      path: () => `${REPO_PATH}/deployments?environment=staging&ref=${SHA}&sha=${SHA}`,
      status: 200,
      check: ({ body }) => expect(body).toHaveLength(1),
    },
    {
      name: 'filter deployments to an environment with none',
      method: 'GET',
      path: () => `${REPO_PATH}/deployments?environment=production`,
      status: 200,
      check: ({ body }) => expect(body).toEqual([]),
    },
    {
      name: 'set a commit status',
      method: 'POST',
      path: () => `${REPO_PATH}/statuses/${SHA}`,
      body: { state: 'success', context: 'ferry/benchmark', description: 'p99 41 ms', target_url: 'https://ci.example/run/1' },
      status: 201,
      check: ({ body, headers }) => {
        expect(body).toMatchObject({ state: 'success', context: 'ferry/benchmark' });
        expect(headers.get('location')).toBe(body.url);
      },
    },
    {
      name: 'read a seeded pull request',
      method: 'GET',
      path: () => `${REPO_PATH}/pulls/7`,
      status: 200,
      check: ({ body }) => {
        expect(body).toMatchObject({ number: 7, state: 'open', head: { ref: 'ferry-canary', sha: SHA }, base: { ref: 'main' } });
        expect(body.url).toBe(`${fake.url}${REPO_PATH}/pulls/7`);
      },
    },
    {
      name: 'delete the comment',
      method: 'DELETE',
      path: (ids) => `${REPO_PATH}/issues/comments/${ids.comment}`,
      status: 204,
    },
  ];

  it('runs the whole flow with every response valid against the description', async () => {
    fake.seedPullRequest({ owner: OWNER, repo: REPO, number: 7, headRef: 'ferry-canary', headSha: SHA });
    const ids: Record<string, number> = {};
    for (const step of steps) {
      const reply = await gh(step.method, step.path(ids), step.body);
      expect(reply.status, `${step.name}: ${JSON.stringify(reply.body)}`).toBe(step.status);
      step.check?.(reply);
      if (step.save) ids[step.save] = reply.body.id;
    }
    fake.assertNoViolations();

    expect(fake.checkRuns).toMatchObject([{ id: ids.checkRun, conclusion: 'failure', pull_requests: [{ number: 7 }] }]);
    expect(fake.annotations(ids.checkRun!)).toHaveLength(1);
    expect(fake.comments(OWNER, REPO, 7)).toEqual([]);
    expect(fake.deployments).toMatchObject([{ id: ids.deployment, environment: 'staging' }]);
    expect(fake.deploymentStatuses(ids.deployment!).map((s) => s.state)).toEqual(['in_progress', 'success']);
    expect(fake.statuses).toMatchObject([{ sha: SHA, repo: `${OWNER}/${REPO}`, context: 'ferry/benchmark' }]);
    expect(fake.requests.map((r) => `${r.method} ${r.operationId} ${r.status}`)).toContain('PATCH checks/update 200');
    expect(fake.requests[0]?.body).toMatchObject({ name: 'ferry/validate-model' });
  });
});

describe('requests that break the description are refused and recorded', () => {
  const cases: {
    name: string;
    method: string;
    path: string;
    body?: unknown;
    headers?: Record<string, string>;
    status: number;
    kind: string;
    problem: RegExp;
  }[] = [
    {
      name: 'a conclusion outside the enum',
      method: 'POST',
      path: `${REPO_PATH}/check-runs`,
      body: { name: 'ferry', head_sha: SHA, conclusion: 'passed' },
      status: 422,
      kind: 'request',
      problem: /body\.conclusion is "passed", not one of .*"success"/,
    },
    {
      name: 'a misspelled field (headsha) where the schema leaves the object open',
      method: 'POST',
      path: `${REPO_PATH}/check-runs`,
      body: { name: 'ferry', headsha: SHA },
      status: 422,
      kind: 'request',
      problem: /field 'headsha' that GitHub's schema does not declare/,
    },
    {
      name: 'a missing required name',
      method: 'POST',
      path: `${REPO_PATH}/check-runs`,
      body: { head_sha: SHA },
      status: 422,
      kind: 'request',
      problem: /missing required field 'name'/,
    },
    {
      name: 'a wrong type',
      method: 'POST',
      path: `${REPO_PATH}/check-runs`,
      body: { name: 42, head_sha: SHA },
      status: 422,
      kind: 'request',
      problem: /body\.name must be string, got 42/,
    },
    {
      name: 'a misspelled nested field',
      method: 'POST',
      path: `${REPO_PATH}/check-runs`,
      body: { name: 'ferry', head_sha: SHA, output: { title: 't', summary: 's', sumary: 'x' } },
      status: 422,
      kind: 'request',
      problem: /body\.output has field 'sumary'/,
    },
    {
      name: 'an annotation without its message',
      method: 'POST',
      path: `${REPO_PATH}/check-runs`,
      body: { name: 'ferry', head_sha: SHA, output: { title: 't', summary: 's', annotations: [{ path: 'a', start_line: 1, end_line: 1, annotation_level: 'notice' }] } },
      status: 422,
      kind: 'request',
      problem: /body\.output\.annotations\[0\] is missing required field 'message'/,
    },
    {
      name: 'an undeclared field beside a composed schema (checks/update anyOf)',
      method: 'PATCH',
      path: `${REPO_PATH}/check-runs/1`,
      body: { status: 'completed', conclusion: 'success', summary: 'misplaced' },
      status: 422,
      kind: 'request',
      problem: /field 'summary' that GitHub's schema does not declare/,
    },
    {
      name: 'completed without a conclusion (checks/update anyOf)',
      method: 'PATCH',
      path: `${REPO_PATH}/check-runs/1`,
      body: { status: 'completed' },
      status: 422,
      kind: 'request',
      problem: /missing required field 'conclusion'/,
    },
    {
      name: 'completed without a conclusion on create (a rule the schema cannot express)',
      method: 'POST',
      path: `${REPO_PATH}/check-runs`,
      body: { name: 'ferry', head_sha: SHA, status: 'completed' },
      status: 422,
      kind: 'request',
      problem: /"conclusion" is required/,
    },
    {
      name: 'a non-integer path parameter',
      method: 'PATCH',
      path: `${REPO_PATH}/check-runs/abc`,
      body: { name: 'x' },
      status: 422,
      kind: 'request',
      problem: /path parameter 'check_run_id' must be integer/,
    },
    {
      name: 'a non-integer query parameter',
      method: 'GET',
      path: `${REPO_PATH}/issues/7/comments?per_page=ten`,
      status: 422,
      kind: 'request',
      problem: /query parameter 'per_page' must be integer/,
    },
    {
      name: 'a misspelled query parameter',
      method: 'GET',
      path: `${REPO_PATH}/issues/7/comments?per_pag=10`,
      status: 422,
      kind: 'request',
      problem: /undeclared query parameter 'per_pag'/,
    },
    {
      name: 'a query value outside the enum',
      method: 'GET',
      path: `${REPO_PATH}/commits/${SHA}/check-runs?status=done`,
      status: 422,
      kind: 'request',
      problem: /query parameter 'status' is "done"/,
    },
    {
      name: 'a comment without a body',
      method: 'POST',
      path: `${REPO_PATH}/issues/7/comments`,
      body: { text: 'hello' },
      status: 422,
      kind: 'request',
      problem: /missing required field 'body'/,
    },
    {
      name: 'a required body left out',
      method: 'POST',
      path: `${REPO_PATH}/issues/7/comments`,
      status: 422,
      kind: 'request',
      problem: /requires a JSON body, none was sent/,
    },
    {
      name: 'a body sent to an operation that takes none',
      method: 'DELETE',
      path: `${REPO_PATH}/issues/comments/1`,
      body: { body: 'x' },
      status: 422,
      kind: 'request',
      problem: /takes no request body/,
    },
    {
      name: 'a deployment status state outside the enum',
      method: 'POST',
      path: `${REPO_PATH}/deployments/1/statuses`,
      body: { state: 'done' },
      status: 422,
      kind: 'request',
      problem: /body\.state is "done"/,
    },
    {
      name: 'a commit status on a branch name instead of a SHA',
      method: 'POST',
      path: `${REPO_PATH}/statuses/main`,
      body: { state: 'success' },
      status: 422,
      kind: 'request',
      problem: /No commit found for SHA: main/,
    },
    {
      name: 'a body that is not JSON',
      method: 'POST',
      path: `${REPO_PATH}/issues/7/comments`,
      body: '{"body": ',
      status: 400,
      kind: 'request',
      problem: /not JSON/,
    },
    {
      name: 'no Authorization header',
      method: 'GET',
      path: `${REPO_PATH}/issues/7/comments`,
      headers: {},
      status: 401,
      kind: 'auth',
      problem: /Authorization/,
    },
    {
      name: 'an unknown route',
      method: 'GET',
      path: `${REPO_PATH}/check-suns`,
      status: 404,
      kind: 'route',
      problem: /no operation in GitHub's description matches GET/,
    },
    {
      name: 'a wrong method',
      method: 'PUT',
      path: `${REPO_PATH}/check-runs`,
      body: { name: 'x', head_sha: SHA },
      status: 404,
      kind: 'route',
      problem: /has no PUT operation \(it has POST\)/,
    },
    {
      name: 'a trailing slash',
      method: 'POST',
      path: `${REPO_PATH}/check-runs/`,
      body: { name: 'x', head_sha: SHA },
      status: 404,
      kind: 'route',
      problem: /no operation/,
    },
    {
      name: 'a real GitHub route the fake does not implement',
      method: 'GET',
      path: `${REPO_PATH}/releases`,
      status: 501,
      kind: 'unimplemented',
      problem: /no handler for repos\/list-releases/,
    },
  ];

  it.each(cases)('$name → $status', async ({ method, path, body, headers, status, kind, problem }) => {
    const reply = await gh(method, path, body, headers ?? AUTH);
    expect(reply.status).toBe(status);
    expect(reply.body).toMatchObject({ message: expect.any(String), documentation_url: expect.stringMatching(/^https:\/\/docs\./) });
    expect(fake.violations.some((v) => v.kind === kind && problem.test(v.problem)), JSON.stringify(fake.violations)).toBe(true);
    expect(() => fake.assertNoViolations()).toThrow(problem);
  });

  it('explains every problem of one request in the 422 body, as GitHub does', async () => {
    const reply = await gh('POST', `${REPO_PATH}/check-runs`, { headsha: SHA, conclusion: 'passed' });
    expect(reply.status).toBe(422);
    expect(reply.body.message).toMatch(/^Invalid request\.\n\n/);
    expect(reply.body.errors.map((e: { message: string }) => e.message)).toEqual([
      "body is missing required field 'name'",
      "body is missing required field 'head_sha'",
      "body has field 'headsha' that GitHub's schema does not declare",
      expect.stringMatching(/^body\.conclusion is "passed"/),
    ]);
    expect(fake.violations).toHaveLength(4);
    expect(fake.checkRuns).toEqual([]);
  });

  it('does not count a 404 for a record that does not exist as a violation', async () => {
    const reply = await gh('GET', `${REPO_PATH}/pulls/99`);
    expect(reply.status).toBe(404);
    expect(reply.body).toMatchObject({ message: 'Not Found', status: '404' });
    fake.assertNoViolations();
  });
});

describe('comment pagination', () => {
  const pages: { perPage: number; page: number; bodies: string[]; rels: string[] }[] = [
    { perPage: 2, page: 1, bodies: ['c0', 'c1'], rels: ['next', 'last'] },
    { perPage: 2, page: 2, bodies: ['c2', 'c3'], rels: ['prev', 'next', 'last', 'first'] },
    { perPage: 2, page: 3, bodies: ['c4'], rels: ['prev', 'last', 'first'] },
    { perPage: 5, page: 1, bodies: ['c0', 'c1', 'c2', 'c3', 'c4'], rels: [] },
    { perPage: 2, page: 4, bodies: [], rels: ['prev', 'last', 'first'] },
  ];

  beforeEach(async () => {
    for (let i = 0; i < 5; i++) await gh('POST', `${REPO_PATH}/issues/3/comments`, { body: `c${i}` });
  });

  it.each(pages)('per_page=$perPage page=$page', async ({ perPage, page, bodies, rels }) => {
    const reply = await gh('GET', `${REPO_PATH}/issues/3/comments?per_page=${perPage}&page=${page}`);
    expect(reply.status).toBe(200);
    expect(reply.body.map((c: { body: string }) => c.body)).toEqual(bodies);
    const found = [...(reply.headers.get('link') ?? '').matchAll(/rel="(\w+)"/g)].map((m) => m[1]);
    expect(found).toEqual(rels);
    fake.assertNoViolations();
  });

  it('reaches every comment by following rel="next"', async () => {
    const seen: string[] = [];
    let next: string | undefined = `${fake.url}${REPO_PATH}/issues/3/comments?per_page=2`;
    while (next) {
      const reply = await gh('GET', next);
      seen.push(...reply.body.map((c: { body: string }) => c.body));
      next = /<([^>]+)>; rel="next"/.exec(reply.headers.get('link') ?? '')?.[1];
    }
    expect(seen).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    fake.assertNoViolations();
  });
});

describe('GitHub behaviour beyond the schema', () => {
  it('refuses a deployment while a required context is still running (409), unless contexts are waived', async () => {
    await gh('POST', `${REPO_PATH}/check-runs`, { name: 'ferry/canary-deploy', head_sha: SHA, status: 'in_progress' });
    const blocked = await gh('POST', `${REPO_PATH}/deployments`, { ref: SHA, environment: 'production' });
    expect(blocked.status).toBe(409);
    expect(blocked.body.message).toMatch(/Commit status checks failed/);
    const waived = await gh('POST', `${REPO_PATH}/deployments`, { ref: SHA, environment: 'production', required_contexts: [] });
    expect(waived.status).toBe(201);
    expect(waived.body.production_environment).toBe(true);
    fake.assertNoViolations();
  });

  it('marks the previous successful deployment of a non-production environment inactive', async () => {
    const ids: number[] = [];
    for (const ref of ['v1', 'v2']) {
      const created = await gh('POST', `${REPO_PATH}/deployments`, { ref, environment: 'staging', required_contexts: [] });
      ids.push(created.body.id);
      await gh('POST', `${REPO_PATH}/deployments/${created.body.id}/statuses`, { state: 'success' });
    }
    expect(fake.deploymentStatuses(ids[0]!).map((s) => s.state)).toEqual(['success', 'inactive']);
    expect(fake.deploymentStatuses(ids[1]!).map((s) => s.state)).toEqual(['success']);
    fake.assertNoViolations();
  });

  it('keeps the latest check run per name unless filter=all', async () => {
    for (const conclusion of ['failure', 'success']) {
      await gh('POST', `${REPO_PATH}/check-runs`, { name: 'ferry/benchmark', head_sha: SHA, conclusion });
    }
    const latest = await gh('GET', `${REPO_PATH}/commits/${SHA}/check-runs`);
    expect(latest.body.check_runs.map((r: { conclusion: string }) => r.conclusion)).toEqual(['success']);
    const all = await gh('GET', `${REPO_PATH}/commits/${SHA}/check-runs?filter=all`);
    expect(all.body.total_count).toBe(2);
    fake.assertNoViolations();
  });
});

describe('fault injection', () => {
  const patterns: { name: string; pattern: string | RegExp }[] = [
    { name: 'a path template', pattern: '/repos/{owner}/{repo}/check-runs' },
    { name: 'a concrete path', pattern: `${REPO_PATH}/check-runs` },
    { name: 'a RegExp', pattern: /\/check-runs$/ },
  ];

  it.each(patterns)('fails the next requests matching $name, then recovers', async ({ pattern }) => {
    fake.failNext('POST', pattern, 502, 2);
    const body = { name: 'ferry', head_sha: SHA };
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await gh('POST', `${REPO_PATH}/check-runs`, body)).status);
    expect(statuses).toEqual([502, 502, 201]);
    expect(fake.pendingFaults()).toEqual([]);
    expect(fake.checkRuns).toHaveLength(1);
    fake.assertNoViolations();
  });

  it('serves a rate-limit answer with the headers a client backs off on', async () => {
    fake.failNext('*', /./, 403, 1, {
      body: { message: 'API rate limit exceeded', documentation_url: 'https://docs.github.com/rest/rate-limit' },
      headers: { 'retry-after': '1', 'x-ratelimit-remaining': '0' },
    });
    const reply = await gh('GET', `${REPO_PATH}/issues/7/comments`);
    expect(reply.status).toBe(403);
    expect(reply.headers.get('retry-after')).toBe('1');
    expect(reply.headers.get('x-ratelimit-remaining')).toBe('0');
  });

  it('still refuses an invalid request rather than spending the fault on it', async () => {
    fake.failNext('POST', '/repos/{owner}/{repo}/check-runs', 500);
    expect((await gh('POST', `${REPO_PATH}/check-runs`, { name: 'ferry' })).status).toBe(422);
    expect(fake.pendingFaults()).toHaveLength(1);
  });
});

describe('response validation', () => {
  const spec = loadSpec();
  const index = OperationIndex.for(spec);
  const validator = SpecValidator.for(spec);
  const examples = spec.document.components.examples as Record<string, { value: Record<string, unknown> }>;
  const example = (name: string): Record<string, unknown> => structuredClone(examples[name]!.value);

  const cases: { name: string; operationId: string; status: number; body: () => unknown; problem?: RegExp }[] = [
    {
      name: 'an in-progress check run (nullable enum conclusion is null)',
      operationId: 'checks/get',
      status: 200,
      body: () => ({ ...example('check-run'), status: 'in_progress', conclusion: null, completed_at: null }),
    },
    {
      name: 'a check run missing node_id',
      operationId: 'checks/get',
      status: 200,
      body: () => ({ ...example('check-run'), node_id: undefined }),
      problem: /response 200 body is missing required field 'node_id'/,
    },
    {
      name: 'a check run with a conclusion outside the enum',
      operationId: 'checks/get',
      status: 200,
      body: () => ({ ...example('check-run'), conclusion: 'passed' }),
      problem: /response 200 body\.conclusion is "passed"/,
    },
    {
      name: 'a comment with a timestamp that is not date-time',
      operationId: 'issues/get-comment',
      status: 200,
      body: () => ({ ...example('issue-comment'), created_at: 'yesterday' }),
      problem: /created_at must match format "date-time"/,
    },
    {
      name: 'a deployment status with empty URLs (declared default "")',
      operationId: 'repos/create-deployment-status',
      status: 201,
      body: () => ({ ...example('deployment-status'), target_url: '', environment_url: '', log_url: '' }),
    },
    {
      name: 'a deployment status with a URL that is not one',
      operationId: 'repos/create-deployment-status',
      status: 201,
      body: () => ({ ...example('deployment-status'), target_url: 'not a url' }),
      problem: /target_url must match format "uri" or be empty \(got "not a url"\)/,
    },
    {
      name: 'a private user picked by the user_view_type discriminator',
      operationId: 'users/get-authenticated',
      status: 200,
      body: () => ({ ...example('private-user'), user_view_type: 'private' }),
    },
    {
      name: 'a "private" user without the private fields',
      operationId: 'users/get-authenticated',
      status: 200,
      body: () => ({ ...example('private-user-response-with-public-profile-information'), user_view_type: 'private' }),
      problem: /missing required field 'private_gists'/,
    },
    {
      name: 'a success status the operation does not declare',
      operationId: 'issues/create-comment',
      status: 200,
      body: () => example('issue-comment'),
      problem: /does not declare status 200/,
    },
    {
      name: 'an error body without GitHub\'s shape',
      operationId: 'checks/update',
      status: 404,
      body: () => ({ message: 404 }),
      problem: /response 404 body\.message must be string/,
    },
  ];

  it.each(cases)('$name', ({ operationId, status, body, problem }) => {
    const problems = validator.validateResponse(index.operation(operationId), status, body());
    if (problem) expect(problems.join('\n')).toMatch(problem);
    else expect(problems).toEqual([]);
  });
});

describe('a real client (the Octokit that @actions/github builds, as Ferry does)', () => {
  const params = { owner: OWNER, repo: REPO };

  it('drives every route without a violation, following Link headers when paginating', async () => {
    const gh = getOctokit('ghs_test', { baseUrl: fake.url });
    fake.seedPullRequest({ ...params, number: 9, headSha: SHA });

    const { data: pull } = await gh.rest.pulls.get({ ...params, pull_number: 9 });
    const created = await gh.rest.checks.create({ ...params, name: 'ferry/validate-model', head_sha: pull.head.sha, status: 'in_progress' });
    await gh.rest.checks.update({ ...params, check_run_id: created.data.id, conclusion: 'success', output: { title: 'ok', summary: 'all gates passed' } });
    const runs = await gh.rest.checks.listForRef({ ...params, ref: SHA });
    expect(runs.data.check_runs[0]?.conclusion).toBe('success');

    for (let i = 0; i < 5; i++) await gh.rest.issues.createComment({ ...params, issue_number: 9, body: `c${i}` });
    const comments = await gh.paginate(gh.rest.issues.listComments, { ...params, issue_number: 9, per_page: 2 });
    expect(comments.map((c) => c.body)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    await gh.rest.issues.updateComment({ ...params, comment_id: comments[0]!.id, body: 'edited' });
    await gh.rest.issues.deleteComment({ ...params, comment_id: comments[1]!.id });

    const deployment = await gh.rest.repos.createDeployment({ ...params, ref: SHA, environment: 'canary', required_contexts: [], auto_merge: false });
    expect(deployment.status).toBe(201);
    const id = (deployment.data as { id: number }).id;
    await gh.rest.repos.createDeploymentStatus({ ...params, deployment_id: id, state: 'success', environment_url: 'http://127.0.0.1:9/' });
    const listed = await gh.rest.repos.listDeployments({ ...params, environment: 'canary', sha: SHA });
    expect(listed.data.map((d) => d.id)).toEqual([id]);
    const statuses = await gh.rest.repos.listDeploymentStatuses({ ...params, deployment_id: id });
    expect(statuses.data[0]?.state).toBe('success');
    await gh.rest.repos.createCommitStatus({ ...params, sha: SHA, state: 'success', context: 'ferry' });

    expect(fake.comments(OWNER, REPO, 9).map((c) => c.body)).toEqual(['edited', 'c2', 'c3', 'c4']);
    fake.assertNoViolations();
  });

  it('surfaces a refused request as a RequestError carrying the problem', async () => {
    const gh = getOctokit('ghs_test', { baseUrl: fake.url });
    const call = gh.rest.checks.create({ ...params, name: 'ferry', head_sha: SHA, conclusion: 'passed' as 'success' });
    await expect(call).rejects.toMatchObject({ status: 422, message: expect.stringMatching(/body\.conclusion is "passed"/) });
    expect(fake.violations).toHaveLength(1);
  });
});

describe('server base path', () => {
  it('serves an Enterprise Server description under /api/v3', async () => {
    const ghes = await GitHubFake.start({ spec: 'ghes-3.19' });
    try {
      expect(ghes.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v3$/);
      const ok = await fetch(`${ghes.url}${REPO_PATH}/issues/1/comments`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: '{"body":"hi"}' });
      expect(ok.status).toBe(201);
      ghes.assertNoViolations();
      const outside = await fetch(`${ghes.url.replace('/api/v3', '')}${REPO_PATH}/issues/1/comments`, { headers: AUTH });
      expect(outside.status).toBe(404);
      expect(ghes.violations[0]?.problem).toMatch(/outside the API base \/api\/v3/);
    } finally {
      await ghes.stop();
    }
  });
});
