// validate-model: is this artifact safe, well-formed and good enough to ship?
import { defineStep } from './common.js';

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
