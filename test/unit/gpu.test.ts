// GPU telemetry through output recorded on real machines (test/fixtures/gpu, sources in its
// README.md): the nvidia-smi query and table parsers, throttle decoding, the readiness check and the
// long-running sampler against a replayed nvidia-smi, the dcgm-exporter parser and scraper against a
// local server, and the window/energy maths of the summary.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfrastructureError, InputError } from '@ferry/core';
import {
  checkGpus,
  decodeThrottleReasons,
  parseCudaVersion,
  parseDcgmMetrics,
  parseDriverVersion,
  parseQueryCsv,
  startDcgmScraper,
  startNvidiaSmiSampler,
  summarizeGpu,
  type GpuSample,
} from '../../packages/bench/src/gpu/index.ts';
import { makeBrokenNvidiaSmi, makeNvidiaSmiReplay, type NvidiaSmiCapture, type NvidiaSmiReplay } from '../support/nvidia-smi-replay.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/gpu/', import.meta.url));
const fixture = (path: string): string => readFileSync(join(FIXTURES, path), 'utf8');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check() && Date.now() < end) await sleep(20);
}

const FIELDS = ['name', 'driver_version', 'memory.total', 'memory.used', 'utilization.gpu', 'utilization.memory', 'power.draw', 'clocks.sm', 'temperature.gpu', 'clocks_throttle_reasons.active'];

