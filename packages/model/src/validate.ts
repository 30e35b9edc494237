// The validate-model step: every file's format from its bytes, its structure and any pickle it
// carries, streaming digests, optional smoke inference and gates. Every check that ran, and every
// file that could not be checked, is in the report; unchecked never reads as passed.
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { dirname } from 'node:path';
import {
  countBySeverity,
  implementStep,
  InputError,
  validateModelDefinition,
  type Finding,
  type GateResult,
} from '@ferry/core';
import { checkModelFile } from './check-file.js';
import { modelDigest, sha256Files } from './digest.js';
import { listModelFiles } from './files.js';
import { detectFormat, WEIGHT_FORMATS, type ModelFormat } from './formats/detect.js';
import { DEFAULT_LIMITS, type FileCheck, type ModelSignature } from './formats/types.js';
import { GATES_CONFIG_PATH, hasGates, parseGatesConfig, runGates, type EvaluationResults, type GatesConfig } from './gates/index.js';
import { COMPUTED_METRICS, metricValues } from './infer/classification.js';
import { readLabelledCsv, type ClassifierEvaluation } from './infer/evaluate.js';
import { runSmoke } from './infer/smoke.js';
import { humanBytes, validateReport } from './report.js';
import { DEFAULT_PICKLE_POLICY, loadPicklePolicy } from './scan/index.js';

