// The GitLab door end to end: the built `ferry` CLI runs the way the generated template runs it
// (`ferry <step> --from-env`, inputs in FERRY_INPUT_*, the predefined CI_* variables of a
// merge-request or branch pipeline), against the GitLab fake that checks every request and response
// against GitLab's own API description. It proves the one MR note (created once, edited in place,
// one section per step, nobody else's note touched, found past the first page), the commit status
// `ferry / <step>`, what happens without a token, and that API failures never change a verdict.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REPORT_MARKER, upsertSection } from '@ferry/platform';
import { GitLabFake, PROJECT_BOT, type Note, type RecordedRequest } from '../support/gitlab-fake/index.js';
import { ferry, REPO_ROOT, requireBuilt, type RunResult } from '../support/repo.js';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.js';

const TOKEN = 'glpat-FerryTest_0123456789abcdef';
const JOB_TOKEN = 'glcbt-64_FerryJobToken_0123456789';
const PROJECT = { id: 42, path: 'acme/models' };
const MR = 7;
const SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4';
const PIPELINE_ID = 5150;
const JOB_ID = 90210;
const JOB_URL = `https://gitlab.example/${PROJECT.path}/-/jobs/${JOB_ID}`;
const NOTES = `/api/v4/projects/${PROJECT.id}/merge_requests/${MR}/notes`;
const STATUSES = `/api/v4/projects/${PROJECT.id}/statuses/${SHA}`;
const REVIEWER = { id: 2, username: 'reviewer', name: 'Re Viewer', email: 'reviewer@example.com' };

let fake: GitLabFake;
const dirs: string[] = [];

beforeAll(async () => {
  requireBuilt();
  fake = await GitLabFake.start();
});
afterAll(async () => {
  await fake.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
beforeEach(() => {
  fake.reset();
  fake.seedProject(PROJECT);
});
// Whatever a test asserts, every request the door made must fit GitLab's description.
afterEach(() => fake.assertNoViolations());

// ---------------------------------------------------------------------------------------------
// The job: the template's variables and the predefined variables GitLab sets.

/** spec:inputs defaults and the job's `variables:` of a generated template, read from the file. */
function template(step: string): { defaults: Record<string, string>; variables: Record<string, string> } {
  const [spec, job] = parseAllDocuments(readFileSync(join(REPO_ROOT, 'gitlab-templates', `${step}.yml`), 'utf8')).map((d) => d.toJS() as Record<string, unknown>);
  const inputs = (spec?.spec as { inputs: Record<string, { default?: string }> }).inputs;
  const defaults = Object.fromEntries(Object.entries(inputs).flatMap(([k, v]) => (v.default === undefined ? [] : [[k, String(v.default)]])));
  const jobs = Object.values(job ?? {}) as { variables: Record<string, string> }[];
  return { defaults, variables: jobs[0]?.variables ?? {} };
}

interface JobOptions {
  /** Inputs as the user's `include: inputs:` gives them; the rest take the template's defaults. */
  inputs?: Record<string, string>;
  /** The project's CI/CD variables (a masked FERRY_GITLAB_TOKEN, which the template's default names). */
  projectVariables?: Record<string, string>;
  /** A merge-request pipeline (the default) or a branch pipeline. */
  mergeRequest?: boolean;
  apiUrl?: string;
}

/**
 * The environment of the template's job: its FERRY_INPUT_* variables with `$[[ inputs.x ]]`
 * interpolated, then `$VAR` references expanded from the project's variables (GitLab leaves a
 * reference to an undefined variable as written), plus the predefined CI_* variables.
 */
function jobEnv(step: string, projectDir: string, opts: JobOptions = {}): NodeJS.ProcessEnv {
  const { defaults, variables } = template(step);
  const inputs = { ...defaults, ...opts.inputs };
  const project = opts.projectVariables ?? {};
  const env: NodeJS.ProcessEnv = {
    CI: 'true',
    GITLAB_CI: 'true',
    CI_SERVER_URL: fake.url,
    CI_API_V4_URL: opts.apiUrl ?? fake.apiUrl,
    CI_PROJECT_ID: String(PROJECT.id),
    CI_PROJECT_PATH: PROJECT.path,
    CI_PROJECT_DIR: projectDir,
    CI_COMMIT_SHA: SHA,
    CI_PIPELINE_ID: String(PIPELINE_ID),
    CI_PIPELINE_URL: `https://gitlab.example/${PROJECT.path}/-/pipelines/${PIPELINE_ID}`,
    CI_JOB_ID: String(JOB_ID),
    CI_JOB_URL: JOB_URL,
    CI_JOB_NAME: `ferry-${step}`,
    CI_JOB_TOKEN: JOB_TOKEN,
    ...project,
  };
  if (opts.mergeRequest ?? true) {
    Object.assign(env, {
      CI_PIPELINE_SOURCE: 'merge_request_event',
      CI_COMMIT_REF_NAME: 'better-model',
      CI_MERGE_REQUEST_IID: String(MR),
      CI_MERGE_REQUEST_PROJECT_ID: String(PROJECT.id),
      CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'better-model',
      CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'main',
    });
  } else {
    Object.assign(env, { CI_PIPELINE_SOURCE: 'push', CI_COMMIT_REF_NAME: 'main', CI_COMMIT_BRANCH: 'main' });
  }
  for (const [name, value] of Object.entries(variables)) {
    const interpolated = value.replace(/\$\[\[\s*inputs\.([a-z0-9_]+)\s*\]\]/g, (_, input: string) => {
      if (inputs[input] === undefined) throw new Error(`input ${input} of ${step} has no default; give it in inputs`);
      return inputs[input];
    });
    env[name] = interpolated.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (ref, v: string) => project[v] ?? ref);
  }
  return env;
}

type Model = 'good' | 'bad';

/** A checkout with `model/`: the tiny safetensors example, and for `bad` an unrecognised binary file. */
function checkout(model: Model): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-gitlab-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'model'));
  for (const f of ['model.safetensors', 'config.json']) writeFileSync(join(dir, 'model', f), readFileSync(join(REPO_ROOT, 'examples/tiny', f)));
  if (model === 'bad') {
    const blob = Buffer.concat(Array.from({ length: 64 }, (_, i) => createHash('sha256').update(`ferry-gitlab-blob-${i}`).digest()));
    writeFileSync(join(dir, 'model', 'weights.bin'), blob);
  }
  return dir;
}

