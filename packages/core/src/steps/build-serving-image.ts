// build-serving-image: an OCI image that serves the model on a chosen runtime, pushed with a digest.
import { defineStep } from './common.js';

export const RUNTIMES = ['ferry', 'triton', 'torchserve', 'tf-serving', 'mlserver', 'vllm'] as const;

/** Tag rules after docker/metadata-action: which tags a build gets from the model version and the CI event. */
export const TAG_RULES = ['semver', 'sha', 'pr', 'latest', 'branch', 'none'] as const;

export const buildServingImageDefinition = defineStep({
  name: 'build-serving-image',
  title: 'Build serving image',
  summary: 'Assemble an OCI image that serves the model, without a Docker daemon, and push it by digest.',
  branding: { icon: 'package', color: 'purple' },
  inputs: {
    'model-path': { type: 'path', description: 'Model file or directory to package.', required: true },
    runtime: {
      type: 'string',
      description: 'Serving runtime the image runs (see "Runtimes" in the README for the layout, ports and base image of each).',
      options: RUNTIMES,
      default: 'ferry',
    },
    'base-image': {
      type: 'string',
      description:
        "Base image: a registry reference, `oci:<dir>[:<name>]` for an OCI layout directory, or `scratch`. Default: the runtime's pinned image.",
    },
    'model-name': {
      type: 'string',
      description:
        'Name the runtime serves the model under: letters, digits, _ . - (at most 128). Default: the model file or directory name, lowercased, without its extension.',
    },
    'model-version': {
      type: 'string',
      description: 'Version of the model (semver such as 1.2.3 gives the tags 1.2.3, 1.2 and 1 on the default branch).',
    },
    image: {
      type: 'string',
      description:
        'Where the image goes: registry/repository, for example registry.example.com/team/model (a :tag in it is added to the tags). Empty: build only.',
    },
    tags: { type: 'list', description: 'Extra tags to write, comma or newline separated.' },
    'tag-rules': {
      type: 'list',
      description:
        'Tags derived from the model version and the CI event, as docker/metadata-action names them: semver (1.2.3, 1.2, 1; not on pull requests), sha (sha-<7 hex> of the commit, the PR head on pull requests), pr (pr-<number>), latest (on the default branch), branch (the branch name); none for no derived tags.',
      options: TAG_RULES,
      default: ['semver', 'sha', 'pr', 'latest'],
    },
    push: {
      type: 'boolean',
      description: 'Push to `image`. Default: true when `image` is set.',
    },
    output: {
      type: 'path',
      description: 'Also write the image here without a registry: an OCI layout directory, or an OCI archive when the path ends in .tar. Same digest as the pushed image.',
    },
    'registry-username': { type: 'string', description: 'Registry user name (with registry-password).' },
    'registry-password': { type: 'string', description: 'Registry password or token. Without it, credentials come from the docker config file.', secret: true },
    'docker-config': {
      type: 'path',
      description: 'Docker config file (config.json) or the directory holding it, where `docker login` keeps credentials. Default: $DOCKER_CONFIG or ~/.docker.',
    },
    'insecure-registry': {
      type: 'boolean',
      description: 'Plain HTTP to the registry of `image` (and a base image on the same host): loopback and test registries only.',
      default: false,
    },
    'registry-timeout': {
      type: 'duration',
      description: 'How long a registry request may go without sending or receiving a byte before it is retried.',
      default: '60s',
    },
    'registry-retries': {
      type: 'integer',
      description: 'Tries of each registry request (5xx, timeouts, dropped connections) before the step fails with exit 3.',
      default: 6,
      min: 1,
      max: 20,
    },
    'tls-verify': {
      type: 'boolean',
      description: "Verify the registry's TLS certificate. Turn off only for a test registry.",
      default: true,
    },
    platforms: {
      type: 'list',
      description: 'Platforms to keep from a multi-platform base image, such as linux/amd64. Default: every platform of the base.',
    },
    'max-batch-size': {
      type: 'integer',
      description:
        "Largest batch the runtime forms (triton max_batch_size, torchserve batchSize, mlserver max_batch_size, tf-serving batching). Default: triton 4 when the model's first dimension is variable, else 0; the others no batching.",
      min: 0,
    },
    'dynamic-batching': {
      type: 'boolean',
      description: 'Triton: let the server group requests into batches (dynamic_batching). Default: on when max-batch-size > 0.',
    },
    'instance-count': {
      type: 'integer',
      description: 'Model instances (triton instance_group count, torchserve workers).',
      default: 1,
      min: 1,
    },
    'served-model-name': {
      type: 'string',
      description: 'vLLM / OpenAI-compatible: the model name clients ask for. Default: model-name.',
    },
    handler: {
      type: 'string',
      description: 'TorchServe: handler of the model archive, a built-in name or a .py file inside the model directory.',
      default: 'base_handler',
    },
    implementation: {
      type: 'string',
      description: 'MLServer: the runtime class, such as mlserver_sklearn.SKLearnModel. Default: chosen from the model file (joblib/pickle → sklearn, .json/.ubj/.bst → xgboost, MLmodel → mlflow).',
    },
    dockerfile: {
      type: 'path',
      description:
        'Build this Dockerfile instead of assembling the image (with docker buildx, podman or buildah, whichever is on PATH); Ferry still adds the labels, tags, provenance and push.',
    },
    context: { type: 'path', description: "Build context of the Dockerfile. Default: the Dockerfile's directory." },
    provenance: {
      type: 'boolean',
      description:
        'Attach an SLSA v1 provenance statement and the model manifest (every file with its digest) to the pushed image as OCI artifacts whose subject is the image.',
      default: false,
    },
    'source-date-epoch': {
      type: 'integer',
      description:
        'Creation time of the image in seconds since the epoch. Default: $SOURCE_DATE_EPOCH, else the commit time, else 0: the same inputs always give the same digest.',
      min: 0,
    },
    'cache-dir': {
      type: 'path',
      description:
        'Where digests of files and layers are remembered (by path, size, times and inode), so a rebuild with unchanged weights does not read them again. Default: $XDG_CACHE_HOME/ferry or ~/.cache/ferry.',
    },
  },
  outputs: {
    image: { description: 'Pushed image as registry/repository@digest (empty when not pushed).' },
    digest: { description: 'Image manifest (or index) digest, also when not pushed.' },
    tags: { description: 'Tags of the image, comma separated (written to the registry when pushed).' },
    'model-digest': { description: 'Digest of the model files, computed as validate-model does.' },
    'layer-sizes': { description: 'JSON list of the layers: name, digest, size in bytes and whether the registry already had it.' },
    'bytes-uploaded': { description: 'Bytes actually uploaded (blobs the registry already had or mounted count 0).' },
    'blobs-reused': { description: 'Blobs the registry already had or mounted from another repository.' },
  },
});
