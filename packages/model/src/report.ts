// The validate-model report: what each file is, what was checked, what was not, and the signature.
import type { GateResult, ReportSection } from '@ferry/core';
import type { ModelFormat } from './formats/detect.js';
import type { ModelSignature } from './formats/types.js';
import { formatValue } from './gates/format.js';
import type { ClassifierEvaluation } from './infer/evaluate.js';

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

export interface FileRow {
  readonly relPath: string;
  readonly format: ModelFormat;
  readonly size: number;
  readonly scanned: boolean;
  readonly sha256: string;
  readonly facts: readonly (readonly [string, string])[];
}

const MAX_FACT_ROWS = 60;
const MAX_CLASS_ROWS = 50;

/** The labelled evaluation (smoke-eval): its metrics and how each class fared. */
function evaluationSection(e: ClassifierEvaluation & { readonly file: string }): ReportSection {
  const m = e.metrics;
  const entries: [string, string][] = [
    ['File', `\`${e.file}\` (${m.rows} rows)`],
    ['Predictions', `${e.method} \`${e.output}\``],
    ['accuracy', formatValue(m.accuracy)],
    ['f1_macro', `${formatValue(m.f1Macro)} (over ${m.perClass.length} classes)`],
  ];
  if (m.binary) entries.push(['precision', formatValue(m.binary.precision)], ['recall', formatValue(m.binary.recall)], ['f1', `${formatValue(m.binary.f1)} (class 1)`]);
  const rows = m.perClass.slice(0, MAX_CLASS_ROWS).map((c) => [c.label, String(c.support), formatValue(c.precision), formatValue(c.recall), formatValue(c.f1)]);
  const blocks: ReportSection['blocks'][number][] = [
    { kind: 'keyvalue', entries },
    { kind: 'table', columns: ['Class', 'Rows', 'Precision', 'Recall', 'F1'], rows },
  ];
  if (m.perClass.length > MAX_CLASS_ROWS) blocks.push({ kind: 'paragraph', text: `…and ${m.perClass.length - MAX_CLASS_ROWS} more classes.` });
  return { heading: 'Labelled evaluation', blocks };
}

export function validateReport(opts: {
  files: readonly FileRow[];
  skipped: readonly { relPath: string; reason: string }[];
  digest: string;
  totalBytes: number;
  signature: ModelSignature | undefined;
  checks: readonly string[];
  allowUnscanned: boolean;
  gates: readonly GateResult[];
  evaluation?: ClassifierEvaluation & { readonly file: string };
}): ReportSection[] {
  const sections: ReportSection[] = [
    {
      heading: 'Files',
      blocks: [
        {
          kind: 'table',
          columns: ['File', 'Format', 'Size', 'Checked', 'SHA-256'],
          rows: opts.files.map((f) => [f.relPath, f.format, humanBytes(f.size), f.scanned ? 'yes' : '**unscanned**', `\`${f.sha256.slice(0, 16)}…\``]),
        },
      ],
    },
  ];
  if (opts.signature) {
    const rows = [
      ...opts.signature.inputs.map((t) => ['input', t.name, t.dtype, `[${t.shape.join(', ')}]`]),
      ...opts.signature.outputs.map((t) => ['output', t.name, t.dtype, `[${t.shape.join(', ')}]`]),
    ];
    sections.push({ heading: 'Signature', blocks: [{ kind: 'table', columns: ['', 'Name', 'Type', 'Shape'], rows }] });
  }
  const facts = opts.files.flatMap((f) => f.facts.map(([k, v]) => [f.relPath, k, v]));
  if (facts.length > 0) {
    const blocks: ReportSection['blocks'][number][] = [{ kind: 'table', columns: ['File', 'Fact', 'Value'], rows: facts.slice(0, MAX_FACT_ROWS) }];
    if (facts.length > MAX_FACT_ROWS) blocks.push({ kind: 'paragraph', text: `…and ${facts.length - MAX_FACT_ROWS} more facts in the JSON result.` });
    sections.push({ heading: 'Structure', blocks });
  }
  if (opts.evaluation) sections.push(evaluationSection(opts.evaluation));
  // The gate table shows value, threshold and result; this says how each number was reached.
  const explained = opts.gates.filter((g) => g.detail);
  if (explained.length > 0) {
    sections.push({
      heading: 'How the gates decided',
      blocks: [{ kind: 'list', items: explained.map((g) => `${g.passed ? 'pass' : '**FAIL**'} ${g.name}: ${g.detail}`) }],
    });
  }
  const unscanned = [...opts.files.filter((f) => !f.scanned).map((f) => f.relPath), ...opts.skipped.map((s) => `${s.relPath} (${s.reason})`)];
  sections.push({
    heading: 'What was checked',
    blocks: [
      {
        kind: 'keyvalue',
        entries: [
          ['Model digest', `\`${opts.digest}\``],
          ['Files', `${opts.files.length} (${humanBytes(opts.totalBytes)})`],
          ['Checks', opts.checks.join('; ')],
          ['Not checked', unscanned.length > 0 ? `${unscanned.join(', ')}${opts.allowUnscanned ? ' (allowed by allow-unscanned)' : ''}` : 'nothing: every file was checked'],
        ],
      },
    ],
  });
  return sections;
}