describe('nvidia-smi --query-gpu CSV, recorded on real GPUs', () => {
  // Read by eye from each recording (the full --format=csv query of nvidia_gpu_exporter's collector).
  it.each([
    ['linux__h100-80gb-hbm3__590.48.01', 'idle', 'NVIDIA H100 80GB HBM3', '590.48.01', 81559, 0, 0, 0, 69.85, 345, 41, ['gpu_idle']],
    ['linux__h100-80gb-hbm3__590.48.01', 'load', 'NVIDIA H100 80GB HBM3', '590.48.01', 81559, 19818, 100, 11, 631.95, 1980, 59, []],
    ['linux__h100-mig__590.48.01', 'idle', 'NVIDIA H100 80GB HBM3', '590.48.01', 81559, 59, undefined, undefined, 71.15, 345, 42, ['gpu_idle']],
    ['linux__h100-mig__590.48.01', 'load', 'NVIDIA H100 80GB HBM3', '590.48.01', 81559, 11125, undefined, undefined, 433.78, 1980, 53, []],
    ['linux__h200__590.48.01', 'idle', 'NVIDIA H200', '590.48.01', 143771, 0, 0, 0, 77.71, 345, 28, ['gpu_idle']],
    ['linux__h200__590.48.01', 'load', 'NVIDIA H200', '590.48.01', 143771, 32362, 100, 7, 627.4, 1980, 52, []],
    ['linux__l40s__595.80', 'idle', 'NVIDIA L40S', '595.80', 46068, 0, 100, 9, 144.97, 2520, 63, []],
    ['linux__l40s__595.80', 'load', 'NVIDIA L40S', '595.80', 46068, 1235, 9, 2, 110.23, 2520, 54, []],
    ['linux__geforce-rtx-2080-super__595.71.05', 'idle', 'NVIDIA GeForce RTX 2080 SUPER', '595.71.05', 8192, 214, 0, 9, 39.32, 765, 40, ['sw_power_cap']],
    ['linux__geforce-rtx-2080-super__595.71.05', 'load', 'NVIDIA GeForce RTX 2080 SUPER', '595.71.05', 8192, 819, 8, 3, 111.5, 2055, 45, []],
    ['linux__geforce-rtx-2080-super__610.57.04', 'idle', 'NVIDIA GeForce RTX 2080 SUPER', '610.57.04', 8192, 211, 0, 0, 39.17, 765, 33, ['gpu_idle']],
    ['linux__geforce-rtx-2080-super__610.57.04', 'load', 'NVIDIA GeForce RTX 2080 SUPER', '610.57.04', 8192, 815, 8, 3, 98.14, 2070, 38, []],
    ['windows__geforce-rtx-2080-super__610.62', 'idle', 'NVIDIA GeForce RTX 2080 SUPER', '610.62', 8192, 797, 0, 10, 39.25, 300, 40, ['gpu_idle']],
    ['windows__geforce-rtx-2080-super__610.62', 'load', 'NVIDIA GeForce RTX 2080 SUPER', '610.62', 8192, 1366, 7, 3, 97.99, 2040, 44, []],
  ] as const)('%s %s', (capture, state, name, driver, total, used, util, memUtil, power, sm, temp, reasons) => {
    const rows = parseQueryCsv(fixture(`nvidia-smi/${capture}/query-gpu.${state}.csv`), FIELDS);
    expect(rows).toHaveLength(1);
    const r = rows[0]!;
    expect(r).toMatchObject({ name, driver_version: driver, 'memory.total': total, 'memory.used': used, 'power.draw': power, 'clocks.sm': sm, 'temperature.gpu': temp });
    // MIG mode: the driver reports utilisation per instance only, so the device row says [N/A].
    expect(r['utilization.gpu']).toBe(util);
    expect(r['utilization.memory']).toBe(memUtil);
    expect(decodeThrottleReasons(r['clocks_throttle_reasons.active'])).toEqual(reasons);
  });

  it('reads csv,noheader,nounits in field order; a bare N/A is undefined and a driver version stays text', () => {
    // nvidia-smi 440.64 on a GeForce RTX 2080, from a gpu-utils issue.
    const fields = 'power.limit,power.min_limit,power.max_limit,memory.total,vbios_version,driver_version,name,gpu_uuid,power.draw,temperature.gpu,temperature.memory,clocks.current.graphics,clocks.sm,clocks.mem,utilization.gpu,utilization.memory,fan.speed,pcie.link.width.current,pstate'.split(',');
    const [r] = parseQueryCsv(fixture('nvidia-smi/issues/noheader-nounits.gpu-utils-83.csv'), fields);
    expect(r).toMatchObject({
      'power.limit': 200,
      'memory.total': 7979,
      vbios_version: '90.04.23.00.5F',
      driver_version: '440.64',
      name: 'GeForce RTX 2080',
      gpu_uuid: 'GPU-22b2c6ac-2d49-4863-197c-9c469071178a',
      'power.draw': 176.98,
      'temperature.gpu': 45,
      'clocks.sm': 1965,
      'utilization.gpu': 86,
      pstate: 'P2',
    });
    expect(r!['temperature.memory']).toBeUndefined();
  });

  it('reads a looped csv with header and units (one header, then a row per tick)', () => {
    const rows = parseQueryCsv(fixture('nvidia-smi/issues/loop.csv.ksysguard-gpu-27.csv'), ['index', 'utilization.gpu', 'power.draw', 'clocks.sm', 'pstate']);
    expect(rows).toHaveLength(13);
    expect(rows[0]).toEqual({ index: 0, 'utilization.gpu': 26, 'power.draw': 83.92, 'clocks.sm': 1320, pstate: 'P3' });
    expect(rows.map((r) => r['utilization.gpu'])).toEqual([26, 25, 24, 26, 27, 28, 29, 30, 28, 32, 28, 23, 25]);
  });

  it('throws on a line that does not have the asked-for number of values', () => {
    expect(() => parseQueryCsv(fixture('nvidia-smi/issues/failure.driver-not-loaded.txt'), ['index', 'name'])).toThrow(InfrastructureError);
  });
});

