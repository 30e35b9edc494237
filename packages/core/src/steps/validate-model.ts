// validate-model: is this artifact safe, well-formed and good enough to ship?
import { defineStep } from './common.js';

const number = { type: 'number' };
const fraction = { type: ['number', 'string'], description: 'A fraction (0.1) or a percentage ("10%").' };
const strings = { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };
const driftLimits = {
  'psi-threshold': { type: 'number', exclusiveMinimum: 0 },
  'ks-threshold': { type: 'number', exclusiveMinimum: 0, maximum: 1 },
  'js-threshold': { type: 'number', exclusiveMinimum: 0, maximum: 1 },
};

/** JSON schema of the `gates` mapping for editors; the engine (packages/model/src/gates) checks it fully. */
const GATES_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    results: { type: 'string', description: 'Evaluation results of this model (JSON or CSV), for metric and fairness gates.' },
    baseline: { type: 'string', description: "The production model's results in the same layout, for baseline gates." },
    slices: { type: 'string', description: 'Per-slice results, when not in the results file.' },
    metrics: {
      type: 'array',
      description: 'Metric gates: "accuracy >= 0.92", {metric, op, threshold}, or a baseline gate {metric, max-drop: 0.005}.',
      items: {
        oneOf: [
          { type: 'string', pattern: '^\\s*\\S.*?\\s*(>=|<=|==|>|<)\\s*[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?\\s*$' },
          {
            type: 'object',
            additionalProperties: false,
            required: ['metric', 'op', 'threshold'],
            properties: { metric: { type: 'string' }, op: { enum: ['>=', '>', '<=', '<', '=='] }, threshold: number },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['metric'],
            properties: {
              metric: { type: 'string' },
              direction: { enum: ['higher-is-better', 'lower-is-better'] },
              'max-drop': { type: 'number', minimum: 0 },
              'max-drop-relative': fraction,
              'max-increase': { type: 'number', minimum: 0 },
              'max-increase-relative': fraction,
            },
          },
        ],
      },
    },
    fairness: {
      type: 'array',
      description: 'Fairness gates over per-slice results: {metric, by | slices, max-gap, min-ratio}.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['metric'],
        properties: {
          metric: { type: 'string' },
          by: { type: 'string' },
          slices: strings,
          'max-gap': { type: 'number', minimum: 0 },
          'min-ratio': { type: 'number', minimum: 0, maximum: 1 },
          'min-groups': { type: 'integer', minimum: 2 },
        },
      },
    },
    drift: {
      type: 'object',
      description: 'Drift of a current sample from a reference sample (CSV): PSI and KS for numbers, PSI and Jensen–Shannon for categories.',
      additionalProperties: false,
      required: ['reference', 'current'],
      properties: {
        reference: { type: 'string' },
        current: { type: 'string' },
        features: {
          type: 'array',
          items: {
            oneOf: [
              { type: 'string' },
              {
                type: 'object',
                additionalProperties: false,
                required: ['name'],
                properties: { name: { type: 'string' }, type: { enum: ['numeric', 'categorical'] }, ...driftLimits },
              },
            ],
          },
        },
        exclude: strings,
        bins: { type: 'integer', minimum: 2 },
        ...driftLimits,
        alpha: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
        'min-samples': { type: 'integer', minimum: 1 },
      },
    },
    'model-card': {
      description: 'true for the default required fields, or {path, required, aliases}.',
      oneOf: [
        { type: 'boolean' },
        {
          type: 'object',
          additionalProperties: false,
          properties: {
            path: { type: 'string' },
            required: strings,
            aliases: { type: 'object', additionalProperties: strings },
          },
        },
      ],
    },
  },
} as const;

export const validateModelDefinition = defineStep({
  name: 'validate-model',
  title: 'Validate model',
  summary: 'Check that a model artifact is safe, well-formed and good enough to ship.',
  branding: { icon: 'shield', color: 'blue' },
  inputs: {
    'model-path': {
      type: 'path',
      description: 'Model file or directory to validate. Formats are detected from the bytes, never the extension.',
      required: true,
    },
    'allow-unscanned': {
      type: 'boolean',
      description:
        'Pass even when some files could not be checked (unknown formats, links, archive members). They are still listed as unscanned.',
      default: false,
    },
    'pickle-policy': {
      type: 'path',
      description:
        'YAML or JSON file with `allow` and `deny` lists of pickle globals (`module.name` or `module.*`). Known-dangerous globals are only lifted by their exact name and stay in the report.',
    },
    'smoke-samples': {
      type: 'path',
      description: 'JSON array of sample inputs (input name → nested array) to run through an ONNX model with onnxruntime.',
    },
    'smoke-golden': {
      type: 'path',
      description: 'JSON array of expected outputs (output name → nested array), one per sample.',
    },
    'smoke-atol': { type: 'number', description: 'Absolute tolerance when comparing with golden outputs.', default: 1e-5, min: 0 },
    'smoke-rtol': { type: 'number', description: 'Relative tolerance when comparing with golden outputs.', default: 1e-4, min: 0 },
    'smoke-eval': {
      type: 'path',
      description:
        'CSV of feature columns and a label column to score an ONNX classifier with onnxruntime: accuracy and f1_macro, plus precision, recall and f1 of class 1 for 0/1 labels. Metric gates can read them.',
    },
    'smoke-eval-label': { type: 'string', description: 'Column of smoke-eval holding the true class.', default: 'label' },
    gates: {
      type: 'object',
      description:
        'Metric, baseline, fairness, drift and model-card gates (see "Gates" in the README); usually set under validate-model in ferry.yml.',
      schema: GATES_SCHEMA,
    },
    'eval-results': { type: 'path', description: 'Evaluation results file (JSON or CSV) for the gates; replaces gates.results.' },
    'baseline-results': { type: 'path', description: "The production model's evaluation results for baseline gates; replaces gates.baseline." },
  },
  outputs: {
    format: { description: 'Detected format of the model (for a directory, the format of its main file).' },
    'model-digest': {
      description: 'One sha256 digest over all files: sha256 of the sorted "<digest>  <path>" lines.',
    },
    'file-digests': { description: 'JSON object mapping each file (relative path) to its sha256 digest.' },
    'total-bytes': { description: 'Total size of the model files in bytes.' },
    signature: { description: 'JSON {inputs, outputs} of the ONNX model: names, element types and shapes.' },
    findings: { description: 'JSON count of findings by severity (critical, high, medium, low, info).' },
    unscanned: { description: 'JSON list of files that could not be checked.' },
    'gates-failed': { description: 'Number of gates that failed.' },
  },
});
