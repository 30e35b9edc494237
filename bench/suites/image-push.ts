// build-serving-image beside `skopeo copy` on the same loopback CNCF distribution registry: pushing
// an image with a 1 GiB model layer, rebuilding it with unchanged weights, and the peak memory of
// building and pushing a 4 GiB model.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cachedRandomFile, GiB, MiB, residentBytes, warmPageCache } from '../lib/data-files.ts';
import { formatBytes, formatMs, formatThroughput, sizeTag } from '../lib/format.ts';
import { safetensorsHeader, uniformTensors } from '../lib/model-files.ts';
import { CACHE_DIR, CLI_BIN, doorEnv } from '../lib/paths.ts';
import { infoRow, memoryBudgetRow, timeBudgetRow, timeRatioRow, type Row } from '../lib/report.ts';
import { spawnTimed, stderrTail } from '../lib/spawn.ts';
import type { Suite, SuiteContext, SuiteResult } from '../lib/suite.ts';
import { measureInterleaved, type Contender, type ContenderResult } from '../lib/timing.ts';

const SUITE = 'image-push';

const PLANS = {
  full: { pushBytes: 1 * GiB, bigBytes: 4 * GiB, runs: 3, rebuildRuns: 5 },
  quick: { pushBytes: 256 * MiB, bigBytes: 1 * GiB, runs: 2, rebuildRuns: 3 },
};

/** Issue 4: push time at most 1.2× skopeo's, a rebuild with unchanged weights under 2 s, peak RSS under 256 MiB for 4 GiB. */
const MAX_PUSH_RATIO = 1.2;
const MAX_REBUILD_MS = 2000;
const MAX_RSS = 256 * MiB;
/** A rebuild may send the changed configuration, never weights. */
const MAX_REBUILD_UPLOAD = 64 * 1024;

interface Registry {
  readonly host: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A CNCF distribution registry (Debian's docker-registry) on loopback with empty storage. */
async function startRegistry(): Promise<Registry> {
  const binary = spawnSync('sh', ['-c', 'command -v docker-registry'], { encoding: 'utf8' }).stdout.trim();
  if (binary === '') throw new Error('docker-registry is missing: run "sudo bash scripts/install-system-deps.sh" (Debian package docker-registry)');
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-registry-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    ['version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'storage')}`, 'http:', `  addr: 127.0.0.1:${port}`, ''].join('\n'),
  );
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REGISTRY_')));
  const child: ChildProcess = spawn(binary, ['serve', config], { env, stdio: 'ignore' });
  const host = `127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const up = await fetch(`http://${host}/v2/`).then((r) => r.status === 200, () => false);
    if (up) break;
    if (i > 100) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not answer on ${host}`);
    }
    await sleep(50);
  }
  return {
    host,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A model directory holding `file` (hard-linked, so the bytes on disk are shared with the other suites). */
function modelDir(name: string, file: string, as: string): string {
  const dir = join(CACHE_DIR, 'image-push', name);
  const target = join(dir, as);
  // Exactly one file: the model measured is the size the rows say.
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  linkSync(file, target);
  return dir;
}

interface BuildJson {
  verdict?: string;
  outputs?: Record<string, string>;
}

/** The CLI as users run it: an MLServer image of the model on an empty base, with the digest cache in `cache`. */
function ferryArgs(model: string, cache: string, extra: readonly string[]): string[] {
  return [
    CLI_BIN, 'build-serving-image', '--model-path', model, '--runtime', 'mlserver', '--implementation', 'mlserver_sklearn.SKLearnModel',
    '--model-name', 'bench', '--base-image', 'scratch', '--source-date-epoch', '0', '--cache-dir', cache, '--tag-rules', 'none', '--json', ...extra,
  ];
}

async function runFerry(model: string, cache: string, extra: readonly string[], cwd: string): Promise<{ ms: number; peakRssBytes: number | undefined; outputs: Record<string, string> }> {
  const p = await spawnTimed(process.execPath, ferryArgs(model, cache, extra), { env: doorEnv(), cwd, measureRss: true });
  let json: BuildJson;
  try {
    json = JSON.parse(p.stdout) as BuildJson;
  } catch {
    throw new Error(`ferry build-serving-image printed no JSON (${stderrTail(p)})`);
  }
  if (p.exitCode !== 0 || json.verdict !== 'pass' || json.outputs === undefined) throw new Error(`ferry build-serving-image failed (${stderrTail(p)})`);
  return { ms: p.ms, peakRssBytes: p.peakRssBytes, outputs: json.outputs };
}

const weightLayer = (outputs: Record<string, string>) =>
  (JSON.parse(outputs['layer-sizes'] ?? '[]') as { name: string; digest: string; size: number; reused: boolean | null }[]).find((l) => l.name.startsWith('model'));

async function manifestDigest(host: string, repository: string, tag: string): Promise<string | undefined> {
  const r = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  return r.status === 200 ? (r.headers.get('docker-content-digest') ?? undefined) : undefined;
}

function skopeoCopy(layout: string, host: string, repository: string): Promise<{ ms: number; peakRssBytes: number | undefined }> {
  // --preserve-digests: the uncompressed layer goes up as it is (no recompression), the same bytes Ferry sends.
  return spawnTimed('skopeo', ['copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${host}/${repository}:v1`], { env: doorEnv(), measureRss: true }).then((p) => {
    if (p.exitCode !== 0) throw new Error(`skopeo copy ${stderrTail(p)}`);
    return { ms: p.ms, peakRssBytes: p.peakRssBytes };
  });
}