describe('throttle (clock event) reasons', () => {
  it.each([
    ['0x0000000000000000', []],
    ['0x0000000000000001', ['gpu_idle']],
    ['0x0000000000000004', ['sw_power_cap']],
    ['0x0000000000000048', ['hw_slowdown', 'hw_thermal_slowdown']],
    ['0x00000000000000A0', ['sw_thermal_slowdown', 'hw_power_brake_slowdown']],
    ['0x0000000000000800', ['unknown_0x800']],
    [0x12, ['applications_clocks_setting', 'sync_boost']],
    ['[N/A]', undefined],
    [undefined, undefined],
  ] as const)('%s', (mask, names) => {
    expect(decodeThrottleReasons(mask)).toEqual(names);
  });

  it('decodes the supported-reasons mask an H100 reports to every documented reason up to display clock', () => {
    const [r] = parseQueryCsv(fixture('nvidia-smi/linux__h100-80gb-hbm3__590.48.01/query-gpu.idle.csv'), ['clocks_event_reasons.supported']);
    expect(r!['clocks_event_reasons.supported']).toBe('0x00000000000001FF');
    expect(decodeThrottleReasons(r!['clocks_event_reasons.supported'])).toEqual([
      'gpu_idle',
      'applications_clocks_setting',
      'sw_power_cap',
      'hw_slowdown',
      'sync_boost',
      'sw_thermal_slowdown',
      'hw_thermal_slowdown',
      'hw_power_brake_slowdown',
      'display_clock_setting',
    ]);
  });
});

describe('the plain nvidia-smi table', () => {
  it.each([
    ['linux__h100-80gb-hbm3__590.48.01/table.idle.txt', '590.48.01', '13.1'],
    ['linux__h100-mig__590.48.01/table.load.txt', '590.48.01', '13.1'],
    ['linux__h200__590.48.01/table.load.txt', '590.48.01', '13.1'],
    ['linux__l40s__595.80/table.idle.txt', '595.80', '13.2'],
    ['linux__geforce-rtx-2080-super__595.71.05/table.load.txt', '595.71.05', '13.2'],
    // Driver 610 renamed the header fields: "KMD Version", "CUDA UMD Version".
    ['linux__geforce-rtx-2080-super__610.57.04/table.idle.txt', '610.57.04', '13.3'],
    ['windows__geforce-rtx-2080-super__610.62/table.load.txt', '610.62', '13.3'],
    // nvidia-smi from a 470 userspace against a 580 kernel driver: the table reports the driver's CUDA.
    ['issues/table.470.256.02.inference-snaps-89.txt', '580.95.05', '13.0'],
    // Before CUDA Version was printed at all.
    ['issues/table.331.62.cbio-cluster-38.txt', '331.62', undefined],
  ])('%s', (path, driver, cuda) => {
    const table = fixture(`nvidia-smi/${path}`);
    expect(parseDriverVersion(table)).toBe(driver);
    expect(parseCudaVersion(table)).toBe(cuda);
  });
});

describe('checkGpus against a replayed nvidia-smi', () => {
  const replays: NvidiaSmiReplay[] = [];
  afterAll(async () => {
    await Promise.all(replays.map((r) => r.cleanup()));
  });
  const pathWith = (r: NvidiaSmiReplay): NodeJS.ProcessEnv => ({ PATH: `${r.dir}:${process.env.PATH ?? ''}` });

  it.each([
    ['linux__h100-80gb-hbm3__590.48.01', 'NVIDIA H100 80GB HBM3', 81559, '590.48.01', '13.1'],
    ['linux__h200__590.48.01', 'NVIDIA H200', 143771, '590.48.01', '13.1'],
    ['windows__geforce-rtx-2080-super__610.62', 'NVIDIA GeForce RTX 2080 SUPER', 8192, '610.62', '13.3'],
  ] as const)('%s', async (capture: NvidiaSmiCapture, name, memory, driver, cuda) => {
    const replay = await makeNvidiaSmiReplay({ capture });
    replays.push(replay);
    const ready = await checkGpus({ env: pathWith(replay) });
    expect(ready).toEqual({
      available: true,
      driverVersion: driver,
      cudaVersion: cuda,
      gpus: [{ index: 0, name, uuid: 'GPU-00000000-0000-0000-0000-000000000000', memoryTotalMiB: memory, driverVersion: driver }],
    });
  });

  it('no nvidia-smi on PATH: not available, and says why', async () => {
    const ready = await checkGpus({ env: { PATH: join(FIXTURES, 'dcgm') } });
    expect(ready).toEqual({ available: false, reason: 'nvidia-smi is not on PATH: no NVIDIA driver on this runner', gpus: [] });
  });

  it.each([
    ['driver-not-loaded', "nvidia-smi failed (exit 9): NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running."],
    ['version-mismatch', 'nvidia-smi failed (exit 18): Failed to initialize NVML: Driver/library version mismatch'],
  ] as const)('a broken driver (%s): not available, with its first line', async (failure, reason) => {
    const broken = await makeBrokenNvidiaSmi(failure);
    replays.push(broken);
    expect(await checkGpus({ nvidiaSmi: broken.bin })).toEqual({ available: false, reason, gpus: [] });
  });
});

