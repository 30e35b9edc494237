// `ferry serve` as users run it: the built CLI on a free port with a real torch-exported ONNX model,
// checked against torch's golden outputs, a third-party Open Inference Protocol client
// (tritonclient), promtool and a real Prometheus scraping it, and real signals for the drain.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil, requireBinary, startPrometheus, stopAll } from '../support/components/index.js';
import { parseExposition, sampleValue, type Exposition } from '../support/exposition.js';
import { startFerryServe, stopFerryServes, type ServeProcess } from '../support/ferry-serve.js';
import { requirePython } from '../support/python.js';
import { ferry, REPO_ROOT, requireBuilt, run } from '../support/repo.js';

interface Sample {
  features: number[][];
}
interface Golden {
  logits: number[][];
}
interface InferBody {
  model_name?: string;
  model_version?: string;
  id?: string;
  outputs?: { name: string; datatype: string; shape: number[]; data: unknown[] }[];
  error?: string;
}

let dir: string;
let samples: Sample[];
let golden: Golden[];

const startServe = startFerryServe;

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function infer(base: string, model: string, body: unknown): Promise<{ status: number; body: InferBody }> {
  const res = await fetch(`${base}/v2/models/${model}/infer`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: res.status, body: (await res.json()) as InferBody };
}

async function scrape(base: string, format: 'prometheus' | 'openmetrics' = 'prometheus'): Promise<{ text: string; exposition: Exposition; contentType: string }> {
  const res = await fetch(`${base}/metrics`, format === 'openmetrics' ? { headers: { accept: 'application/openmetrics-text; version=1.0.0' } } : {});
  const text = await res.text();
  return { text, exposition: parseExposition(text, format), contentType: res.headers.get('content-type') ?? '' };
}

function expectClose(actual: readonly number[], expected: readonly number[], tolerance = 1e-4): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]!), `element ${i}: ${v} vs ${expected[i]}`).toBeLessThanOrEqual(tolerance));
}

const featuresInput = (rows: number[][]) => ({ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows.flat() });

beforeAll(async () => {
  requireBuilt();
  dir = mkdtempSync(join(tmpdir(), 'ferry-serve-'));
  const made = await run(requirePython(), [join(REPO_ROOT, 'test/fixtures/make_smoke_model.py'), dir], { timeoutMs: 120_000 });
  if (made.code !== 0) throw new Error(`make_smoke_model.py failed:\n${made.stderr}`);
  const more = await run(requirePython(), [join(REPO_ROOT, 'test/fixtures/make_serve_models.py'), dir], { timeoutMs: 60_000 });
  if (more.code !== 0) throw new Error(`make_serve_models.py failed:\n${more.stderr}`);
  samples = JSON.parse(readFileSync(join(dir, 'samples.json'), 'utf8')) as Sample[];
  golden = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8')) as Golden[];
}, 180_000);

afterAll(async () => {
  await stopFerryServes();
  await stopAll();
});