async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const plan = ctx.quick ? PLANS.quick : PLANS.full;
  if (spawnSync('skopeo', ['--version']).status !== 0) throw new Error('skopeo is missing: run "sudo bash scripts/install-system-deps.sh" (Debian package skopeo)');
  const work = mkdtempSync(join(tmpdir(), 'ferry-bench-image-'));
  try {
    // The weights: random bytes (incompressible, like real ones), shared with the hashing and memory-growth suites.
    const pushFile = cachedRandomFile(`random-${sizeTag(plan.pushBytes)}.bin`, plan.pushBytes, ctx.log);
    const { head } = safetensorsHeader(uniformTensors(plan.bigBytes));
    const bigFile = cachedRandomFile(`model-${sizeTag(plan.bigBytes)}.safetensors`, head.length + plan.bigBytes, ctx.log, head);
    const model = modelDir(`push-${sizeTag(plan.pushBytes)}`, pushFile, 'model.bin');
    const big = modelDir(`big-${sizeTag(plan.bigBytes)}`, bigFile, 'model.safetensors');
    const warm = warmPageCache([pushFile]);
    const resident = residentBytes([pushFile]);
    ctx.log(`page cache warmed: read ${formatBytes(warm.bytes)} once in ${formatMs(warm.ms)}`);

    // One build to an OCI layout: the image both contenders push, and a warm digest cache for Ferry.
    const cache = join(work, 'cache');
    const layout = join(work, 'layout');
    const built = await runFerry(model, cache, ['--output', layout, '--tags', 'v1'], work);
    const digest = built.outputs.digest!;
    const layer = weightLayer(built.outputs);
    if (layer === undefined || layer.size < plan.pushBytes) throw new Error(`the built image has no ${formatBytes(plan.pushBytes)} model layer: ${built.outputs['layer-sizes']}`);
    ctx.log(`image ${digest}: model layer ${formatBytes(layer.size)} (${layer.digest}), built in ${formatMs(built.ms)}`);

    // Push: each run into an empty registry, so every byte goes up (and no tool can mount the blob from an earlier run).
    const pushSent: number[] = [];
    const pushContenders: Contender[] = [
      {
        id: 'ferry-push',
        label: 'ferry build-serving-image',
        run: async () => {
          const registry = await startRegistry();
          try {
            const r = await runFerry(model, cache, ['--image', `${registry.host}/bench/model`, '--insecure-registry', '--tags', 'v1'], work);
            if (r.outputs.digest !== digest) throw new Error(`ferry pushed ${r.outputs.digest}, expected ${digest}`);
            const sent = Number(r.outputs['bytes-uploaded']);
            if (sent < layer.size) throw new Error(`ferry uploaded ${sent} bytes into an empty registry, less than the ${layer.size}-byte layer`);
            pushSent.push(sent);
            return { ms: r.ms, peakRssBytes: r.peakRssBytes };
          } finally {
            await registry.stop();
          }
        },
      },
      {
        id: 'skopeo-push',
        label: 'skopeo copy',
        run: async () => {
          const registry = await startRegistry();
          try {
            const r = await skopeoCopy(layout, registry.host, 'bench/model');
            const got = await manifestDigest(registry.host, 'bench/model', 'v1');
            if (got !== digest) throw new Error(`skopeo copy stored ${got}, expected ${digest} (was the layer recompressed?)`);
            return r;
          } finally {
            await registry.stop();
          }
        },
      },
    ];
    ctx.log(`push: ${plan.runs} runs each, interleaved, a fresh registry per run`);
    const pushResults = await measureInterleaved(pushContenders, {
      runs: plan.runs,
      onSample: (c, round, s) => ctx.log(`${c.label.padEnd(28)} ${round}/${plan.runs}  ${formatMs(s.ms)}  ${s.peakRssBytes ? formatBytes(s.peakRssBytes) : '—'}`),
    });

    // Rebuild: the same weights with another model version (a new commit): new config, same model layer.
    const registry = await startRegistry();
    const rebuildSent: number[] = [];
    let rebuildResults: ContenderResult[];
    let coldResults: ContenderResult[];
    try {
      await runFerry(model, cache, ['--image', `${registry.host}/bench/model`, '--insecure-registry', '--tags', 'v1'], work);
      let version = 0;
      const rebuild = (id: string, label: string, cacheDir: () => string): Contender => ({
        id,
        label,
        run: async () => {
          const r = await runFerry(model, cacheDir(), ['--image', `${registry.host}/bench/model`, '--insecure-registry', '--tags', 'v1', '--model-version', `1.0.${++version}`], work);
          const weights = weightLayer(r.outputs);
          const sent = Number(r.outputs['bytes-uploaded']);
          if (weights?.reused !== true || sent > MAX_REBUILD_UPLOAD) throw new Error(`${label}: the model layer was sent again (${sent} bytes uploaded, layer reused: ${weights?.reused})`);
          if (id === 'ferry-rebuild') rebuildSent.push(sent);
          return { ms: r.ms, peakRssBytes: r.peakRssBytes };
        },
      });
      const skopeoAgain: Contender = {
        id: 'skopeo-again',
        label: 'skopeo copy, blobs already there',
        run: async () => skopeoCopy(layout, registry.host, 'bench/model'),
      };
      ctx.log(`rebuild with unchanged weights: ${plan.rebuildRuns} runs each, interleaved`);
      rebuildResults = await measureInterleaved([rebuild('ferry-rebuild', 'ferry rebuild (digest cache)', () => cache), skopeoAgain], {
        runs: plan.rebuildRuns,
        onSample: (c, round, s) => ctx.log(`${c.label.padEnd(34)} ${round}/${plan.rebuildRuns}  ${formatMs(s.ms)}`),
      });
      // A fresh runner has no digest cache: every weight byte is read to learn the digests, none is sent.
      coldResults = await measureInterleaved([rebuild('ferry-cold', 'ferry rebuild (cold cache)', () => mkdtempSync(join(work, 'cold-')))], {
        runs: 1,
        onSample: (c, round, s) => ctx.log(`${c.label.padEnd(34)} ${round}/1  ${formatMs(s.ms)}`),
      });
    } finally {
      await registry.stop();
    }

    // Peak memory: build (hashing every byte) and push a 4 GiB model, cold cache, into an empty registry.
    ctx.log(`peak RSS: build and push ${formatBytes(plan.bigBytes)} with a cold digest cache`);
    const bigResults = await measureInterleaved(
      [
        {
          id: 'ferry-big',
          label: `ferry, ${formatBytes(plan.bigBytes)} model`,
          run: async () => {
            const bigRegistry = await startRegistry();
            try {
              const r = await runFerry(big, mkdtempSync(join(work, 'big-cache-')), ['--image', `${bigRegistry.host}/bench/big`, '--insecure-registry', '--tags', 'v1'], work);
              if (Number(r.outputs['bytes-uploaded']) < plan.bigBytes) throw new Error(`only ${r.outputs['bytes-uploaded']} bytes uploaded for a ${plan.bigBytes}-byte model`);
              return { ms: r.ms, peakRssBytes: r.peakRssBytes };
            } finally {
              await bigRegistry.stop();
            }
          },
        },
      ],
      { runs: 1, onSample: (c, _round, s) => ctx.log(`${c.label}  ${formatMs(s.ms)}  ${s.peakRssBytes ? formatBytes(s.peakRssBytes) : '—'}`) },
    );

    const find = (results: readonly ContenderResult[], id: string) => results.find((r) => r.id === id)!;
    const ferryPush = find(pushResults, 'ferry-push');
    const rows: Row[] = [
      timeRatioRow({ suite: SUITE, measurement: `${formatBytes(plan.pushBytes)} layer: push to an empty registry`, ferry: ferryPush, anchor: find(pushResults, 'skopeo-push'), maxRatio: MAX_PUSH_RATIO }),
      timeBudgetRow({ suite: SUITE, measurement: 'rebuild, unchanged weights (0 weight bytes sent)', ferry: find(rebuildResults, 'ferry-rebuild'), anchor: find(rebuildResults, 'skopeo-again'), maxMs: MAX_REBUILD_MS }),
      infoRow({ suite: SUITE, measurement: 'rebuild, unchanged weights, cold digest cache', ferry: find(coldResults, 'ferry-cold'), format: (r) => formatMs(r.time!.medianMs) }),
      memoryBudgetRow({ suite: SUITE, measurement: `peak RSS: build + push ${formatBytes(plan.bigBytes)} model`, ferry: find(bigResults, 'ferry-big'), anchor: ferryPush, maxBytes: MAX_RSS }),
    ];
    const timed = (r: ContenderResult, bytes?: number): string[] =>
      r.time
        ? [r.label, formatMs(r.time.medianMs), formatMs(r.time.minMs), String(r.time.runs), r.peakRssBytes ? formatBytes(r.peakRssBytes) : '—', bytes ? formatThroughput(bytes, r.time.medianMs) : '']
        : [r.label, `error: ${r.error ?? 'no runs'}`, '', '', '', ''];
    const residentNote = resident === undefined ? 'fincore unavailable, residency not checked' : `fincore: ${((100 * resident) / warm.bytes).toFixed(0)}% of the weights resident before timing`;
    return {
      rows,
      details: [
        {
          title: `Push of an image with one ${formatBytes(plan.pushBytes)} uncompressed model layer (whole process, start-up included)`,
          header: ['contender', 'median', 'min', 'runs', 'peak RSS', 'throughput'],
          rightAligned: [false, true, true, true, true, true],
          rows: [timed(ferryPush, layer.size), timed(find(pushResults, 'skopeo-push'), layer.size)],
        },
        {
          title: 'Rebuild with unchanged weights (a new model version: new config, same model layer)',
          header: ['contender', 'median', 'min', 'runs', 'peak RSS', ''],
          rightAligned: [false, true, true, true, true, true],
          rows: [timed(find(rebuildResults, 'ferry-rebuild')), timed(find(rebuildResults, 'skopeo-again')), timed(find(coldResults, 'ferry-cold'))],
        },
        {
          title: `Build and push of a ${formatBytes(plan.bigBytes)} model, cold digest cache`,
          header: ['contender', 'median', 'min', 'runs', 'peak RSS', 'throughput'],
          rightAligned: [false, true, true, true, true, true],
          rows: [timed(find(bigResults, 'ferry-big'), plan.bigBytes)],
        },
      ],
      notes: [
        `image: ${digest}, an MLServer layout on an empty base: the ${formatBytes(layer.size)} model layer (uncompressed tar of random bytes), a model-settings.json layer and the config; built once by Ferry into an OCI layout that skopeo pushes`,
        `push: each run into a fresh docker-registry on loopback with empty storage (started outside the timing); Ferry with its layer digest already cached (as skopeo reads it from the layout), skopeo with --preserve-digests so the layer is not recompressed; both registries hold the same manifest digest afterwards (checked). Ferry sent ${pushSent.map((b) => formatBytes(b)).join(', ')}`,
        `rebuild: the same weights with a new --model-version each run, so a new config layer and image config go up and the model layer is found by HEAD; Ferry sent ${rebuildSent.join(', ')} bytes per rebuild (goal: 0 weight bytes). The anchor is skopeo copying the unchanged image again (every blob already there)`,
        'cold cache: a fresh --cache-dir, as on a fresh runner: every weight byte is read twice (model digest, layer digest), none is sent',
        `peak RSS of the whole CLI process (GNU time %M); ${residentNote}`,
      ],
      data: { plan, digest, layer, warmPageCache: { ...warm, residentBytes: resident }, pushSent, rebuildSent, pushResults, rebuildResults, coldResults, bigResults },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export const imagePushSuite: Suite = { name: SUITE, title: `image push of a 1 GiB model layer beside skopeo copy; rebuild; memory at 4 GiB`, run };