const WITH_TOKEN: JobOptions = { projectVariables: { FERRY_GITLAB_TOKEN: TOKEN } };

async function job(step: string, dir: string, opts: JobOptions = WITH_TOKEN): Promise<RunResult> {
  const inputs = step === 'validate-model' ? { model_path: 'model', ...opts.inputs } : (opts.inputs ?? {});
  return ferry([step, '--from-env'], { cwd: dir, env: jobEnv(step, dir, { ...opts, inputs }) });
}

/** The headline of the job's result, which the commit status carries as its description. */
function headline(dir: string, step: string): string {
  return (JSON.parse(readFileSync(join(dir, '.ferry', step, 'result.json'), 'utf8')) as { headline: string }).headline;
}

/** No report file the job left for GitLab (dotenv, junit, result, …) holds the token. */
function expectNoTokenInReports(dir: string): void {
  for (const entry of readdirSync(join(dir, '.ferry'), { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) expect(readFileSync(join(entry.parentPath, entry.name), 'utf8')).not.toContain(TOKEN);
  }
}

/** The verdict the job handed to later jobs through its dotenv report. */
function dotenvVerdict(dir: string, step: string): string | undefined {
  const text = readFileSync(join(dir, '.ferry', step, 'outputs.env'), 'utf8');
  const name = `FERRY_${step.replace(/-/g, '_').toUpperCase()}_VERDICT`;
  return new RegExp(`^${name}=(.*)$`, 'm').exec(text)?.[1];
}

const warnings = (r: RunResult): string[] => `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /warning/i.test(l));
const noteRequests = (): RecordedRequest[] => fake.requests.filter((r) => r.path.startsWith(NOTES));
const statusRequests = (): RecordedRequest[] => fake.requests.filter((r) => r.path.startsWith('/api/v4/projects/') && r.path.includes('/statuses/'));
const ferryNotes = (): Note[] => fake.notes(PROJECT.id, MR).filter((n) => n.body.startsWith(REPORT_MARKER));

/** The token went where GitLab reads it, and nowhere else. */
function expectTokenOnlyInHeader(requests: readonly RecordedRequest[]): void {
  expect(requests.length).toBeGreaterThan(0);
  for (const r of requests) {
    expect(r.headers['private-token']).toBe(TOKEN);
    expect(r.headers.authorization).toBeUndefined();
    expect(r.headers['job-token']).toBeUndefined();
    expect(JSON.stringify([r.path, r.query, r.body])).not.toContain(TOKEN);
  }
}

// ---------------------------------------------------------------------------------------------

describe('GitLab door: merge-request pipeline with a token', () => {
  it('writes ONE note, created on the first run and edited in place on re-runs, and a commit status per run', async () => {
    const dir = checkout('good');
    const others = fake.seedNotes(PROJECT.id, MR, [
      { body: 'Looks good, but please check the tokenizer.' },
      { body: 'added 1 commit\n\n* e3b0c442 - better model', system: true, author: REVIEWER },
    ]);
    for (let i = 0; i < 3; i++) {
      const r = await job('validate-model', dir);
      expect(r.code, r.stderr).toBe(0);
      expect(warnings(r)).toEqual([]);
      expect(`${r.stdout}${r.stderr}`).not.toContain(TOKEN);
    }

    const notes = ferryNotes();
    expect(notes).toHaveLength(1);
    const note = notes[0]!;
    expect(note.author.username).toBe(PROJECT_BOT.username);
    expect(note.body).toContain('validate-model: ✅ pass');
    expect(note.body).toContain('model.safetensors');
    expect(note.body.match(/<!-- ferry:step:validate-model:start -->/g)).toHaveLength(1);
    // One create, then edits of that note; never a second POST.
    expect(noteRequests().filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(noteRequests().filter((r) => r.method === 'PUT').every((r) => r.path === `${NOTES}/${note.id}`)).toBe(true);
    // The other notes are exactly as they were.
    expect(fake.notes(PROJECT.id, MR).filter((n) => n.id !== note.id)).toEqual(others);

    expect(fake.statuses).toHaveLength(3);
    for (const s of fake.statuses) {
      expect(s).toMatchObject({ project: String(PROJECT.id), sha: SHA, name: 'ferry / validate-model', status: 'success', target_url: JOB_URL, pipeline_id: PIPELINE_ID });
      expect(s.description).toBe(headline(dir, 'validate-model'));
    }
    // What the door sent for the status: the fields GitLab's description declares, typed as it says.
    const sent = statusRequests()[0]!;
    expect(sent.path).toBe(STATUSES);
    expect(sent.body).toEqual({ state: 'success', name: 'ferry / validate-model', description: expect.any(String), target_url: JOB_URL, pipeline_id: PIPELINE_ID });
    expectTokenOnlyInHeader(fake.requests);
    expectNoTokenInReports(dir);
    expect(dotenvVerdict(dir, 'validate-model')).toBe('pass');
  });

  it('sets the status to failed for a bad model and keeps exit code 1; the note shows the failure', async () => {
    const dir = checkout('bad');
    const r = await job('validate-model', dir);
    expect(r.code, r.stderr).toBe(1);
    expect(warnings(r)).toEqual([]);
    expect(fake.statuses.map((s) => [s.name, s.status, s.target_url, s.pipeline_id])).toEqual([['ferry / validate-model', 'failed', JOB_URL, PIPELINE_ID]]);
    const [note] = ferryNotes();
    expect(note?.body).toContain('validate-model: ❌ fail');
    expect(note?.body).toContain('weights.bin');
    expect(dotenvVerdict(dir, 'validate-model')).toBe('fail');
  });

  it('turns the same note from fail to pass when the model is fixed, and a second step adds its own section', async () => {
    const dir = checkout('bad');
    expect((await job('validate-model', dir)).code).toBe(1);
    rmSync(join(dir, 'model', 'weights.bin'));
    expect((await job('validate-model', dir)).code).toBe(0);
    const other = await job('promote', dir);
    expect(other.code).not.toBe(0);

    const notes = ferryNotes();
    expect(notes).toHaveLength(1);
    const body = notes[0]!.body;
    expect(body).toContain('validate-model: ✅ pass');
    expect(body).not.toContain('validate-model: ❌ fail');
    expect(body).toContain('promote: ❌ error');
    expect(body.indexOf('validate-model')).toBeLessThan(body.indexOf('promote'));
    expect(noteRequests().filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(fake.statuses.map((s) => [s.name, s.status])).toEqual([
      ['ferry / validate-model', 'failed'],
      ['ferry / validate-model', 'success'],
      ['ferry / promote', 'failed'],
    ]);
  });

  it("leaves other people's notes alone, also one that quotes an earlier Ferry report", async () => {
    const dir = checkout('good');
    // A reviewer quoted an earlier report before someone deleted it; the quote carries the marker.
    const earlier = upsertSection(undefined, 'validate-model', '### validate-model: ❌ fail\n\nweights.bin unscanned');
    const quoted = earlier.split('\n').map((l) => `> ${l}`).join('\n');
    const seeded = fake.seedNotes(PROJECT.id, MR, [
      { body: `${quoted}\n\nWhy did this fail?`, author: REVIEWER },
      { body: 'Ferry, please re-run.' },
    ]);
    expect((await job('validate-model', dir)).code).toBe(0);
    expect((await job('validate-model', dir)).code).toBe(0);
    const all = fake.notes(PROJECT.id, MR);
    expect(all.slice(0, 2)).toEqual(seeded);
    expect(all).toHaveLength(3);
    expect(all[2]).toMatchObject({ author: expect.objectContaining({ username: PROJECT_BOT.username }) });
    expect(all[2]!.body.startsWith(REPORT_MARKER)).toBe(true);
    expect(noteRequests().filter((r) => r.method !== 'GET').every((r) => !seeded.some((s) => r.path === `${NOTES}/${s.id}`))).toBe(true);
  });

  it('finds its note past the first page of a long merge request, and stops paging once found', async () => {
    const dir = checkout('good');
    fake.seedNotes(PROJECT.id, MR, Array.from({ length: 130 }, (_, i) => ({ body: `comment ${i}`, system: i % 3 === 0 })));
    const [existing] = fake.seedNotes(PROJECT.id, MR, [{ body: upsertSection(undefined, 'validate-model', '### validate-model: ❌ fail\n\nold'), author: PROJECT_BOT }]);
    fake.seedNotes(PROJECT.id, MR, Array.from({ length: 150 }, (_, i) => ({ body: `later comment ${i}` })));

    const r = await job('validate-model', dir);
    expect(r.code, r.stderr).toBe(0);
    expect(warnings(r)).toEqual([]);
    expect(ferryNotes().map((n) => n.id)).toEqual([existing!.id]);
    expect(ferryNotes()[0]!.body).toContain('validate-model: ✅ pass');
    expect(noteRequests().filter((r) => r.method === 'POST')).toHaveLength(0);
    expect(noteRequests().filter((r) => r.method === 'PUT').map((r) => r.path)).toEqual([`${NOTES}/${existing!.id}`]);
    // 281 notes, 100 a page, oldest first: the report is on page 2, and page 3 is never asked for.
    const lists = noteRequests().filter((r) => r.method === 'GET' && r.path === NOTES);
    expect(lists.map((l) => l.query)).toEqual([
      { sort: 'asc', order_by: 'created_at', per_page: '100', page: '1' },
      { sort: 'asc', order_by: 'created_at', per_page: '100', page: '2' },
    ]);
  });

  it('pages through every note before deciding there is none, then creates exactly one', async () => {
    const dir = checkout('good');
    fake.seedNotes(PROJECT.id, MR, Array.from({ length: 230 }, (_, i) => ({ body: `comment ${i}` })));
    expect((await job('validate-model', dir)).code).toBe(0);
    expect(ferryNotes()).toHaveLength(1);
    const lists = noteRequests().filter((r) => r.method === 'GET' && r.path === NOTES);
    expect(lists.map((l) => l.query.page)).toEqual(['1', '2', '3']);
    expect(noteRequests().filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('takes the token from the gitlab_token input directly, as well as from the FERRY_GITLAB_TOKEN variable', async () => {
    const dir = checkout('good');
    const r = await job('validate-model', dir, { inputs: { gitlab_token: TOKEN } });
    expect(r.code).toBe(0);
    expect(ferryNotes()).toHaveLength(1);
    expect(fake.statuses).toHaveLength(1);
    expectTokenOnlyInHeader(fake.requests);
  });

  it('honours report_comment: false and check_run: false', async () => {
    const dir = checkout('good');
    expect((await job('validate-model', dir, { ...WITH_TOKEN, inputs: { report_comment: 'false' } })).code).toBe(0);
    expect(noteRequests()).toEqual([]);
    expect(fake.statuses).toHaveLength(1);
    fake.reset();
    fake.seedProject(PROJECT);
    expect((await job('validate-model', dir, { ...WITH_TOKEN, inputs: { check_run: 'false' } })).code).toBe(0);
    expect(statusRequests()).toEqual([]);
    expect(ferryNotes()).toHaveLength(1);
  });
});

describe('GitLab door: without a token', () => {
  it.each([
    ['FERRY_GITLAB_TOKEN undefined (the template default left as written)', {}],
    ['an empty gitlab_token input', { inputs: { gitlab_token: '' } }],
  ] as [string, JobOptions][])('with %s: no API call, one clear notice, the same verdict and exit code', async (_name, opts) => {
    for (const [model, code, verdict] of [['good', 0, 'pass'], ['bad', 1, 'fail']] as const) {
      const dir = checkout(model);
      const r = await job('validate-model', dir, opts);
      expect(r.code, r.stderr).toBe(code);
      expect(dotenvVerdict(dir, 'validate-model')).toBe(verdict);
      const output = `${r.stdout}\n${r.stderr}`;
      const notices = output.split('\n').filter((l) => /gitlab_token/.test(l));
      expect(notices).toHaveLength(1);
      expect(notices[0]).toMatch(/merge-request note/);
      expect(notices[0]).toMatch(/CI_JOB_TOKEN cannot/);
      expect(output).not.toContain(JOB_TOKEN);
    }
    expect(fake.requests).toEqual([]);
  });

  it('does not send CI_JOB_TOKEN when it is given as the token, and says why', async () => {
    const dir = checkout('good');
    const r = await job('validate-model', dir, { projectVariables: { FERRY_GITLAB_TOKEN: JOB_TOKEN } });
    expect(r.code).toBe(0);
    expect(fake.requests).toEqual([]);
    const notices = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /gitlab_token/.test(l));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/CI_JOB_TOKEN/);
    expect(`${r.stdout}\n${r.stderr}`).not.toContain(JOB_TOKEN);
  });
});

describe('GitLab door: branch pipeline', () => {
  it('posts no note outside a merge-request pipeline, and still sets the commit status', async () => {
    const dir = checkout('bad');
    const r = await job('validate-model', dir, { ...WITH_TOKEN, mergeRequest: false });
    expect(r.code).toBe(1);
    expect(warnings(r)).toEqual([]);
    expect(noteRequests()).toEqual([]);
    expect(fake.requests.every((q) => !q.path.includes('/merge_requests/'))).toBe(true);
    expect(fake.statuses.map((s) => [s.sha, s.name, s.status, s.target_url, s.pipeline_id])).toEqual([[SHA, 'ferry / validate-model', 'failed', JOB_URL, PIPELINE_ID]]);
    expectTokenOnlyInHeader(fake.requests);
  });
});

describe('GitLab door: the API failing only warns', () => {
  const cases: { name: string; plan: () => void; note: RegExp | null; status: RegExp | null; masked?: boolean }[] = [
    {
      name: 'a 500 on listing notes',
      plan: () => fake.failNext('GET', '/api/v4/projects/{id}/merge_requests/{merge_request_iid}/notes', 500, 5),
      note: /could not update the merge-request note: .*500/,
      status: null,
    },
    {
      name: 'a 500 on creating the note',
      plan: () => fake.failNext('POST', '/api/v4/projects/{id}/merge_requests/{merge_request_iid}/notes', 500, 5),
      note: /could not update the merge-request note: .*500/,
      status: null,
    },
    {
      name: 'a 500 on the commit status',
      plan: () => fake.failNext('POST', '/api/v4/projects/{id}/statuses/{sha}', 500, 5),
      note: null,
      status: /could not set the commit status "ferry \/ validate-model": .*500/,
    },
    {
      name: 'a revoked token (401 everywhere)',
      plan: () => fake.failNext('*', /./, 401, 50, { body: { message: '401 Unauthorized' } }),
      note: /could not update the merge-request note: .*401 Unauthorized.*revoked, expired/,
      status: /could not set the commit status "ferry \/ validate-model": .*401 Unauthorized.*revoked, expired/,
    },
    {
      name: 'a 403 naming the token in its message',
      plan: () => fake.failNext('*', /./, 403, 50, { body: { message: `403 Forbidden - token ${TOKEN} lacks the api scope` } }),
      note: /could not update the merge-request note: .*403 Forbidden.*at least the Developer role/,
      status: /could not set the commit status .*403 Forbidden.*at least the Developer role/,
      masked: true,
    },
  ];

  for (const [model, code, verdict] of [['good', 0, 'pass'], ['bad', 1, 'fail']] as const) {
    it.each(cases)(`${model} model, $name: exit ${code}, verdict ${verdict}, a warning without the token`, async ({ plan, note, status, masked }) => {
      const dir = checkout(model);
      plan();
      const r = await job('validate-model', dir);
      expect(r.code, r.stderr).toBe(code);
      expect(dotenvVerdict(dir, 'validate-model')).toBe(verdict);
      const w = warnings(r);
      expect(w).toHaveLength((note ? 1 : 0) + (status ? 1 : 0));
      if (note) expect(w.join('\n')).toMatch(note);
      else expect(ferryNotes()).toHaveLength(1);
      if (status) expect(w.join('\n')).toMatch(status);
      else expect(fake.statuses.map((s) => s.status)).toEqual([model === 'good' ? 'success' : 'failed']);
      // GitLab's message is shown, with the token masked where the server echoed it.
      if (masked) expect(w.join('\n')).toContain('token *** lacks the api scope');
      expect(`${r.stdout}\n${r.stderr}`).not.toContain(TOKEN);
      expectNoTokenInReports(dir);
      expectTokenOnlyInHeader(fake.requests);
    });
  }

  it('retries a 502 from a proxy and then succeeds without a warning', async () => {
    const dir = checkout('good');
    fake.failNext('POST', '/api/v4/projects/{id}/statuses/{sha}', 502, 2);
    const r = await job('validate-model', dir);
    expect(r.code).toBe(0);
    expect(warnings(r)).toEqual([]);
    expect(fake.statuses).toHaveLength(1);
    expect(fake.pendingFaults()).toEqual([]);
  });

  it('an unreachable GitLab only warns, quickly, and the verdict stands', async () => {
    const port = await closedPort();
    for (const [model, code] of [['good', 0], ['bad', 1]] as const) {
      const dir = checkout(model);
      const started = Date.now();
      const r = await job('validate-model', dir, { ...WITH_TOKEN, apiUrl: `http://127.0.0.1:${port}/api/v4` });
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(r.code, r.stderr).toBe(code);
      const w = warnings(r).join('\n');
      expect(w).toMatch(/could not update the merge-request note: .*ECONNREFUSED/);
      expect(w).toMatch(/could not set the commit status "ferry \/ validate-model": .*ECONNREFUSED/);
      expect(`${r.stdout}\n${r.stderr}`).not.toContain(TOKEN);
    }
    expect(fake.requests).toEqual([]);
  });
});

