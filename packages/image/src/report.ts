// The build-serving-image report: the image and where it went, every layer with its size and
// whether the registry already had it, the model, the runtime's layout and generated files, the
// metadata, and the provenance artifacts.
import type { ReportBlock, ReportSection } from '@ferry/core';
import type { BuiltImage, PushResult } from './oci/index.js';
import type { PushedArtifact } from './provenance.js';
import type { ModelInfo } from './model.js';
import type { TagDecision } from './tags.js';

export function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${units[unit]}`;
}

export interface LayerRow {
  name: string;
  digest: string;
  size: number;
  /** What the registry did with it: uploaded, already there, mounted; undefined when not pushed. */
  status: 'uploaded' | 'exists' | 'mounted' | undefined;
  bytesSent: number;
  fromCache: boolean;
}

/** Every layer of the (first platform's) image, in order, with what happened to it on push. */
export function layerRows(image: BuiltImage, push: PushResult | undefined): LayerRow[] {
  const manifest = image.manifests[0]!;
  const ferryLayers = new Map(image.layers.map((layer) => [layer.descriptor.digest, layer]));
  const pushed = new Map((push?.blobs ?? []).map((blob) => [blob.digest, blob]));
  let baseIndex = 0;
  return manifest.manifest.layers.map((descriptor) => {
    const ours = ferryLayers.get(descriptor.digest);
    const blob = pushed.get(descriptor.digest);
    return {
      name: ours?.name ?? `base layer ${++baseIndex}`,
      digest: descriptor.digest,
      size: descriptor.size,
      status: blob?.status,
      bytesSent: blob?.bytesSent ?? 0,
      fromCache: ours?.fromCache === true,
    };
  });
}

export interface ReportInputs {
  reference: string | undefined;
  image: BuiltImage;
  tags: readonly TagDecision[];
  pushed: boolean;
  push: PushResult | undefined;
  output: string | undefined;
  runtime: { name: string; title: string; protocol: string; port: number };
  base: { name: string | undefined; digest: string | undefined; builder?: string };
  model: ModelInfo;
  modelName: string;
  modelVersion: string | undefined;
  paths: readonly [string, string][];
  generated: Record<string, string>;
  annotations: Record<string, string>;
  created: { epoch: number; from: string };
  artifacts: readonly PushedArtifact[];
  notes: readonly string[];
}

const short = (digest: string) => digest.slice(0, 'sha256:'.length + 12);

export function buildReport(inputs: ReportInputs): ReportSection[] {
  const rows = layerRows(inputs.image, inputs.push);
  const sections: ReportSection[] = [];
  const imageEntries: [string, string][] = [
    ['image', inputs.reference ?? '(not pushed)'],
    ['digest', inputs.image.digest],
    ['tags', inputs.tags.map((t) => `${t.tag} (${t.rule})`).join(', ') || '(none)'],
    ['runtime', `${inputs.runtime.title}: ${inputs.runtime.protocol}`],
    ['base image', inputs.base.builder ? `built from the Dockerfile by ${inputs.base.builder}` : inputs.base.name ? `${inputs.base.name}${inputs.base.digest ? ` @ ${inputs.base.digest}` : ''}` : 'scratch'],
    ['platforms', inputs.image.manifests.map((m) => [m.descriptor.platform?.os, m.descriptor.platform?.architecture, m.descriptor.platform?.variant].filter(Boolean).join('/')).join(', ')],
    ['created', `${new Date(inputs.created.epoch * 1000).toISOString()} (${inputs.created.from})`],
    ['size', `${humanBytes(inputs.image.size)} in ${rows.length} layer(s)`],
  ];
  if (inputs.output) imageEntries.push(['written to', inputs.output]);
  sections.push({ heading: 'Image', blocks: [{ kind: 'keyvalue', entries: imageEntries }] });

  const pushed = inputs.push;
  const layerBlocks: ReportBlock[] = [
    {
      kind: 'table',
      columns: ['layer', 'size', 'digest', 'registry'],
      rows: rows.map((row) => [
        row.name,
        humanBytes(row.size),
        short(row.digest),
        row.status === undefined ? (inputs.pushed ? '' : 'not pushed') : row.status === 'uploaded' ? `uploaded ${humanBytes(row.bytesSent)}` : row.status === 'exists' ? 'already there, not sent' : 'mounted, not sent',
      ]),
    },
  ];
  if (pushed) {
    const reused = rows.filter((r) => r.status === 'exists' || r.status === 'mounted').reduce((sum, r) => sum + r.size, 0);
    layerBlocks.push({
      kind: 'paragraph',
      text: `Uploaded ${humanBytes(pushed.bytesUploaded)}; reused ${humanBytes(reused)} the registry already held (${pushed.blobsReused} blob(s) reused, ${pushed.blobsUploaded} uploaded).`,
    });
  }
  const cached = rows.filter((r) => r.fromCache).length;
  if (cached > 0) layerBlocks.push({ kind: 'paragraph', text: `${cached} layer digest(s) came from the digest cache: their files were unchanged, so they were not read.` });
  sections.push({ heading: 'Layers', blocks: layerBlocks });

  sections.push({
    heading: 'Model',
    blocks: [
      {
        kind: 'keyvalue',
        entries: [
          ['name', inputs.modelName],
          ['version', inputs.modelVersion ?? '(none)'],
          ['digest', inputs.model.digest],
          ['files', `${inputs.model.files.length}, ${humanBytes(inputs.model.totalBytes)}`],
          ['main file', `${inputs.model.main.relPath} (${inputs.model.format})`],
          ['hashed', `${inputs.model.files.length - inputs.model.cachedFiles} file(s) read, ${inputs.model.cachedFiles} from the digest cache`],
        ],
      },
    ],
  });

  const runtimeBlocks: ReportBlock[] = [{ kind: 'table', columns: ['what', 'path in the image'], rows: inputs.paths.map(([what, path]) => [what, path]) }];
  for (const [path, text] of Object.entries(inputs.generated)) {
    runtimeBlocks.push({ kind: 'paragraph', text: `\`${path}\`` });
    runtimeBlocks.push({ kind: 'code', language: path.endsWith('.json') ? 'json' : 'text', text: text.trimEnd() });
  }
  sections.push({ heading: `Runtime: ${inputs.runtime.name}`, blocks: runtimeBlocks });

  sections.push({ heading: 'Annotations and labels', blocks: [{ kind: 'table', columns: ['key', 'value'], rows: Object.entries(inputs.annotations).map(([k, v]) => [k, v]) }] });
  if (inputs.artifacts.length > 0) {
    sections.push({
      heading: 'Provenance',
      blocks: [{ kind: 'table', columns: ['artifact', 'digest', 'linked by'], rows: inputs.artifacts.map((a) => [a.artifactType, a.digest, a.linkedBy]) }],
    });
  }
  if (inputs.notes.length > 0) sections.push({ heading: 'Notes', blocks: [{ kind: 'list', items: [...inputs.notes] }] });
  return sections;
}
