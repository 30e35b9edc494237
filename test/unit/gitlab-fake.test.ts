// The GitLab fake itself: valid calls succeed, calls that break GitLab's description are refused
// and kept as violations, and its own answers are checked against the description too.
import { Gitlab } from '@gitbeaker/rest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GitLabFake, type ViolationKind } from '../support/gitlab-fake/index.js';
import { OperationIndex } from '../support/gitlab-fake/operations.js';
import { loadSpec } from '../support/gitlab-fake/spec.js';
import { SpecValidator } from '../support/gitlab-fake/validators.js';

const TOKEN = 'glpat-fake-token-0123456789';
const SHA = 'c'.repeat(40);
const NOTES = '/api/v4/projects/42/merge_requests/7/notes';
const STATUS = `/api/v4/projects/42/statuses/${SHA}`;

let fake: GitLabFake;
beforeAll(async () => {
  fake = await GitLabFake.start();
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(() => fake.reset());

interface Call {
  method?: string;
  path: string;
  body?: unknown;
  form?: Record<string, string>;
  headers?: Record<string, string>;
}

async function call({ method = 'GET', path, body, form, headers = { 'private-token': TOKEN } }: Call): Promise<{ status: number; body: unknown; headers: Headers }> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  } else if (form !== undefined) {
    init.body = new URLSearchParams(form).toString();
    (init.headers as Record<string, string>)['content-type'] = 'application/x-www-form-urlencoded';
  }
  const res = await fetch(`${fake.url}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined, headers: res.headers };
}

describe('valid calls', () => {
  it('creates, lists, shows and edits a merge-request note', async () => {
    const created = await call({ method: 'POST', path: NOTES, body: { body: 'first' } });
    expect(created.status).toBe(201);
    const id = (created.body as { id: number }).id;
    expect(created.body).toMatchObject({ body: 'first', noteable_iid: 7, noteable_type: 'MergeRequest', project_id: 42, system: false });

    const edited = await call({ method: 'PUT', path: `${NOTES}/${id}`, body: { body: 'second' } });
    expect(edited.status).toBe(200);
    expect((await call({ path: `${NOTES}/${id}` })).body).toMatchObject({ id, body: 'second' });
    const list = await call({ path: `${NOTES}?sort=asc&order_by=created_at` });
    expect(list.status).toBe(200);
    expect((list.body as { id: number }[]).map((n) => n.id)).toEqual([id]);
    expect(fake.notes(42, 7).map((n) => n.body)).toEqual(['second']);
    fake.assertNoViolations();
  });

  it('sets a commit status from a JSON or a form body, and answers 201 like GitLab', async () => {
    const json = await call({ method: 'POST', path: STATUS, body: { state: 'running', name: 'ferry / validate-model', target_url: 'https://ci.example/jobs/1', pipeline_id: 5 } });
    expect(json.status).toBe(201);
    expect(json.body).toMatchObject({ status: 'running', name: 'ferry / validate-model', ref: 'main', pipeline_id: 5, finished_at: null });
    // Form fields are strings; GitLab (Grape) coerces `pipeline_id=5` as the schema's integer.
    const form = await call({ method: 'POST', path: STATUS, form: { state: 'success', name: 'ferry / validate-model', pipeline_id: '5' } });
    expect(form.status).toBe(201);
    expect(fake.statuses).toHaveLength(1);
    expect(fake.statuses[0]).toMatchObject({ id: (json.body as { id: number }).id, status: 'success', project: '42', sha: SHA, target_url: 'https://ci.example/jobs/1' });
    fake.assertNoViolations();
  });

  it('takes a project as a numeric ID or a URL-encoded path, which name one project once seeded', async () => {
    fake.seedProject({ id: 42, path: 'acme/models' });
    expect((await call({ method: 'POST', path: '/api/v4/projects/acme%2Fmodels/merge_requests/7/notes', body: { body: 'by path' } })).status).toBe(201);
    expect((await call({ method: 'POST', path: NOTES, body: { body: 'by id' } })).status).toBe(201);
    expect(fake.notes('acme/models', 7).map((n) => n.body)).toEqual(['by path', 'by id']);
    expect(fake.notes(42, 7)).toHaveLength(2);
    fake.assertNoViolations();
  });

  it.each([
    ['PRIVATE-TOKEN', { 'private-token': TOKEN }],
    ['Authorization: Bearer', { authorization: `Bearer ${TOKEN}` }],
  ])('accepts the token in %s', async (_name, headers) => {
    expect((await call({ path: NOTES, headers })).status).toBe(200);
    fake.assertNoViolations();
  });

  it('paginates notes with the headers and Link GitLab sends, keeping the request query', async () => {
    fake.seedNotes(42, 7, Array.from({ length: 45 }, (_, i) => ({ body: `note ${i}`, system: true })));
    const page = await call({ path: `${NOTES}?sort=asc&per_page=20&page=2` });
    expect((page.body as { body: string }[]).map((n) => n.body)).toEqual(Array.from({ length: 20 }, (_, i) => `note ${i + 20}`));
    expect(Object.fromEntries(['x-page', 'x-per-page', 'x-total', 'x-total-pages', 'x-next-page', 'x-prev-page'].map((h) => [h, page.headers.get(h)]))).toEqual({
      'x-page': '2',
      'x-per-page': '20',
      'x-total': '45',
      'x-total-pages': '3',
      'x-next-page': '3',
      'x-prev-page': '1',
    });
    const link = page.headers.get('link') ?? '';
    expect(link).toContain(`<${fake.url}${NOTES}?sort=asc&per_page=20&page=3>; rel="next"`);
    expect(link.split(', ').map((l) => /rel="(\w+)"/.exec(l)?.[1])).toEqual(['prev', 'next', 'first', 'last']);
    // Default order is newest first, 20 a page; per_page above 100 is capped, not refused.
    expect(((await call({ path: NOTES })).body as { body: string }[])[0]?.body).toBe('note 44');
    expect((await call({ path: `${NOTES}?per_page=500` })).headers.get('x-per-page')).toBe('100');
    fake.assertNoViolations();
  });

  it('serves every call gitbeaker makes for Ferry without a violation', async () => {
    const api = new Gitlab({ host: fake.url, token: TOKEN });
    fake.seedNotes('acme/models', 7, Array.from({ length: 25 }, (_, i) => ({ body: `note ${i}` })));
    const created = await api.MergeRequestNotes.create('acme/models', 7, 'hello');
    await api.MergeRequestNotes.edit('acme/models', 7, created.id, { body: 'edited' });
    expect((await api.MergeRequestNotes.show('acme/models', 7, created.id)).body).toBe('edited');
    const all = await api.MergeRequestNotes.all('acme/models', 7, { sort: 'asc', orderBy: 'created_at' });
    expect(all).toHaveLength(26);
    expect(all.at(-1)?.id).toBe(created.id);
    await api.Commits.editStatus('acme/models', SHA, 'success', { name: 'ferry / x', description: 'ok', targetUrl: 'https://ci.example/1', pipelineId: 3 });
    expect(fake.statuses.map((s) => [s.project, s.status, s.name])).toEqual([['acme/models', 'success', 'ferry / x']]);
    expect(fake.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/notes'))).toHaveLength(2);
    fake.assertNoViolations();
  });
});

describe('calls that break the description', () => {
  const cases: { name: string; call: Call; status: number; kind: ViolationKind; problem: RegExp }[] = [
    { name: 'a misspelled body field', call: { method: 'POST', path: NOTES, body: { body: 'x', bdy: 'x' } }, status: 400, kind: 'request', problem: /field 'bdy' that GitLab's schema does not declare/ },
    { name: 'a state outside the enum', call: { method: 'POST', path: STATUS, body: { state: 'passed' } }, status: 400, kind: 'request', problem: /body\.state is "passed", not one of "pending", "running", "success", "failed", "canceled", "skipped"/ },
    { name: 'a missing required field (state)', call: { method: 'POST', path: STATUS, body: { name: 'x' } }, status: 400, kind: 'request', problem: /missing required field 'state'/ },
    { name: 'a missing required field (note body)', call: { method: 'POST', path: NOTES, body: {} }, status: 400, kind: 'request', problem: /missing required field 'body'/ },
    { name: 'no body at all', call: { method: 'PUT', path: `${NOTES}/1` }, status: 400, kind: 'request', problem: /missing required field 'body'/ },
    { name: 'a wrong JSON type', call: { method: 'POST', path: STATUS, body: { state: 'success', pipeline_id: '5' } }, status: 400, kind: 'request', problem: /body\.pipeline_id must be integer/ },
    { name: 'an undeclared query parameter', call: { path: `${NOTES}?per_pag=10` }, status: 400, kind: 'request', problem: /undeclared query parameter 'per_pag'/ },
    { name: 'a non-integer path parameter', call: { path: '/api/v4/projects/42/merge_requests/seven/notes' }, status: 400, kind: 'request', problem: /path parameter 'merge_request_iid' must be integer/ },
    { name: 'a query parameter outside its enum', call: { path: `${NOTES}?sort=up` }, status: 400, kind: 'request', problem: /query parameter 'sort' is "up"/ },
    { name: 'a status on something that is not a commit SHA', call: { method: 'POST', path: '/api/v4/projects/42/statuses/main', body: { state: 'success' } }, status: 404, kind: 'request', problem: /Commit Not Found/ },
    { name: 'an unknown route', call: { path: '/api/v4/projects/42/merge_requests/7/comments' }, status: 404, kind: 'route', problem: /no operation in the GitLab subset/ },
    { name: 'a known path with the wrong method', call: { method: 'DELETE', path: `${NOTES}/1` }, status: 404, kind: 'route', problem: /has no DELETE operation \(it has GET, PUT\)/ },
    { name: 'a trailing slash', call: { path: `${NOTES}/` }, status: 404, kind: 'route', problem: /no operation/ },
    { name: 'a path outside /api/v4', call: { path: '/api/v3/projects/42/merge_requests/7/notes' }, status: 404, kind: 'route', problem: /outside the REST API base/ },
    { name: 'no token', call: { path: NOTES, headers: {} }, status: 401, kind: 'auth', problem: /no PRIVATE-TOKEN/ },
    { name: 'only a job token', call: { path: NOTES, headers: { 'job-token': TOKEN } }, status: 401, kind: 'auth', problem: /CI_JOB_TOKEN cannot post/ },
    { name: 'a token in the URL', call: { path: `${NOTES}?private_token=${TOKEN}`, headers: {} }, status: 401, kind: 'auth', problem: /in the URL/ },
  ];

  it.each(cases)('refuses $name with $status and a $kind violation', async ({ call: c, status, kind, problem }) => {
    const res = await call(c);
    expect(res.status).toBe(status);
    expect(res.body).toEqual(expect.any(Object));
    expect(fake.violations.map((v) => v.kind)).toContain(kind);
    expect(fake.violations.map((v) => v.problem).join('\n')).toMatch(problem);
    expect(() => fake.assertNoViolations()).toThrow(/GitLab fake saw \d+ violation/);
  });

  it('refuses a body that is not JSON, and a blank note, as GitLab does', async () => {
    const res = await fetch(`${fake.url}${NOTES}`, { method: 'POST', headers: { 'private-token': TOKEN, 'content-type': 'application/json' }, body: '{body:' });
    expect(res.status).toBe(400);
    const id = ((await call({ method: 'POST', path: NOTES, body: { body: 'x' } })).body as { id: number }).id;
    const blank = await call({ method: 'PUT', path: `${NOTES}/${id}`, body: { body: '' } });
    expect(blank).toMatchObject({ status: 400, body: { error: 'body is empty' } });
    expect(fake.violations.map((v) => v.problem)).toEqual(['the request body is not valid JSON', 'body is empty']);
  });

  it('refuses posting a pending status twice, the transition GitLab refuses', async () => {
    expect((await call({ method: 'POST', path: STATUS, body: { state: 'pending', name: 'x' } })).status).toBe(201);
    const again = await call({ method: 'POST', path: STATUS, body: { state: 'pending', name: 'x' } });
    expect(again).toMatchObject({ status: 400, body: { message: 'Cannot transition status via :enqueue from :pending' } });
    // A finished status is not reused: the next state starts a new one.
    expect((await call({ method: 'POST', path: STATUS, body: { state: 'success', name: 'x' } })).status).toBe(201);
    expect((await call({ method: 'POST', path: STATUS, body: { state: 'failed', name: 'x' } })).status).toBe(201);
    expect(fake.statuses.map((s) => s.status)).toEqual(['success', 'failed']);
    expect(fake.violations).toHaveLength(1);
  });

  it('answers 404 without a violation for a note that does not exist', async () => {
    expect(await call({ path: `${NOTES}/999` })).toMatchObject({ status: 404, body: { message: '404 Note Not Found' } });
    fake.assertNoViolations();
  });
});

describe('planned failures', () => {
  it('fails the next matching requests, after validation, then serves normally', async () => {
    fake.failNext('POST', '/api/v4/projects/{id}/merge_requests/{merge_request_iid}/notes', 403, 2);
    expect((await call({ method: 'POST', path: NOTES, body: { body: 'x' } })).status).toBe(403);
    // An invalid request is still refused as invalid, and does not use up the fault.
    expect((await call({ method: 'POST', path: NOTES, body: {} })).status).toBe(400);
    expect(fake.pendingFaults()).toEqual([{ method: 'POST', pattern: '/api/v4/projects/{id}/merge_requests/{merge_request_iid}/notes', status: 403, remaining: 1 }]);
    expect(await call({ method: 'POST', path: NOTES, body: { body: 'x' } })).toMatchObject({ status: 403, body: { message: '403 Forbidden' } });
    expect((await call({ method: 'POST', path: NOTES, body: { body: 'x' } })).status).toBe(201);
    expect(fake.pendingFaults()).toEqual([]);
  });
});

describe("the fake's own answers", () => {
  const document = loadSpec();
  const validator = SpecValidator.for(document);
  const index = OperationIndex.for(document);

  it.each([
    ['a note without its author', 'getApiV4ProjectsIdMergeRequestsMergeRequestIidNotesNoteId', 200, { id: 1, body: 'x' }, /missing required field 'author'/],
    ['a status whose id is a string', 'postApiV4ProjectsIdStatusesSha', 201, { id: '1' }, /response 201 body\.id must be integer,null/],
    ['an undeclared success status', 'postApiV4ProjectsIdStatusesSha', 202, {}, /does not declare status 202/],
    ['an error without a message', 'postApiV4ProjectsIdStatusesSha', 404, {}, /without GitLab's \{ message \} or \{ error \} body/],
  ])('catches %s', (_name, operationId, status, body, problem) => {
    expect(validator.validateResponse(index.operation(operationId), status, body).join('\n')).toMatch(problem);
  });

  it('says where each operation was transcribed from', () => {
    expect(document['x-source']).toMatchObject({ repository: 'gitlabhq/gitlabhq', path: 'doc/api/openapi/openapi_v2.yaml' });
    expect(validator.source(index.operation('postApiV4ProjectsIdStatusesSha'))).toMatch(/OpenAPI description \(gitlabhq\/gitlabhq\/doc\/api\/openapi\/openapi_v2\.yaml@0338625c4996\)/);
    expect(validator.source(index.operation('postApiV4ProjectsIdMergeRequestsMergeRequestIidNotes'))).toMatch(/REST API docs \(doc\/api\/notes\.md/);
  });
});