describe('ferry serve: protocol', () => {
  let server: ServeProcess;
  beforeAll(async () => {
    server = await startServe(['--model-path', join(dir, 'model.onnx'), '--model-name', 'smoke', '--model-version', 'v1', '--port', '0', '--workers', '2']);
  });

  it('announces a ready line with the chosen port on stdout', () => {
    const ready = JSON.parse(server.stdoutLines[0]!) as Record<string, unknown>;
    expect(ready).toMatchObject({ event: 'ready', model: 'smoke', version: 'v1', workers: 2, inputs: ['features'], outputs: ['logits'] });
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
  });

  it('answers torch golden outputs, one sample per request (nested data) and all in one batch (flat)', async () => {
    for (const [i, sample] of samples.entries()) {
      const r = await infer(server.url, 'smoke', { id: `req-${i}`, inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: sample.features }] });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ model_name: 'smoke', model_version: 'v1', id: `req-${i}` });
      expect(r.body.outputs?.[0]).toMatchObject({ name: 'logits', datatype: 'FP32', shape: [1, 3] });
      expectClose(r.body.outputs![0]!.data as number[], golden[i]!.logits.flat());
    }
    const batch = await infer(server.url, 'smoke/versions/v1', { inputs: [featuresInput(samples.map((s) => s.features[0]!))], outputs: [{ name: 'logits' }] });
    expect(batch.status).toBe(200);
    expect(batch.body.id).toBeUndefined();
    expect(batch.body.outputs?.[0]?.shape).toEqual([5, 3]);
    expectClose(batch.body.outputs![0]!.data as number[], golden.flatMap((g) => g.logits.flat()));
  });

  it('reads the signature from the ONNX session for model metadata', async () => {
    const expected = {
      name: 'smoke',
      versions: ['v1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 3] }],
    };
    expect(await getJson(`${server.url}/v2/models/smoke`)).toEqual({ status: 200, body: expected });
    expect(await getJson(`${server.url}/v2/models/smoke/versions/v1`)).toEqual({ status: 200, body: expected });
    expect(await getJson(`${server.url}/v2`)).toMatchObject({ status: 200, body: { name: 'ferry', extensions: ['binary_tensor_data'] } });
    for (const path of ['/v2/health/live', '/v2/health/ready', '/v2/models/smoke/ready', '/v2/models/smoke/versions/v1/ready']) {
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(200);
    }
  });

  const badRequests: { name: string; path?: string; method?: string; body?: unknown; status: number; error: RegExp }[] = [
    { name: 'unknown model', path: '/v2/models/other/infer', body: { inputs: [featuresInput([[1, 2, 3, 4]])] }, status: 404, error: /model other is not served here; this server serves smoke version v1/ },
    { name: 'unknown version', path: '/v2/models/smoke/versions/v9/infer', body: { inputs: [featuresInput([[1, 2, 3, 4]])] }, status: 404, error: /model smoke version v9 is not served here/ },
    { name: 'metadata of an unknown model', path: '/v2/models/other', method: 'GET', status: 404, error: /model other is not served here/ },
    { name: 'wrong datatype', body: { inputs: [{ ...featuresInput([[1, 2, 3, 4]]), datatype: 'FP64' }] }, status: 400, error: /input features: datatype FP64 does not match the model, which takes FP32/ },
    { name: 'unknown datatype', body: { inputs: [{ ...featuresInput([[1, 2, 3, 4]]), datatype: 'FLOAT' }] }, status: 400, error: /datatype FLOAT does not match the model, which takes FP32/ },
    { name: 'wrong shape', body: { inputs: [{ name: 'features', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] }] }, status: 400, error: /input features: shape \[2, 3\] does not match the model's \[-1, 4\]/ },
    { name: 'wrong rank', body: { inputs: [{ name: 'features', shape: [4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, status: 400, error: /shape \[4\] does not match the model's \[-1, 4\]/ },
    { name: 'data shorter than shape', body: { inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, status: 400, error: /shape \[2, 4\] holds 8 elements, but "data" has 4/ },
    { name: 'a string in FP32 data', body: { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, 2, 'x', 4] }] }, status: 400, error: /element 2 is "x", expected a number for FP32/ },
    { name: 'negative dimension', body: { inputs: [{ name: 'features', shape: [-1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, status: 400, error: /"shape" must be an array of non-negative integers, found -1/ },
    { name: 'unknown input', body: { inputs: [featuresInput([[1, 2, 3, 4]]), { name: 'extra', shape: [1], datatype: 'FP32', data: [1] }] }, status: 400, error: /input extra is not an input of the model; it takes features/ },
    { name: 'no inputs', body: { inputs: [] }, status: 400, error: /"inputs" must be a non-empty array/ },
    { name: 'unknown output', body: { inputs: [featuresInput([[1, 2, 3, 4]])], outputs: [{ name: 'probabilities' }] }, status: 400, error: /output probabilities is not an output of the model; it has logits/ },
    { name: 'id not a string', body: { id: 7, inputs: [featuresInput([[1, 2, 3, 4]])] }, status: 400, error: /"id" must be a string/ },
    { name: 'not JSON', body: '{"inputs": [', status: 400, error: /the request body is not valid JSON/ },
    { name: 'GET on infer', method: 'GET', status: 405, error: /takes POST, not GET/ },
    { name: 'unknown endpoint', path: '/v1/models/smoke:predict', method: 'POST', body: {}, status: 404, error: /no such endpoint: POST \/v1\/models\/smoke:predict/ },
  ];

  it.each(badRequests)('$name → $status with a clear error', async ({ path = '/v2/models/smoke/infer', method = 'POST', body, status, error }) => {
    const res = await fetch(`${server.url}${path}`, { method, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/json');
    const answer = (await res.json()) as { error: string };
    expect(Object.keys(answer)).toEqual(['error']);
    expect(answer.error).toMatch(error);
  });

  it('refuses a body over the limit with 413, declared or streamed, and keeps serving', async () => {
    const big = JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }], pad: 'x'.repeat(17 * 1024 * 1024) });
    const declared = await fetch(`${server.url}/v2/models/smoke/infer`, { method: 'POST', body: big });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { error: string }).error).toMatch(/request body of \d+ bytes is over the limit of 16777216 bytes \(--max-body-bytes\)/);

    const chunk = new TextEncoder().encode('x'.repeat(1024 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 20) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const streamed = await fetch(`${server.url}/v2/models/smoke/infer`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { error: string }).error).toMatch(/request body of 20971520 bytes is over the limit of 16777216 bytes/);

    const after = await infer(server.url, 'smoke', { inputs: [featuresInput(samples[0]!.features)] });
    expect(after.status).toBe(200);
  });

  it('answers Expect: 100-continue with 413 before the body is sent, or with 100 and then the result', async () => {
    const withExpect = (declared: number, body: Buffer): Promise<{ continued: boolean; status: number; text: string }> =>
      new Promise((resolve, reject) => {
        let continued = false;
        const req = httpRequest(`${server.url}/v2/models/smoke/infer`, { method: 'POST', headers: { expect: '100-continue', 'content-length': declared } });
        req.on('continue', () => {
          continued = true;
          req.end(body);
        });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ continued, status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
      });
    const refused = await withExpect(20 * 1024 * 1024, Buffer.alloc(0));
    expect(refused).toMatchObject({ continued: false, status: 413 });
    expect(refused.text).toMatch(/over the limit of 16777216 bytes/);
    const body = Buffer.from(JSON.stringify({ inputs: [featuresInput(samples[0]!.features)] }));
    const accepted = await withExpect(body.length, body);
    expect(accepted).toMatchObject({ continued: true, status: 200 });
    expectClose((JSON.parse(accepted.text) as InferBody).outputs![0]!.data as number[], golden[0]!.logits.flat());
  });

  it('speaks the binary tensor data extension', async () => {
    const rows = samples.map((s) => s.features[0]!);
    const json = Buffer.from(
      JSON.stringify({ id: 'bin', inputs: [{ name: 'features', shape: [5, 4], datatype: 'FP32', parameters: { binary_data_size: 80 } }], outputs: [{ name: 'logits', parameters: { binary_data: true } }] }),
    );
    const raw = Buffer.from(Float32Array.from(rows.flat()).buffer);
    const res = await fetch(`${server.url}/v2/models/smoke/infer`, {
      method: 'POST',
      headers: { 'Inference-Header-Content-Length': String(json.length), 'content-type': 'application/octet-stream' },
      body: Buffer.concat([json, raw]),
    });
    expect(res.status).toBe(200);
    const headerLength = Number(res.headers.get('inference-header-content-length'));
    const body = Buffer.from(await res.arrayBuffer());
    const header = JSON.parse(body.subarray(0, headerLength).toString()) as { id: string; outputs: { name: string; shape: number[]; parameters: { binary_data_size: number } }[] };
    expect(header).toMatchObject({ id: 'bin', outputs: [{ name: 'logits', datatype: 'FP32', shape: [5, 3], parameters: { binary_data_size: 60 } }] });
    const logits = new Float32Array(body.subarray(headerLength).buffer.slice(body.byteOffset + headerLength, body.byteOffset + body.length));
    expectClose(Array.from(logits), golden.flatMap((g) => g.logits.flat()));
  });

  it('works with tritonclient, a third-party Open Inference Protocol client', async () => {
    const script = join(dir, 'triton_client.py');
    writeFileSync(
      script,
      `import json, sys
import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException
url, model, samples_path = sys.argv[1:4]
c = httpclient.InferenceServerClient(url=url)
out = {"live": c.is_server_live(), "ready": c.is_server_ready(), "model_ready": c.is_model_ready(model),
       "metadata": c.get_model_metadata(model), "results": {}}
x = np.array([s["features"][0] for s in json.load(open(samples_path))], dtype=np.float32)
for binary in (True, False):
    inp = httpclient.InferInput("features", list(x.shape), "FP32")
    inp.set_data_from_numpy(x, binary_data=binary)
    r = c.infer(model, [inp], outputs=[httpclient.InferRequestedOutput("logits", binary_data=binary)], request_id="triton-%s" % binary)
    out["results"]["binary" if binary else "json"] = {"logits": r.as_numpy("logits").tolist(), "id": r.get_response()["id"]}
bad = httpclient.InferInput("features", [1, 3], "FP32")
bad.set_data_from_numpy(np.zeros((1, 3), dtype=np.float32))
try:
    c.infer(model, [bad])
except InferenceServerException as e:
    out["error"] = e.message()
print(json.dumps(out))
`,
    );
    const r = await run(requirePython(), [script, server.url.replace('http://', ''), 'smoke', join(dir, 'samples.json')], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { live: boolean; ready: boolean; model_ready: boolean; metadata: Record<string, unknown>; results: Record<string, { logits: number[][]; id: string }>; error: string };
    expect(out).toMatchObject({ live: true, ready: true, model_ready: true, metadata: { name: 'smoke', inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }] } });
    for (const [mode, result] of Object.entries(out.results)) {
      expect(result.id).toBe(`triton-${mode === 'binary' ? 'True' : 'False'}`);
      expectClose(result.logits.flat(), golden.flatMap((g) => g.logits.flat()));
    }
    expect(out.error).toMatch(/shape \[1, 3\] does not match the model's \[-1, 4\]/);
  });

  it('exports request, error and latency metrics that promtool and a parser accept, and that move', async () => {
    const before = (await scrape(server.url)).exposition;
    const labels = { model: 'smoke', version: 'v1' };
    for (let i = 0; i < 7; i++) expect((await infer(server.url, 'smoke', { inputs: [featuresInput(samples[0]!.features)] })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await infer(server.url, 'smoke', { inputs: [{ ...featuresInput([[1, 2, 3, 4]]), datatype: 'INT64' }] })).status).toBe(400);
    const { text, exposition: after, contentType } = await scrape(server.url);
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const delta = (name: string, l: Record<string, string>) => sampleValue(after, name, l) - sampleValue(before, name, l);
    expect(delta('ferry_serve_inference_requests_total', { ...labels, code: '200' })).toBe(7);
    expect(delta('ferry_serve_inference_requests_total', { ...labels, code: '400' })).toBe(3);
    expect(delta('ferry_serve_inference_errors_total', { ...labels, reason: 'bad_request' })).toBe(3);
    expect(delta('ferry_serve_inference_request_duration_seconds_count', labels)).toBe(10);
    expect(delta('ferry_serve_inference_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(10);
    expect(delta('ferry_serve_inference_request_duration_seconds_sum', labels)).toBeGreaterThan(0);
    expect(delta('ferry_serve_inference_compute_duration_seconds_count', labels)).toBe(7);
    expect(sampleValue(after, 'ferry_serve_inference_in_flight', labels)).toBe(0);
    expect(sampleValue(after, 'ferry_serve_model_ready', labels)).toBe(1);
    expect(sampleValue(after, 'ferry_serve_model_load_duration_seconds', labels)).toBeGreaterThan(0);
    expect(after.types.get('ferry_serve_inference_request_duration_seconds')).toBe('histogram');
    expect(after.types.get('ferry_serve_inference_requests_total')).toBe('counter');

    const promtool = await run(requireBinary('promtool', 'prometheus'), ['check', 'metrics'], { input: text });
    expect(promtool.code, `${promtool.stdout}${promtool.stderr}`).toBe(0);

    const om = await scrape(server.url, 'openmetrics');
    expect(om.contentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(om.exposition.types.get('ferry_serve_inference_requests')).toBe('counter');
    expect(sampleValue(om.exposition, 'ferry_serve_inference_requests_total', { ...labels, code: '200' })).toBe(sampleValue(after, 'ferry_serve_inference_requests_total', { ...labels, code: '200' }));
  });

  it('is scraped by a real Prometheus, which counts the same requests', async () => {
    const prometheus = await startPrometheus({ scrapeTargets: [`127.0.0.1:${server.port}`], scrapeInterval: '1s' });
    try {
      for (let i = 0; i < 5; i++) await infer(server.url, 'smoke', { inputs: [featuresInput(samples[1]!.features)] });
      const expected = sampleValue((await scrape(server.url)).exposition, 'ferry_serve_inference_requests_total', { model: 'smoke', version: 'v1', code: '200' });
      const query = 'ferry_serve_inference_requests_total{job="ferry-test",model="smoke",version="v1",code="200"}';
      const seen = await pollUntil(
        async () => {
          const [s] = await prometheus.query(query);
          return s !== undefined && s.value === expected ? s : undefined;
        },
        { what: `Prometheus to read ${query} = ${expected}`, timeoutMs: 30_000, intervalMs: 250 },
      );
      expect(seen.metric).toMatchObject({ model: 'smoke', version: 'v1', code: '200', instance: `127.0.0.1:${server.port}` });
      const [up] = await prometheus.query('up{job="ferry-test"}');
      expect(up?.value).toBe(1);
      const [p95] = await prometheus.query('histogram_quantile(0.95, sum by (le) (ferry_serve_inference_request_duration_seconds_bucket{model="smoke",version="v1"}))');
      expect(p95?.value).toBeGreaterThan(0);
      expect(p95?.value).toBeLessThan(60);
    } finally {
      await prometheus.stop();
    }
  });
});

describe('ferry serve: every data type through onnxruntime', () => {
  // dtypes.onnx echoes "<type>_in" [batch, 2] as "<type>_out" (Identity nodes).
  const values: Record<string, { datatype: string; data: unknown[]; echoed?: unknown[]; raw: (data: unknown[]) => Buffer }> = {
    bool: { datatype: 'BOOL', data: [true, false], raw: (d) => Buffer.from(d.map((v) => (v ? 1 : 0))) },
    uint8: { datatype: 'UINT8', data: [0, 255], raw: (d) => Buffer.from(Uint8Array.from(d as number[]).buffer) },
    uint16: { datatype: 'UINT16', data: [0, 65535], raw: (d) => Buffer.from(Uint16Array.from(d as number[]).buffer) },
    uint32: { datatype: 'UINT32', data: [0, 4294967295], raw: (d) => Buffer.from(Uint32Array.from(d as number[]).buffer) },
    uint64: { datatype: 'UINT64', data: [0, '18446744073709551615'], raw: (d) => Buffer.from(BigUint64Array.from(d, (v) => BigInt(v as string)).buffer) },
    int8: { datatype: 'INT8', data: [-128, 127], raw: (d) => Buffer.from(Int8Array.from(d as number[]).buffer) },
    int16: { datatype: 'INT16', data: [-32768, 32767], raw: (d) => Buffer.from(Int16Array.from(d as number[]).buffer) },
    int32: { datatype: 'INT32', data: [-2147483648, 2147483647], raw: (d) => Buffer.from(Int32Array.from(d as number[]).buffer) },
    int64: { datatype: 'INT64', data: ['-9223372036854775808', 9007199254740993n.toString()], raw: (d) => Buffer.from(BigInt64Array.from(d, (v) => BigInt(v as string)).buffer) },
    // The nearest half-precision values: FP16 cannot hold 0.1 exactly.
    fp16: { datatype: 'FP16', data: [0.1, -65504], echoed: [0.0999755859375, -65504], raw: () => Buffer.from([0x66, 0x2e, 0xff, 0xfb]) },
    fp32: { datatype: 'FP32', data: [0.5, -1e30], echoed: [0.5, Math.fround(-1e30)], raw: (d) => Buffer.from(Float32Array.from(d as number[]).buffer) },
    fp64: { datatype: 'FP64', data: [0.1, 1e300], raw: (d) => Buffer.from(Float64Array.from(d as number[]).buffer) },
    bytes: {
      datatype: 'BYTES',
      data: ['héllo ✓', ''],
      raw: (d) => Buffer.concat((d as string[]).flatMap((s) => [Buffer.from(Uint32Array.of(Buffer.byteLength(s)).buffer), Buffer.from(s)])),
    },
  };
  let server: ServeProcess;
  beforeAll(async () => {

    // On the HTTP thread: the protocol tests above run on inference threads.
    server = await startServe(['--model-path', join(dir, 'dtypes.onnx'), '--port', '0', '--workers', '0']);
  });

  it('reports every input and output type in metadata', async () => {
    const { body } = await getJson(`${server.url}/v2/models/dtypes`);
    expect(body.inputs).toEqual(Object.entries(values).map(([name, v]) => ({ name: `${name}_in`, datatype: v.datatype, shape: [-1, 2] })));
    expect(body.outputs).toEqual(Object.entries(values).map(([name, v]) => ({ name: `${name}_out`, datatype: v.datatype, shape: [-1, 2] })));
  });

  it('echoes JSON data of every type exactly, 64-bit integers included', async () => {
    const inputs = Object.entries(values).map(([name, v]) => ({ name: `${name}_in`, shape: [1, 2], datatype: v.datatype, data: v.data }));
    const res = await fetch(`${server.url}/v2/models/dtypes/infer`, { method: 'POST', body: JSON.stringify({ inputs }) });
    expect(res.status).toBe(200);
    const text = await res.text();
    // Beyond 2^53 the digits must be written exactly, not rounded through a double.
    expect(text).toContain('"data":[0,18446744073709551615]');
    expect(text).toContain('"data":[-9223372036854775808,9007199254740993]');
    const body = JSON.parse(text) as InferBody;
    for (const [name, v] of Object.entries(values)) {
      const out = body.outputs?.find((o) => o.name === `${name}_out`);
      expect(out, name).toMatchObject({ datatype: v.datatype, shape: [1, 2] });
      if (name === 'uint64' || name === 'int64') continue;
      expect(out?.data, name).toEqual(v.echoed ?? v.data);
    }
  });

  it('echoes binary tensor data of every type byte for byte', async () => {
    const blobs = Object.values(values).map((v) => v.raw(v.data));
    const header = Buffer.from(
      JSON.stringify({
        parameters: { binary_data_output: true },
        inputs: Object.entries(values).map(([name, v], i) => ({ name: `${name}_in`, shape: [1, 2], datatype: v.datatype, parameters: { binary_data_size: blobs[i]!.length } })),
      }),
    );
    const res = await fetch(`${server.url}/v2/models/dtypes/infer`, { method: 'POST', headers: { 'Inference-Header-Content-Length': String(header.length) }, body: Buffer.concat([header, ...blobs]) });
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    const headerLength = Number(res.headers.get('inference-header-content-length'));
    const answer = JSON.parse(body.subarray(0, headerLength).toString()) as { outputs: { name: string; parameters: { binary_data_size: number } }[] };
    let at = headerLength;
    Object.keys(values).forEach((name, i) => {
      const out = answer.outputs[i]!;
      expect(out.name).toBe(`${name}_out`);
      const bytes = body.subarray(at, at + out.parameters.binary_data_size);
      at += out.parameters.binary_data_size;
      expect(bytes.equals(blobs[i]!), `${name}: ${bytes.toString('hex')} vs ${blobs[i]!.toString('hex')}`).toBe(true);
    });
    expect(at).toBe(body.length);
  });

  const outOfRange: { name: string; datatype: string; data: unknown[]; error: RegExp }[] = [
    { name: 'uint8', datatype: 'UINT8', data: [0, 256], error: /input uint8_in: element 1 is 256, expected an integer in \[0, 255\] for UINT8/ },
    { name: 'int8', datatype: 'INT8', data: [-129, 0], error: /element 0 is -129, expected an integer in \[-128, 127\]/ },
    { name: 'int32', datatype: 'INT32', data: [1.5, 0], error: /element 0 is 1.5, expected an integer/ },
    { name: 'int64', datatype: 'INT64', data: ['12x', 0], error: /element 0 is "12x", expected an integer .* decimal string for exact 64-bit values/ },
    { name: 'uint64', datatype: 'UINT64', data: [-1, 0], error: /element 0 is -1, expected an integer in \[0, 18446744073709551615\]/ },
    { name: 'bool', datatype: 'BOOL', data: [1, 0], error: /element 0 is 1, expected true or false for BOOL/ },
    { name: 'bytes', datatype: 'BYTES', data: [5, 'x'], error: /element 0 is 5, expected a string for BYTES/ },
  ];
  it.each(outOfRange)('$datatype value out of its range → 400', async ({ name, datatype, data, error }) => {
    const inputs = Object.entries(values).map(([n, v]) => ({ name: `${n}_in`, shape: [1, 2], datatype: v.datatype, data: n === name ? data : v.data }));
    expect(inputs.find((i) => i.name === `${name}_in`)?.datatype).toBe(datatype);
    const r = await infer(server.url, 'dtypes', { inputs });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(error);
  });
});

describe('ferry serve: lifecycle and test knobs', () => {
  it('on SIGTERM turns unready, lets the in-flight request finish, then exits 0', async () => {
    const server = await startServe(['--model-path', join(dir, 'model.onnx'), '--port', '0', '--inject-latency-ms', '2500', '--shutdown-delay', '1s']);
    const slow = infer(server.url, 'model', { id: 'slow', inputs: [featuresInput(samples[2]!.features)] }).then((r) => ({ ...r, at: performance.now() }));
    await pollUntil(async () => (sampleValue((await scrape(server.url)).exposition, 'ferry_serve_inference_in_flight', { model: 'model', version: '1' }) === 1 ? true : undefined), {
      what: 'the slow request to be in flight',
    });
    const signalledAt = performance.now();
    server.child.kill('SIGTERM');
    // During the shutdown delay the server still answers, but reports not ready.
    const unready = await pollUntil(async () => {
      const r = await fetch(`${server.url}/v2/health/ready`);
      return r.status === 503 ? ((await r.json()) as unknown) : undefined;
    }, { what: 'readiness to turn false' });
    expect(unready).toEqual({ ready: false });
    expect((await fetch(`${server.url}/v2/health/live`)).status).toBe(200);

    const done = await slow;
    expect(done.status).toBe(200);
    expect(done.at).toBeGreaterThan(signalledAt);
    expect(done.body.id).toBe('slow');
    expectClose(done.body.outputs![0]!.data as number[], golden[2]!.logits.flat());
    expect(await server.exited).toBe(0);
    expect(JSON.parse(server.stdoutLines.at(-1)!)).toMatchObject({ event: 'stopped', drained: true, cut_off: 0 });
    expect(server.stderr()).toMatch(/draining: readiness is false/);
  });

  it('keeps answering health checks and /metrics while an inference runs on its thread', async () => {
    // slow.onnx keeps one core busy for a good part of a second per inference.
    const server = await startServe(['--model-path', join(dir, 'slow.onnx'), '--port', '0', '--workers', '1', '--threads', '1']);
    const order: string[] = [];
    const slow = infer(server.url, 'slow', { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [0.001] }] }).then((r) => {
      order.push('inference');
      return r;
    });
    await pollUntil(async () => (sampleValue((await scrape(server.url)).exposition, 'ferry_serve_inference_in_flight', { model: 'slow', version: '1' }) === 1 ? true : undefined), {
      what: 'the slow inference to be in flight',
    });
    const live = await fetch(`${server.url}/v2/health/live`);
    order.push('live');
    const metrics = (await scrape(server.url)).exposition;
    order.push('metrics');
    expect(live.status).toBe(200);
    expect(sampleValue(metrics, 'ferry_serve_inference_in_flight', { model: 'slow', version: '1' })).toBe(1);
    const done = await slow;
    expect(order).toEqual(['live', 'metrics', 'inference']);
    expect(done.status).toBe(200);
    expect(done.body.outputs?.[0]).toMatchObject({ name: 'y', datatype: 'FP32', shape: [] });
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('closes requests still running at the drain timeout, and still exits 0', async () => {
    const server = await startServe(['--model-path', join(dir, 'model.onnx'), '--port', '0', '--inject-latency-ms', '30000', '--drain-timeout', '300ms']);
    const stuck = fetch(`${server.url}/v2/models/model/infer`, { method: 'POST', body: JSON.stringify({ inputs: [featuresInput(samples[0]!.features)] }) }).then(
      (r) => `status ${r.status}`,
      (err: unknown) => `failed: ${err instanceof Error ? err.message : String(err)}`,
    );
    await pollUntil(async () => (sampleValue((await scrape(server.url)).exposition, 'ferry_serve_inference_in_flight', { model: 'model', version: '1' }) === 1 ? true : undefined), {
      what: 'the stuck request to be in flight',
    });
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(await stuck).toMatch(/^failed/);
    expect(JSON.parse(server.stdoutLines.at(-1)!)).toMatchObject({ event: 'stopped', drained: false, cut_off: 1 });
    expect(server.stderr()).toMatch(/drain timeout \(--drain-timeout 300 ms\): closed 1 request\(s\) still in flight/);
  });

  it('answers 504 when an inference outlives --request-timeout', async () => {
    const server = await startServe(['--model-path', join(dir, 'model.onnx'), '--port', '0', '--inject-latency-ms', '5000', '--request-timeout', '200ms']);
    const r = await infer(server.url, 'model', { inputs: [featuresInput(samples[0]!.features)] });
    expect(r.status).toBe(504);
    expect(r.body.error).toBe('inference did not finish within 200 ms (--request-timeout)');
    const metrics = (await scrape(server.url)).exposition;
    expect(sampleValue(metrics, 'ferry_serve_inference_errors_total', { reason: 'timeout' })).toBe(1);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('--inject-error-rate fails about that fraction, the same requests for the same seed', async () => {
    const n = 1000;
    const rate = 0.2;
    const countFailures = async (): Promise<{ failed: number; metric: number; message: string | undefined }> => {
      const server = await startServe(['--model-path', join(dir, 'model.onnx'), '--port', '0', '--inject-error-rate', String(rate), '--inject-seed', '42']);
      let failed = 0;
      let message: string | undefined;
      let next = 0;
      const body = JSON.stringify({ inputs: [featuresInput(samples[0]!.features)] });
      const worker = async (): Promise<void> => {
        while (next++ < n) {
          const res = await fetch(`${server.url}/v2/models/model/infer`, { method: 'POST', body });
          const answer = (await res.json()) as InferBody;
          if (res.status === 500) {
            failed++;
            message = answer.error;
          } else expect(res.status).toBe(200);
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      const metric = sampleValue((await scrape(server.url)).exposition, 'ferry_serve_inference_errors_total', { reason: 'injected' });
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      return { failed, metric, message };
    };
    const first = await countFailures();
    // Binomial(1000, 0.2): mean 200, sd 12.6; ±5 sd is a bound a correct server never misses.
    expect(first.failed).toBeGreaterThanOrEqual(137);
    expect(first.failed).toBeLessThanOrEqual(263);
    expect(first.metric).toBe(first.failed);
    expect(first.message).toBe('injected failure (--inject-error-rate 0.2)');
    // One draw per request in arrival order: the same seed fails the same number of requests.
    expect((await countFailures()).failed).toBe(first.failed);
  });

  it('--inject-latency-ms adds at least that much to every answer', async () => {
    const server = await startServe(['--model-path', join(dir, 'model.onnx'), '--port', '0', '--inject-latency-ms', '300', '--inject-latency-jitter-ms', '50']);
    for (let i = 0; i < 3; i++) expect((await infer(server.url, 'model', { inputs: [featuresInput(samples[0]!.features)] })).status).toBe(200);
    const metrics = (await scrape(server.url)).exposition;
    const labels = { model: 'model', version: '1' };
    expect(sampleValue(metrics, 'ferry_serve_inference_request_duration_seconds_count', labels)).toBe(3);
    expect(sampleValue(metrics, 'ferry_serve_inference_request_duration_seconds_bucket', { ...labels, le: '0.25' })).toBe(0);

    // A client that gives up is counted (499, client_closed), and the server serves on.
    const gaveUp = new AbortController();
    const abandoned = fetch(`${server.url}/v2/models/model/infer`, { method: 'POST', body: JSON.stringify({ inputs: [featuresInput(samples[0]!.features)] }), signal: gaveUp.signal }).catch(() => 'aborted');
    await pollUntil(async () => (sampleValue((await scrape(server.url)).exposition, 'ferry_serve_inference_in_flight', labels) === 1 ? true : undefined), { what: 'the request to be in flight' });
    gaveUp.abort();
    expect(await abandoned).toBe('aborted');
    await pollUntil(async () => (sampleValue((await scrape(server.url)).exposition, 'ferry_serve_inference_errors_total', { ...labels, reason: 'client_closed' }) === 1 ? true : undefined), {
      what: 'the abandoned request to be counted',
    });
    expect(sampleValue((await scrape(server.url)).exposition, 'ferry_serve_inference_requests_total', { ...labels, code: '499' })).toBe(1);
    expect((await infer(server.url, 'model', { inputs: [featuresInput(samples[0]!.features)] })).status).toBe(200);
    expect(server.stderr()).not.toMatch(/error:/);
    server.child.kill('SIGINT');
    expect(await server.exited).toBe(0);
  });
});

describe('ferry serve: bad input is exit 2 with the input named', () => {
  it('ferry --help lists serve apart from the six steps', async () => {
    const r = await ferry(['--help']);
    expect(r.code).toBe(0);
    const commands = r.stdout.split('\nCommands:\n')[1] ?? '';
    expect(commands).toMatch(/^ {2}serve\s+Serve an ONNX model over the Open Inference Protocol v2/m);
    expect(r.stdout.split('\nCommands:\n')[0]).not.toMatch(/^ {2}serve\b/m);
    const help = await ferry(['serve', '--help']);
    expect(help.code).toBe(0);
    for (const flag of ['--model-path', '--model-name', '--model-version', '--host', '--port', '--max-body-bytes', '--drain-timeout', '--inject-latency-ms', '--inject-error-rate']) expect(help.stdout).toContain(flag);
  });

  it('names the port that is already in use', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await ferry(['serve', '--model-path', join(dir, 'model.onnx'), '--port', String(port)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`ferry serve: error: --port: port ${port} on 127.0.0.1 is already in use (choose another --port, or --port 0 for a free one)`);
    } finally {
      blocker.close();
    }
  });

  const cases: { name: string; args: () => string[]; message: RegExp }[] = [
    { name: 'missing --model-path', args: () => [], message: /missing required --model-path/ },
    { name: 'model that does not exist', args: () => ['--model-path', '/nonexistent/model.onnx'], message: /--model-path: \/nonexistent\/model.onnx does not exist/ },
    { name: 'file that is not ONNX', args: () => ['--model-path', join(dir, 'eval.csv')], message: /--model-path: onnxruntime cannot load .*eval.csv/ },
    { name: 'directory without a model', args: () => ['--model-path', mkdtempSync(join(tmpdir(), 'ferry-serve-empty-'))], message: /is a directory with no .onnx files; name the model file/ },
    { name: 'misspelled option', args: () => ['--model-pth', 'x'], message: /unknown option --model-pth \(did you mean "--model-path"\?\)/ },
    { name: 'port out of range', args: () => ['--model-path', join(dir, 'model.onnx'), '--port', '70000'], message: /--port must be at most 65535, got "70000"/ },
    { name: 'error rate above 1', args: () => ['--model-path', join(dir, 'model.onnx'), '--inject-error-rate', '1.5'], message: /--inject-error-rate must be at most 1/ },
    { name: 'bad duration', args: () => ['--model-path', join(dir, 'model.onnx'), '--drain-timeout', 'soon'], message: /--drain-timeout must be a duration such as 500ms, 30s, 2m or 1h/ },
    { name: 'model name with a slash', args: () => ['--model-path', join(dir, 'model.onnx'), '--model-name', 'a/b'], message: /--model-name must be a value matching/ },
  ];
  it.each(cases)('$name', async ({ args, message }) => {
    const r = await ferry(['serve', ...args()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ferry serve: error: /m);
    expect(r.stderr).toMatch(message);
  });
});
