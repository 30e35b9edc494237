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
  },
  outputs: {
    format: { description: 'Detected format of the model (for a directory, the format of its main file).' },
    'model-digest': {
      description: 'One sha256 digest over all files: sha256 of the sorted "<digest>  <path>" lines.',
    },
    'file-digests': { description: 'JSON object mapping each file (relative path) to its sha256 digest.' },
    'total-bytes': { description: 'Total size of the model files in bytes.' },
  },
});
