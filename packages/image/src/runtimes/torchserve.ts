// TorchServe: a model archive (<name>.mar, a zip with MAR-INF/MANIFEST.json beside the model files,
// as torch-model-archiver writes it) in /home/model-server/model-store, and the config.properties
// the TorchServe image's entrypoint reads, which loads the archive with its batch size and workers.
// The archive is assembled as a stream (stored members, fixed times), so its bytes depend only on
// the model files and the manifest, and an unchanged model keeps its layer digest.
import { createHash } from 'node:crypto';
import { InputError } from '@ferry/core';
import { zipArchive } from '../archive/zip.js';
import type { ZipMember } from '../archive/zip.js';
import { bufferSource, canonicalJson, fileSource, FileTree } from '../oci/index.js';
import { crc32Of } from '../model.js';
import { crc32 } from '../archive/crc32.js';
import { bashHttpProbe } from './healthcheck.js';
import { configLayer } from './model-layers.js';
import type { RuntimeContext, RuntimePlan, ServingRuntime } from './types.js';

const HOME = '/home/model-server';
const STORE = `${HOME}/model-store`;
/** Where the TorchServe image's dockerd-entrypoint.sh looks for its configuration. */
const CONFIG = `${HOME}/config.properties`;

/** Files TorchServe can load as a model (the manifest's serializedFile). */
const SERIALIZED = /\.(pt|pth|pt2|onnx|bin|safetensors|ckpt)$/i;

export interface MarManifest {
  createdOn: string;
  runtime: 'python';
  model: { modelName: string; serializedFile: string; handler: string; modelVersion: string };
  archiverVersion: string;
}

/**
 * MANIFEST.json as torch-model-archiver writes it. createdOn is fixed rather than the build time:
 * TorchServe only shows it, and a timestamp would change the archive, and re-send the weights, on
 * every build.
 */
export function marManifest(modelName: string, serializedFile: string, handler: string, modelVersion: string): MarManifest {
  return {
    createdOn: '01/01/1980 00:00:00',
    runtime: 'python',
    model: { modelName, serializedFile, handler, modelVersion },
    archiverVersion: 'ferry',
  };
}

function properties(entries: readonly [string, string][]): string {
  return `${entries.map(([key, value]) => `${key}=${value}`).join('\n')}\n`;
}

export const torchserveRuntime: ServingRuntime = {
  name: 'torchserve',
  title: 'TorchServe',
  defaultBase: 'docker.io/pytorch/torchserve:0.12.0-cpu',
  pinnedBy: 'tag',
  port: 8080,
  protocol: 'TorchServe inference API (HTTP 8080: /predictions/<name>, /ping), metrics 8082',
  async plan({ model, options, logger, signal, cache }: RuntimeContext): Promise<RuntimePlan> {
    const serialized = model.files.find((f) => f === model.main && SERIALIZED.test(f.relPath)) ?? model.files.find((f) => SERIALIZED.test(f.relPath));
    if (serialized === undefined) {
      throw new InputError(`runtime torchserve needs a serialized model file (.pt, .pth, .pt2, .onnx, .safetensors, .bin) in model-path, found ${model.files.map((f) => f.relPath).join(', ')}`, {
        subject: 'model-path',
      });
    }
    const handler = options.handler;
    if (handler.endsWith('.py') && !model.files.some((f) => f.relPath === handler)) {
      throw new InputError(`handler: ${handler} is not a file of the model directory (the archive carries the model directory's files)`, { subject: 'handler' });
    }
    const version = options.modelVersion ?? '1.0';
    const manifest = `${canonicalJson(marManifest(options.modelName, serialized.relPath, handler, version))}\n`;
    const crcs = await crc32Of(model.files, { logger, signal, cache });
    const manifestBytes = Buffer.from(manifest, 'utf8');
    const members: ZipMember[] = [
      { name: 'MAR-INF/MANIFEST.json', source: bufferSource(manifestBytes), crc32: crc32(manifestBytes) },
      ...model.files.map((file) => ({
        name: file.relPath,
        source: fileSource(file.absPath, { size: file.size }),
        crc32: crcs.get(file.relPath)!,
      })),
    ];
    if (model.files.some((f) => f.relPath.startsWith('MAR-INF/'))) {
      throw new InputError('model-path already holds a MAR-INF directory: give the model files, not an unpacked archive', { subject: 'model-path' });
    }
    const archive = zipArchive(members);
    // What the archive's bytes depend on: the manifest and each member's name and content.
    const archiveKey = createHash('sha256')
      .update(canonicalJson({ writer: 'ferry-zip/1', zip64: archive.zip64, manifest, files: model.files.map((f) => [f.relPath, f.size, f.sha256]) }))
      .digest('hex');
    const marPath = `${STORE}/${options.modelName}.mar`;
    const marLayer = { name: 'model archive', files: new FileTree().addFileFromSource(marPath, archive.source, { contentKey: archiveKey }) };

    const workers = String(options.instanceCount);
    const batchSize = options.maxBatchSize && options.maxBatchSize > 0 ? options.maxBatchSize : 1;
    const models = {
      [options.modelName]: {
        [version]: { defaultVersion: true, marName: `${options.modelName}.mar`, minWorkers: Number(workers), maxWorkers: Number(workers), batchSize, maxBatchDelay: 50 },
      },
    };
    const config = properties([
      ['inference_address', 'http://0.0.0.0:8080'],
      // Management stays on loopback: with token authorization off, it must not be reachable from outside.
      ['management_address', 'http://127.0.0.1:8081'],
      ['metrics_address', 'http://0.0.0.0:8082'],
      ['model_store', STORE],
      ['load_models', `${options.modelName}.mar`],
      ['models', canonicalJson(models)],
      ['disable_token_authorization', 'true'],
      ['enable_model_api', 'false'],
      ['default_workers_per_model', workers],
    ]);
    const generated = { [CONFIG]: config };
    return {
      modelLayers: [marLayer],
      configLayer: configLayer(generated),
      config: {
        entrypoint: ['/usr/local/bin/dockerd-entrypoint.sh'],
        cmd: ['serve'],
        exposedPorts: ['8080', '8082'],
        env: { TS_CONFIG_FILE: CONFIG },
        healthcheck: bashHttpProbe(8080, '/ping', { startPeriod: 120 }),
      },
      paths: [
        ['model archive', marPath],
        ['config', CONFIG],
      ],
      generated: { ...generated, [`${marPath}!MAR-INF/MANIFEST.json`]: manifest },
    };
  },
};
