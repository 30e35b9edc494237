// The build-serving-image step: read and hash the model, lay it out for the runtime on the base
// image (or build the user's Dockerfile), add the metadata, and push by digest with the tags last,
// or write an OCI layout. Inputs are checked first (plan.ts), so a bad one exits 2 at once.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServingImageDefinition, implementStep } from '@ferry/core';
import type { Finding, Logger } from '@ferry/core';
import { loadBase } from './base-image.js';
import type { BaseChoice } from './base-image.js';
import { checkDiskSpace } from './disk-space.js';
import { buildDockerfile } from './dockerfile.js';
import { imageAnnotations } from './metadata.js';
import { readModel } from './model.js';
import { baseFromLayout, buildImage, pushImage, rfc3339, writeOciArchive, writeOciLayout } from './oci/index.js';
import type { BuiltImage, PushResult } from './oci/index.js';
import { planBuild } from './plan.js';
import type { BuildInputs, BuildPlan } from './plan.js';
import { provenanceArtifacts, pushArtifacts } from './provenance.js';
import type { PushedArtifact } from './provenance.js';
import { buildReport, humanBytes, layerRows } from './report.js';
import type { RuntimePlan } from './runtimes/index.js';

export const FERRY_VERSION = '0.1.0';

function warnDisk(logger: Logger, findings: Finding[], check: { path: string; freeBytes: number; neededBytes: number }, what: string): void {
  const message = `${check.path} has ${humanBytes(check.freeBytes)} free, but ${what} needs about ${humanBytes(check.neededBytes)}: the build may run out of disk space`;
  logger.warn(message);
  findings.push({ severity: 'medium', rule: 'runner/disk-space', message });
}

/** The step's inputs as provenance records them: secrets, credentials and door plumbing left out. */
function publicParameters(inputs: BuildInputs): Record<string, unknown> {
  const left = new Set(['registry-password', 'registry-username', 'github-token', 'gitlab-token', 'report-comment', 'check-run', 'config', 'working-directory', 'cache-dir', 'docker-config']);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(inputs)) if (!left.has(key) && value !== undefined && value !== '') out[key] = value;
  return out;
}

async function pushWithProgress(plan: BuildPlan, image: BuiltImage, logger: Logger): Promise<PushResult> {
  const target = plan.target!;
  const client = plan.access().client(target.registry, { target: true, plainHttp: plan.insecureRegistry });
  return logger.group(`Push to ${target.registry}/${target.repository}`, async () => {
    const total = [...image.blobs.values()].filter((b) => b.source !== undefined).reduce((sum, b) => sum + b.descriptor.size, 0);
    const progress = logger.progress('upload', total, 'bytes');
    try {
      return await pushImage(image, { client, repository: target.repository, tags: plan.tags.map((t) => t.tag), onProgress: (p) => progress.update(p.bytesUploaded) });
    } finally {
      progress.end();
    }
  });
}

