// The validate-model step: lists the model's files, detects each format from its bytes, and
// computes streaming digests; every check it made and every file it could not check is reported.
import { resolve } from 'node:path';
import {
  countBySeverity,
  implementStep,
  validateModelDefinition,
  type Finding,
  type ReportSection,
} from '@ferry/core';
import { modelDigest, sha256Files } from './digest.js';
import { listModelFiles } from './files.js';
import { detectFormat, WEIGHT_FORMATS, type ModelFormat } from './formats/detect.js';

function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

export const validateModelStep = implementStep(validateModelDefinition, async (ctx, inputs) => {
  const started = performance.now();
  const modelPath = resolve(ctx.cwd, inputs['model-path']);
  const listing = await listModelFiles(modelPath);
  const findings: Finding[] = [];

  const detections = await ctx.logger.group('Detect formats', async () => {
    const out = [];
    for (const file of listing.files) {
      const d = await detectFormat(file.absPath);
      ctx.logger.info(`${file.relPath}: ${d.format} (${d.evidence})`);
      out.push(d);
    }
    return out;
  });

  const totalBytes = listing.files.reduce((s, f) => s + f.size, 0);
  const digests = await ctx.logger.group('Compute digests', async () => {
    const progress = ctx.logger.progress('sha256', totalBytes, 'bytes');
    let done = 0;
    try {
      return await sha256Files(
        listing.files.map((f) => ({ path: f.absPath, size: f.size })),
        (n) => progress.update((done += n)),
        ctx.signal,
      );
    } finally {
      progress.end();
    }
  });

  const fileDigests: Record<string, string> = {};
  listing.files.forEach((f, i) => {
    fileDigests[f.relPath] = `sha256:${digests[i] ?? ''}`;
  });
  const digest = modelDigest(listing.files.map((f, i) => ({ path: f.relPath, sha256: digests[i] ?? '' })));

  const displayPath = (rel: string): string => (listing.isDirectory ? `${inputs['model-path'].replace(/\/$/, '')}/${rel}` : inputs['model-path']);
  listing.files.forEach((f, i) => {
    const d = detections[i];
    if (d?.format === 'unknown') {
      findings.push({
        severity: 'high',
        rule: 'format/unrecognized',
        message: `${f.relPath}: format not recognized from its bytes (${d.evidence}); the file was not checked`,
        file: displayPath(f.relPath),
      });
    }
  });
  for (const s of listing.skipped) {
    findings.push({ severity: 'high', rule: 'files/unscanned', message: `${s.relPath}: ${s.reason}`, file: displayPath(s.relPath) });
  }
  if (listing.files.length === 0) {
    findings.push({ severity: 'high', rule: 'files/empty', message: 'the model directory holds no files' });
  }

  // The model's format is that of its largest weight file, so side files such as config.json do not decide it.
  let format: ModelFormat = 'unknown';
  let best = -1;
  listing.files.forEach((f, i) => {
    const fmt = detections[i]?.format ?? 'unknown';
    const weight = WEIGHT_FORMATS.has(fmt);
    const score = (weight ? 2 ** 53 / 2 : 0) + f.size;
    if (score > best) {
      best = score;
      format = fmt;
    }
  });

  const counts = countBySeverity(findings);
  const blocking = counts.critical + counts.high;
  const verdict = blocking > 0 ? 'fail' : 'pass';
  const report: ReportSection[] = [
    {
      heading: 'Files',
      blocks: [
        {
          kind: 'table',
          columns: ['File', 'Format', 'Size', 'SHA-256'],
          rows: listing.files.map((f, i) => [f.relPath, detections[i]?.format ?? 'unknown', humanBytes(f.size), `\`${(digests[i] ?? '').slice(0, 16)}…\``]),
        },
      ],
    },
    {
      heading: 'What was checked',
      blocks: [
        {
          kind: 'keyvalue',
          entries: [
            ['Model digest', `\`${digest}\``],
            ['Files', `${listing.files.length} (${humanBytes(totalBytes)})`],
            ['Checks', 'format detected from bytes; streaming SHA-256 of every file'],
            ['Not checked', listing.skipped.length > 0 ? listing.skipped.map((s) => s.relPath).join(', ') : 'none'],
          ],
        },
      ],
    },
  ];
  const headline =
    verdict === 'pass'
      ? `${listing.files.length} file(s), ${format}, ${humanBytes(totalBytes)}, ${digest.slice(0, 19)}…`
      : `${blocking} blocking finding(s): ${findings[0]?.message ?? ''}`;
  return {
    step: 'validate-model',
    verdict,
    headline,
    outputs: {
      verdict,
      format,
      'model-digest': digest,
      'file-digests': JSON.stringify(fileDigests),
      'total-bytes': String(totalBytes),
      'report-path': '',
    },
    report,
    findings,
    gates: [],
    metrics: { model_bytes: totalBytes, model_files: listing.files.length, findings_blocking: blocking },
    durationMs: performance.now() - started,
  };
});