describe('the nvidia-smi sampler (one long-running process, replayed)', () => {
  let replay: NvidiaSmiReplay;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    replay = await makeNvidiaSmiReplay();
    env = { PATH: `${replay.dir}:${process.env.PATH ?? ''}` };
  });
  afterAll(() => replay.cleanup());

  it('streams readings at 100 ms, restricts them to the window and kills nvidia-smi on stop()', async () => {
    const gpus = [{ index: 0, name: 'NVIDIA H100 80GB HBM3' }];
    const sampler = startNvidiaSmiSampler({ intervalMs: 100, env, gpus });
    await until(() => sampler.samples().length >= 3);
    const pid = sampler.pid!;
    expect(alive(pid)).toBe(true);
    await sleep(700);
    const readings = sampler.samples();
    const telemetry = await sampler.stop();
    await until(() => !alive(pid));
    expect(alive(pid)).toBe(false);
    expect(sampler.throttleField).toBe('clocks_throttle_reasons.active');

    const g = telemetry.gpus[0]!;
    expect(g.samples).toBeGreaterThanOrEqual(5);
    expect(g.name).toBe('NVIDIA H100 80GB HBM3');
    // The replay alternates the recorded idle and load rows.
    expect(g.powerW!.peak).toBe(631.95);
    expect(g.memoryUsedMiB!.peak).toBe(19818);
    expect(g.memoryTotalMiB).toBe(81559);
    expect(g.throttle.gpu_idle).toBeGreaterThan(0.3);
    // The achieved interval is measured, not assumed (loose bounds: CI machines are busy).
    expect(g.meanIntervalMs).toBeGreaterThan(60);
    expect(g.meanIntervalMs).toBeLessThan(300);
    expect(g.energyJoules).toBeGreaterThan(0);
    expect(telemetry.warnings.join('\n')).toMatch(/utilization\.gpu counts the time any kernel ran/);

    const from = readings[2]!.tMs;
    const windowed = summarizeGpu(readings, { source: 'nvidia-smi', intervalMs: 100, fromMs: from });
    expect(windowed.gpus[0]!.samples).toBe(readings.length - 2);
  });

  it('asks for clocks_event_reasons.active when the driver does not know clocks_throttle_reasons.active', async () => {
    const newer = await makeNvidiaSmiReplay({ rejectFields: ['clocks_throttle_reasons.active'] });
    try {
      const sampler = startNvidiaSmiSampler({ intervalMs: 50, nvidiaSmi: newer.bin });
      await until(() => sampler.samples().length >= 4);
      const telemetry = await sampler.stop();
      expect(sampler.throttleField).toBe('clocks_event_reasons.active');
      expect(telemetry.gpus[0]!.throttle.gpu_idle).toBeGreaterThan(0);
      expect(telemetry.warnings[0]).toBe('nvidia-smi does not know clocks_throttle_reasons.active; asking for clocks_event_reasons.active instead');
    } finally {
      await newer.cleanup();
    }
  });

  it('the abort signal kills nvidia-smi; stop() still summarises what was read', async () => {
    const controller = new AbortController();
    const sampler = startNvidiaSmiSampler({ intervalMs: 50, env, signal: controller.signal });
    await until(() => sampler.samples().length >= 2);
    const pid = sampler.pid!;
    controller.abort();
    await until(() => !alive(pid));
    expect(alive(pid)).toBe(false);
    const telemetry = await sampler.stop();
    expect(telemetry.gpus[0]!.samples).toBeGreaterThanOrEqual(2);
  });

  it('a broken driver: stop() rejects with InfrastructureError carrying the driver message', async () => {
    const broken = await makeBrokenNvidiaSmi();
    try {
      const sampler = startNvidiaSmiSampler({ intervalMs: 100, nvidiaSmi: broken.bin });
      await sleep(300);
      const err = await sampler.stop().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InfrastructureError);
      expect((err as Error).message).toMatch(/exit 9.*couldn't communicate with the NVIDIA driver/);
    } finally {
      await broken.cleanup();
    }
  });

  it.each([250, 201, 19, 0, 100.5])('gpu-sample-interval %s ms is refused (20..200 whole ms)', (intervalMs) => {
    let err: unknown;
    try {
      startNvidiaSmiSampler({ intervalMs, env });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).subject).toBe('gpu-sample-interval');
    expect((err as InputError).exitCode).toBe(2);
  });
});