describe('GitLab door: benchmark-on-gpu-runner', () => {
  let server: ScriptedServer;
  beforeAll(async () => {
    server = await startScriptedServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('writes the load_performance (k6 summary) and metrics reports, and a note section with the latency chart', async () => {
    const dir = checkout('good');
    const r = await job('benchmark-on-gpu-runner', dir, {
      ...WITH_TOKEN,
      inputs: { endpoint: server.url, protocol: 'http-template', request_method: 'GET', request_path: '/fixed?ms=4', rates: '50,100', warmup: '300ms', window: '500ms', duration: '1s', threads: '1', max_p95_ms: '500', max_send_lag_ms: '250' },
    });
    expect(r.code, r.stderr).toBe(0);
    const k6 = JSON.parse(readFileSync(join(dir, '.ferry/benchmark-on-gpu-runner/load-performance.json'), 'utf8')) as { metrics: { http_req_waiting: Record<string, number>; http_reqs: { count: number; rate: number }; checks: { fails: number } } };
    // The figures of the last (highest) load point: never below the server's 4 ms service time.
    expect(k6.metrics.http_req_waiting['p(95)']).toBeGreaterThanOrEqual(4);
    expect(k6.metrics.http_req_waiting.med).toBeGreaterThanOrEqual(4);
    expect(k6.metrics.http_reqs.rate).toBeGreaterThan(90);
    expect(k6.metrics.checks.fails).toBe(0);
    const metrics = readFileSync(join(dir, '.ferry/benchmark-on-gpu-runner/metrics.txt'), 'utf8');
    expect(metrics).toMatch(/^ferry_benchmark_on_gpu_runner_latency_p95_ms [0-9.]+$/m);
    expect(metrics).toMatch(/^ferry_benchmark_on_gpu_runner_run_valid 1$/m);
    const note = ferryNotes()[0]!.body;
    expect(note).toContain('benchmark-on-gpu-runner');
    expect(note).toContain('```mermaid\nxychart-beta');
  }, 60_000);
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