export const validateModelStep = implementStep(validateModelDefinition, async (ctx, inputs) => {
  const started = performance.now();
  const modelPath = resolve(ctx.cwd, inputs['model-path']);
  const policyPath = inputs['pickle-policy'];
  const policy = policyPath ? await loadPicklePolicy(resolve(ctx.cwd, policyPath)) : DEFAULT_PICKLE_POLICY;
  // Gate settings and the labelled evaluation file are read first: a bad one exits 2 before any hashing.
  const evalFile = inputs['smoke-eval'];
  const gatesConfig = readGatesConfig(inputs.gates, inputs['eval-results'], inputs['baseline-results'], evalFile !== undefined && evalFile !== '');
  const labelled = evalFile ? await readLabelledCsv(evalFile, ctx.cwd, inputs['smoke-eval-label']) : undefined;
  if (inputs['smoke-golden'] && !inputs['smoke-samples']) {
    throw new InputError('smoke-golden is set but smoke-samples is not: golden outputs need the samples they answer', { subject: 'smoke-golden' });
  }
  const listing = await listModelFiles(modelPath);
  const modelRoot = listing.isDirectory ? listing.root : dirname(modelPath);
  // Paths people see are relative to the working directory when the model lies inside it.
  const shown = (abs: string): string => {
    const rel = relative(ctx.cwd, abs);
    return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : abs;
  };

  const formats: ModelFormat[] = [];
  const checks: FileCheck[] = [];
  await ctx.logger.group('Check files', async () => {
    const progress = ctx.logger.progress('files checked', listing.files.length, 'items');
    for (const [i, file] of listing.files.entries()) {
      const detection = await detectFormat(file.absPath);
      const check = await checkModelFile(
        detection.format,
        { path: file.absPath, displayPath: shown(file.absPath), modelRoot, limits: DEFAULT_LIMITS, signal: ctx.signal },
        policy,
      );
      ctx.logger.info(`${file.relPath}: ${detection.format} (${detection.evidence})${check.scanned ? '' : ', not checked'}`);
      formats.push(detection.format);
      checks.push(check);
      progress.update(i + 1);
    }
    progress.end();
  });

  const totalBytes = listing.files.reduce((s, f) => s + f.size, 0);
  const digests = await ctx.logger.group('Compute digests', async () => {
    const progress = ctx.logger.progress('sha256', totalBytes, 'bytes');
    let done = 0;
    try {
      return await sha256Files(listing.files.map((f) => ({ path: f.absPath, size: f.size })), (n) => progress.update((done += n)), ctx.signal);
    } finally {
      progress.end();
    }
  });
  const fileDigests: Record<string, string> = {};
  listing.files.forEach((f, i) => (fileDigests[f.relPath] = `sha256:${digests[i] ?? ''}`));
  const digest = modelDigest(listing.files.map((f, i) => ({ path: f.relPath, sha256: digests[i] ?? '' })));

  const findings: Finding[] = checks.flatMap((c) => c.findings);
  const allowUnscanned = inputs['allow-unscanned'];
  const unscanned: string[] = [];
  listing.files.forEach((f, i) => {
    if (checks[i]?.scanned) return;
    unscanned.push(f.relPath);
    findings.push({
      severity: allowUnscanned ? 'low' : 'high',
      rule: 'files/unscanned',
      message: `${shown(f.absPath)}: not checked (${formats[i] === 'unknown' ? 'format not recognized from its bytes' : (checks[i]?.unscannedReason ?? (checks[i]?.findings.length ? 'parts of it could not be checked; see its other findings' : `no content checks for ${formats[i]}`))})${allowUnscanned ? '; allowed by allow-unscanned' : ''}`,
      file: shown(f.absPath),
    });
  });
  for (const s of listing.skipped) {
    unscanned.push(s.relPath);
    findings.push({ severity: allowUnscanned ? 'low' : 'high', rule: 'files/unscanned', message: `${shown(resolve(listing.root, s.relPath))}: ${s.reason}`, file: shown(resolve(listing.root, s.relPath)) });
  }
  if (listing.files.length === 0) findings.push({ severity: 'high', rule: 'files/empty', message: `${inputs['model-path']}: the model directory holds no files` });

  // The model's format is that of its largest weight file, so side files such as config.json do not decide it.
  let mainIndex = -1;
  listing.files.forEach((f, i) => {
    const best = listing.files[mainIndex];
    const weight = WEIGHT_FORMATS.has(formats[i] ?? 'unknown');
    const bestWeight = mainIndex >= 0 && WEIGHT_FORMATS.has(formats[mainIndex] ?? 'unknown');
    if (mainIndex < 0 || (weight && !bestWeight) || (weight === bestWeight && f.size > (best?.size ?? 0))) mainIndex = i;
  });
  const format: ModelFormat = formats[mainIndex] ?? 'unknown';
  const signature: ModelSignature | undefined = checks.find((c) => c.signature)?.signature;

  const gates: GateResult[] = [];
  const metrics: Record<string, number> = {};
  const checkNames = ['format detected from bytes', 'structure of every file', 'pickle globals against the policy', 'archive bombs and traversal', 'streaming SHA-256'];
  let evaluation: ClassifierEvaluation | undefined;
  if (inputs['smoke-samples'] || labelled) {
    const onnxIndex = formats.findIndex((f) => f === 'onnx');
    const onnx = listing.files[onnxIndex];
    const asked = inputs['smoke-samples'] ? 'smoke-samples' : 'smoke-eval';
    if (!onnx) throw new InputError(`${asked} needs an ONNX model, but ${inputs['model-path']} is ${format}`, { subject: asked });
    const smoke = await ctx.logger.group('Smoke inference', () =>
      runSmoke({
        modelFile: onnx.absPath,
        ...(inputs['smoke-samples'] ? { samplesFile: resolve(ctx.cwd, inputs['smoke-samples']) } : {}),
        ...(inputs['smoke-golden'] ? { goldenFile: resolve(ctx.cwd, inputs['smoke-golden']) } : {}),
        ...(labelled ? { evaluation: labelled } : {}),
        atol: inputs['smoke-atol'],
        rtol: inputs['smoke-rtol'],
        logger: ctx.logger,
        env: ctx.env,
      }),
    );
    gates.push(...smoke.gates);
    metrics.load_ms = smoke.loadMs;
    evaluation = smoke.evaluation;
    if (evaluation) {
      for (const [name, value] of metricValues(evaluation.metrics)) metrics[name] = value;
      metrics.eval_rows = evaluation.metrics.rows;
    }
    checkNames.push(labelled ? 'smoke inference with onnxruntime, labelled evaluation' : 'smoke inference with onnxruntime');
  }
  if (hasGates(gatesConfig)) {
    const computed = evalFile ? computedMetrics(evalFile, evaluation) : undefined;
    const results = await ctx.logger.group('Gates', () =>
      runGates(gatesConfig, { cwd: ctx.cwd, modelPath, ...(computed ? { computed } : {}) }),
    );
    for (const g of results) ctx.logger.info(`${g.passed ? 'pass' : 'FAIL'}  ${g.name}: ${g.value} (${g.threshold})`);
    gates.push(...results);
    checkNames.push(`${results.length} gate(s) from ${GATES_CONFIG_PATH}`);
  }

  const counts = countBySeverity(findings);
  const blocking = counts.critical + counts.high;
  const failedGates = gates.filter((g) => !g.passed);
  const verdict = blocking > 0 || failedGates.length > 0 ? 'fail' : 'pass';
  const worst = findings.find((f) => f.severity === 'critical') ?? findings.find((f) => f.severity === 'high');
  const headline =
    verdict === 'pass'
      ? `${listing.files.length} file(s), ${format}, ${humanBytes(totalBytes)}, no blocking findings${gates.length ? `, ${gates.length} gate(s) passed` : ''}`
      : worst
        ? `${blocking} blocking finding(s); first: ${worst.message}`
        : `${failedGates.length} gate(s) failed; first: ${failedGates[0]?.name} (${failedGates[0]?.value} vs ${failedGates[0]?.threshold})`;

  Object.assign(metrics, {
    model_bytes: totalBytes,
    model_files: listing.files.length,
    findings_critical: counts.critical,
    findings_high: counts.high,
    unscanned_files: unscanned.length,
    gates_failed: failedGates.length,
  });
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
      signature: signature ? JSON.stringify(signature) : '',
      findings: JSON.stringify(counts),
      unscanned: JSON.stringify(unscanned),
      'gates-failed': String(failedGates.length),
      'report-path': '',
    },
    report: validateReport({
      files: listing.files.map((f, i) => ({ relPath: f.relPath, format: formats[i] ?? 'unknown', size: f.size, scanned: checks[i]?.scanned ?? false, sha256: digests[i] ?? '', facts: checks[i]?.facts ?? [] })),
      skipped: listing.skipped,
      digest,
      totalBytes,
      signature,
      checks: checkNames,
      allowUnscanned,
      gates,
      ...(evaluation && labelled ? { evaluation: { file: labelled.file, ...evaluation } } : {}),
    }),
    findings,
    gates,
    metrics,
    durationMs: performance.now() - started,
  };
});