describe('dcgm-exporter /metrics, recorded', () => {
  it('8× H100 on EKS: per-GPU power, temperature, utilisation, model and host', () => {
    const gpus = parseDcgmMetrics(fixture('dcgm/h100x8__580.105.08__eks.prom'));
    expect(gpus.map((g) => g.gpu)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(gpus[0]).toMatchObject({
      uuid: 'GPU-c4529c8d-69c4-b61d-e0bc-7b2460096005',
      modelName: 'NVIDIA H100 80GB HBM3',
      hostname: 'gpu-node-1',
      powerW: 113.611,
      temperatureC: 30,
      utilizationPct: 0,
      memoryUtilizationPct: 0,
    });
    expect(gpus[7]).toMatchObject({ powerW: 66.997, temperatureC: 26, utilizationPct: 0 });
    // The recording lists DCGM_FI_DEV_MEM_COPY_UTIL for GPUs 0–5 only.
    expect(gpus[7]!.memoryUtilizationPct).toBeUndefined();
    expect(gpus[0]!.smActive).toBeUndefined();
  });

  it('2× T4 on GKE with profiling metrics: SM active', () => {
    const gpus = parseDcgmMetrics(fixture('dcgm/t4x2__gke__dcp.prom'));
    expect(gpus).toEqual([
      expect.objectContaining({ gpu: 0, smActive: 0, modelName: 'Tesla T4', hostname: 'gke-test-dcgm-default-pool-fed1e979-tt7p', uuid: 'GPU-84412445-5790-0b3f-f714-da8aa3b2c0b0' }),
      expect.objectContaining({ gpu: 1, smActive: 0, modelName: 'Tesla T4', uuid: 'GPU-4812b59b-1f1a-430f-d8a4-69d2ee8c18bb' }),
    ]);
    expect(gpus[0]!.utilizationPct).toBeUndefined();
  });

  it('T4 with the default counters: SM clock, power, framebuffer used', () => {
    const [g, ...rest] = parseDcgmMetrics(fixture('dcgm/t4__460.106.00__default-counters.prom'));
    expect(rest).toEqual([]);
    expect(g).toMatchObject({ gpu: 0, modelName: 'Tesla T4', smClockMHz: 300, powerW: 8.969, temperatureC: 25, utilizationPct: 0, memoryUsedMiB: 0 });
  });
});

describe('the dcgm-exporter scraper', () => {
  let server: http.Server;
  let url: string;
  let failFirst = 0;
  beforeAll(async () => {
    const body = fixture('dcgm/h100x8__580.105.08__eks.prom');
    server = http.createServer((_req, res) => {
      if (failFirst > 0) {
        failFirst--;
        res.writeHead(503).end('not ready');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('polls at the interval, summarises every GPU, and notices the exporter repeating itself', async () => {
    failFirst = 2;
    const scraper = startDcgmScraper({ url, intervalMs: 40 });
    await until(() => scraper.samples().length >= 8 * 8);
    const telemetry = await scraper.stop();
    expect(telemetry.source).toBe('dcgm');
    expect(telemetry.gpus).toHaveLength(8);
    const g0 = telemetry.gpus[0]!;
    expect(g0.name).toBe('NVIDIA H100 80GB HBM3');
    expect(g0.powerW).toEqual({ mean: 113.611, peak: 113.611 });
    expect(g0.samples).toBeGreaterThanOrEqual(8);
    expect(telemetry.warnings.join('\n')).toMatch(/^2 of \d+ scrapes of http:\/\/127\.0\.0\.1:\d+\/metrics failed; first: HTTP 503/m);
    expect(telemetry.warnings.join('\n')).toMatch(/identical values in 100% of consecutive scrapes/);
    expect(telemetry.warnings.join('\n')).not.toMatch(/utilization\.gpu counts/);
  });

  it('a URL nothing answers: stop() rejects with InfrastructureError naming the URL', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const scraper = startDcgmScraper({ url: `http://127.0.0.1:${port}/metrics`, intervalMs: 50 });
    await sleep(200);
    const err = await scraper.stop().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfrastructureError);
    expect((err as Error).message).toContain(`no scrape of http://127.0.0.1:${port}/metrics succeeded`);
  });

  it('refuses a dcgm-url that is not http(s)', () => {
    expect(() => startDcgmScraper({ url: 'localhost:9400/metrics' })).toThrow(InputError);
  });
});

describe('summarizeGpu', () => {
  const at = (tMs: number, powerW: number, extra: Partial<GpuSample> = {}): GpuSample => ({ tMs, gpu: 0, powerW, ...extra });

  it('restricts to the window and integrates power by the trapezoid rule', () => {
    const power = [100, 100, 200, 200, 300, 300, 300, 200, 200, 100, 100];
    const samples = power.map((p, i) => at(1000 + i * 100, p, i === 3 || i === 5 ? { throttleReasons: ['sw_power_cap'] } : { throttleReasons: [] }));
    const t = summarizeGpu(samples, { source: 'nvidia-smi', intervalMs: 100, fromMs: 1200, toMs: 1800 });
    const g = t.gpus[0]!;
    expect(g.samples).toBe(7);
    expect(g.powerW!.peak).toBe(300);
    expect(g.powerW!.mean).toBeCloseTo(1700 / 7, 10);
    // 0.1 s × (200+200)/2 + (200+300)/2 + (300+300)/2 ×2 + (300+200)/2 + (200+200)/2 = 20+25+30+30+25+20
    expect(g.energyJoules).toBeCloseTo(150, 10);
    expect(g.meanIntervalMs).toBe(100);
    expect(g.throttle).toEqual({ sw_power_cap: 2 / 7 });
    expect(t.warnings).toContain('GPU 0: clocks held back by sw_power_cap in 29% of readings');
    expect(g.series.map((p) => p.tS)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    expect(g.series[0]!.powerW).toBe(200);
  });

  it('energy over the 13 recorded 1 s readings of an RTX looped query', () => {
    const rows = parseQueryCsv(fixture('nvidia-smi/issues/loop.csv.ksysguard-gpu-27.csv'), ['utilization.gpu', 'power.draw']);
    const samples = rows.map((r, i) => at(i * 1000, r['power.draw'] as number, { utilizationPct: r['utilization.gpu'] as number }));
    const g = summarizeGpu(samples, { source: 'nvidia-smi', intervalMs: 200 }).gpus[0]!;
    expect(g.utilizationPct).toEqual({ mean: 27, peak: 32 });
    // Sum of all readings 1049.32 W·s minus half the first and last (83.92 + 83.43) / 2.
    expect(g.energyJoules).toBeCloseTo(965.645, 6);
  });

  it('keeps at most 60 chart points, reports a source that falls behind, and an empty window', () => {
    const many = Array.from({ length: 200 }, (_, i) => at(i * 500, 100, { smActive: 0.5 }));
    const t = summarizeGpu(many, { source: 'dcgm', intervalMs: 100 });
    expect(t.gpus[0]!.series).toHaveLength(60);
    expect(t.gpus[0]!.smActive).toEqual({ mean: 0.5, peak: 0.5 });
    expect(t.warnings).toContain('GPU 0: one reading every 500 ms on average, not the requested 100 ms: dcgm could not keep up');
    const empty = summarizeGpu(many, { source: 'dcgm', intervalMs: 100, fromMs: 1e9 });
    expect(empty.gpus).toEqual([]);
    expect(empty.warnings).toEqual(['no GPU readings fell inside the measurement window (200 outside it)']);
  });
});
