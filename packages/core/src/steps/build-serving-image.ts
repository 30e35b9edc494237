// build-serving-image: an OCI image that serves the model on a chosen runtime, pushed with a digest.
import { defineStep } from './common.js';

export const RUNTIMES = ['ferry', 'triton', 'torchserve', 'tf-serving', 'mlserver', 'vllm'] as const;

export const buildServingImageDefinition = defineStep({
  name: 'build-serving-image',
  title: 'Build serving image',
  summary: 'Assemble an OCI image that serves the model, without a Docker daemon, and push it by digest.',
  branding: { icon: 'package', color: 'purple' },
  inputs: {
    'model-path': { type: 'path', description: 'Model file or directory to package.', required: true },
    runtime: {
      type: 'string',
      description: 'Serving runtime the image runs.',
      options: RUNTIMES,
      default: 'ferry',
    },
    'base-image': { type: 'string', description: "Base image reference; defaults to the runtime's pinned image." },
    image: {
      type: 'string',
      description: 'Repository to push to, for example registry.example.com/team/model. Empty: build only.',
    },
    tags: { type: 'list', description: 'Tags to apply, comma or newline separated.' },
    'oci-layout': { type: 'path', description: 'Also write the image to this OCI layout directory.' },
    'registry-username': { type: 'string', description: 'Registry user name.' },
    'registry-password': { type: 'string', description: 'Registry password or token.', secret: true },
    'insecure-registry': {
      type: 'boolean',
      description: 'Allow plain HTTP to the registry (loopback and test registries only).',
      default: false,
    },
  },
  outputs: {
    image: { description: 'Pushed image reference with digest.' },
    digest: { description: 'Image manifest digest, also when not pushed.' },
    tags: { description: 'Tags written, comma separated.' },
    'uploaded-bytes': { description: 'Bytes actually uploaded (reused blobs are not counted).' },
  },
});