export const buildServingImageStep = implementStep(buildServingImageDefinition, async (ctx, inputs) => {
  const started = new Date();
  const t0 = performance.now();
  const { logger, signal, env, cwd } = ctx;
  const notes: string[] = [];
  const findings: Finding[] = [];
  const plan = await planBuild(ctx, inputs);
  const { runtime, modelName, modelVersion, target, output, cache, created, tags } = plan;
  const workDir = await mkdtemp(join(env.RUNNER_TEMP || tmpdir(), 'ferry-image-'));
  try {
    const model = await logger.group('Model', () => readModel(plan.modelPath, { logger, signal, cache }));
    logger.info(`model ${modelName}: ${model.files.length} file(s), ${humanBytes(model.totalBytes)}, ${model.format}, digest ${model.digest}`);
    if (output) {
      // Before anything is written: the layout or archive holds every byte of the model.
      const check = await checkDiskSpace(output, model.totalBytes);
      if (check && !check.enough) warnDisk(logger, findings, check, `writing the image to ${output}`);
    }
    const annotations = imageAnnotations({ source: plan.source, modelName, modelVersion, modelDigest: model.digest, runtime: runtime.name, created: created.epoch });

    let base: BaseChoice;
    let layout: RuntimePlan | undefined;
    if (plan.dockerfile) {
      const check = await checkDiskSpace(workDir, 2 * model.totalBytes);
      if (check && !check.enough) warnDisk(logger, findings, check, 'the Dockerfile build and its export');
      const built = await logger.group('Dockerfile build', () =>
        buildDockerfile({ dockerfile: plan.dockerfile!.file, context: plan.dockerfile!.context, platforms: plan.platforms, sourceDateEpoch: created.epoch, layoutDir: join(workDir, 'dockerfile-image'), env, logger, signal }),
      );
      const fromLayout = await baseFromLayout(built.layoutDir, built.reference, { platforms: plan.platforms });
      // The built image is the image, not a base: no base annotations pointing at a temporary directory.
      base = { base: { ...fromLayout, name: undefined }, display: { name: undefined, digest: undefined, builder: built.builder } };
    } else {
      base = await logger.group('Base image', () =>
        loadBase(inputs['base-image'] || runtime.defaultBase, { cwd, platforms: plan.platforms, access: plan.access, target, insecureRegistry: plan.insecureRegistry }),
      );
      if (base.display.name) logger.info(`base image ${base.display.name}${base.display.digest ? ` (${base.display.digest})` : ''}`);
      layout = await runtime.plan({
        model,
        options: {
          modelName,
          modelVersion,
          maxBatchSize: inputs['max-batch-size'],
          dynamicBatching: inputs['dynamic-batching'],
          instanceCount: inputs['instance-count'],
          servedModelName: inputs['served-model-name'] || undefined,
          handler: inputs.handler,
          implementation: inputs.implementation || undefined,
        },
        logger,
        signal,
        cache,
      });
    }

    const layers = layout ? [...layout.modelLayers, ...(layout.configLayer ? [layout.configLayer] : [])] : [];
    const image = await logger.group('Layers', async () => {
      const total = layers.reduce((sum, layer) => sum + layer.files.list().reduce((s, e) => s + (e.type === 'file' ? e.source.size : 0), 0), 0);
      const progress = logger.progress('layer digests', total, 'bytes');
      let done = 0;
      try {
        return await buildImage({
          base: base.base,
          layers,
          config: { ...(layout?.config ?? {}), labels: annotations },
          annotations,
          sourceDateEpoch: created.epoch,
          // File times in Ferry's layers stay fixed: a new commit must not change the model layer's digest.
          layerMtime: 0,
          layerDigestCache: cache,
          workDir: join(workDir, 'layers'),
          signal,
          onLayerProgress: (_name, bytes) => progress.update((done += bytes)),
        });
      } finally {
        progress.end();
      }
    });
    for (const row of layerRows(image, undefined)) logger.info(`layer ${row.name}: ${humanBytes(row.size)} ${row.digest}${row.fromCache ? ' (digest cache)' : ''}`);
    logger.info(`image digest ${image.digest}`);

    let pushed: PushResult | undefined;
    let artifacts: PushedArtifact[] = [];
    if (plan.push && target) {
      pushed = await pushWithProgress(plan, image, logger);
      logger.info(`pushed ${pushed.reference}: ${humanBytes(pushed.bytesUploaded)} uploaded, ${pushed.blobsReused} blob(s) reused`);
      if (inputs.provenance) {
        const client = plan.access().client(target.registry, { target: true, plainHttp: plan.insecureRegistry });
        const documents = provenanceArtifacts({
          name: `${target.registry}/${target.repository}`,
          digest: image.digest,
          model,
          modelName,
          modelVersion,
          runtime: runtime.name,
          base: { name: base.display.name, digest: base.base.digest },
          source: plan.source,
          parameters: publicParameters(inputs),
          startedOn: started,
          finishedOn: new Date(),
          ferryVersion: FERRY_VERSION,
        });
        const subject = { mediaType: image.mediaType, digest: image.digest, size: image.bytes.length };
        artifacts = await logger.group('Provenance', () => pushArtifacts(client, target.repository, subject, documents, rfc3339(created.epoch)));
        for (const artifact of artifacts) logger.info(`provenance ${artifact.artifactType}: ${artifact.digest} (${artifact.linkedBy})`);
      }
    } else if (inputs.provenance) {
      notes.push('provenance was asked for, but it is attached to a pushed image only: nothing was pushed');
    }

    if (output) {
      const refName = tags[0]?.tag ?? 'latest';
      const written = await logger.group(`Write ${output}`, () => (output.endsWith('.tar') ? writeOciArchive(image, output, { tag: refName, signal }) : writeOciLayout(image, output, { tag: refName, signal })));
      logger.info(`wrote ${written.path} (${humanBytes(written.bytesWritten)}), image ${refName}`);
    }

    const rows = layerRows(image, pushed);
    const bytesUploaded = pushed?.bytesUploaded ?? 0;
    return {
      step: 'build-serving-image',
      verdict: 'pass',
      headline: pushed
        ? `${pushed.reference} (${runtime.name}): ${humanBytes(bytesUploaded)} uploaded, ${pushed.blobsReused} blob(s) reused`
        : `${image.digest} (${runtime.name}), ${humanBytes(image.size)}${output ? `, written to ${output}` : ', not pushed'}`,
      outputs: {
        image: pushed?.reference ?? '',
        digest: image.digest,
        tags: tags.map((t) => t.tag).join(','),
        'model-digest': model.digest,
        'layer-sizes': JSON.stringify(rows.map((row) => ({ name: row.name, digest: row.digest, size: row.size, reused: row.status === undefined ? null : row.status !== 'uploaded' }))),
        'bytes-uploaded': String(bytesUploaded),
        'blobs-reused': String(pushed?.blobsReused ?? 0),
        verdict: 'pass',
        'report-path': '',
      },
      report: buildReport({
        reference: pushed?.reference,
        image,
        tags,
        pushed: pushed !== undefined,
        push: pushed,
        output,
        runtime,
        base: base.display,
        model,
        modelName,
        modelVersion,
        paths: layout?.paths ?? [],
        generated: layout?.generated ?? {},
        annotations,
        created,
        artifacts,
        notes,
      }),
      findings,
      gates: [],
      metrics: {
        image_bytes: image.size,
        model_bytes: model.totalBytes,
        layers: rows.length,
        bytes_uploaded: bytesUploaded,
        blobs_reused: pushed?.blobsReused ?? 0,
        blobs_uploaded: pushed?.blobsUploaded ?? 0,
      },
      durationMs: performance.now() - t0,
    };
  } finally {
    plan.close();
    await rm(workDir, { recursive: true, force: true });
  }
});