/** The gates input with the flat file inputs applied; a flat input no gate reads is an error, not ignored. */
function readGatesConfig(raw: unknown, evalResults: string | undefined, baselineResults: string | undefined, computes: boolean): GatesConfig {
  const config = parseGatesConfig(raw, {
    ...(evalResults ? { results: evalResults } : {}),
    ...(baselineResults ? { baseline: baselineResults } : {}),
    ...(computes ? { computedMetrics: COMPUTED_METRICS } : {}),
  });
  if (evalResults && config.metrics.length === 0 && config.fairness.length === 0) {
    throw new InputError(`eval-results is set but no metric or fairness gate reads it: add them under ${GATES_CONFIG_PATH}`, { subject: 'eval-results' });
  }
  if (baselineResults && !config.metrics.some((g) => g.kind === 'baseline')) {
    throw new InputError(`baseline-results is set but no baseline gate reads it: add one under ${GATES_CONFIG_PATH}.metrics, e.g. {metric: auc, max-drop: 0.005}`, {
      subject: 'baseline-results',
    });
  }
  return config;
}

/** The metrics smoke-eval computed, as a source metric gates read; if it did not run, why each is missing. */
function computedMetrics(file: string, evaluation: ClassifierEvaluation | undefined): EvaluationResults {
  const values = evaluation ? metricValues(evaluation.metrics) : new Map<string, number>();
  const unusable = new Map<string, string>();
  for (const name of COMPUTED_METRICS) {
    if (values.has(name)) continue;
    unusable.set(name, evaluation ? 'no value (precision, recall and f1 need binary 0/1 labels; f1_macro covers any)' : 'no value (the labelled evaluation did not run)');
  }
  return { source: `smoke-eval ${file}`, metrics: values, slices: new Map(), unusable };
}
