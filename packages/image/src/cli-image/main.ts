// Builds and publishes the versioned CLI image (scripts/build-cli-image.sh, scripts/publish-cli-image.sh):
//   node packages/image/dist/cli-image/main.js build [--output DIR|FILE.tar] [--push REF]… [--insecure-registry]
//   node packages/image/dist/cli-image/main.js publish      (everything from the environment, for CI)
// Same recipe, same digest for both: nothing is pulled and every time is fixed.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { errorMessage, exitCodeOf, InputError } from '@ferry/core';
import { buildImage, parseReference, pushImage, RegistryClient, scratchBase, writeOciArchive, writeOciLayout } from '../oci/index.js';
import type { BuiltImage, RegistryCredentials } from '../oci/index.js';
import { CLI_IMAGE_NAME, cliImageRecipe } from './recipe.js';
import { publishTags, registryCredentialsFromEnv } from './publish.js';

type Env = Readonly<Record<string, string | undefined>>;

const USAGE = `usage: build-cli-image [--output DIR|FILE.tar] [--push REFERENCE]… [--insecure-registry] [--busybox PATH] [--node PATH]
       publish-cli-image   (reads FERRY_CLI_IMAGE_REPOSITORY and the variables below)
build:
  --output PATH         write an OCI layout directory (tag: the version), or an OCI archive when PATH ends in .tar
  --push REFERENCE      push to registry/repository[:tag] (default tag: the version); repeatable
  --insecure-registry   plain HTTP to the registry (loopback registries only)
  --busybox PATH        static busybox for the shell (default /usr/bin/busybox, then /bin/busybox)
  --node PATH           the Node binary to ship (default: the one running this)
  --source-date-epoch N creation time (default: $SOURCE_DATE_EPOCH, else 0)
publish (environment):
  FERRY_CLI_IMAGE_REPOSITORY   registry/repository to push to, such as registry.gitlab.com/group/ferry/cli (required)
  FERRY_CLI_REGISTRY_USERNAME, FERRY_CLI_REGISTRY_PASSWORD
                               credentials; else CI_REGISTRY_USER/CI_REGISTRY_PASSWORD when the repository is on
                               $CI_REGISTRY; else the docker config file. Never printed.
  CI_COMMIT_TAG, or GITHUB_REF_TYPE=tag with GITHUB_REF_NAME
                               the release tag: vX.Y.Z must match the version and adds the tag X.Y
  FERRY_CLI_IMAGE_INSECURE=true  plain HTTP (loopback registries only)
`;

async function rootVersion(root: string): Promise<string> {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version?: string };
  if (!pkg.version) throw new InputError(`${root}/package.json has no version`, { subject: 'version' });
  return pkg.version;
}

function defaultBusybox(): string {
  return ['/usr/bin/busybox', '/bin/busybox'].find((p) => existsSync(p)) ?? '/usr/bin/busybox';
}

async function build(options: { root: string; version: string; node: string; busybox: string; epoch: number; workDir: string }): Promise<BuiltImage> {
  const { version } = options;
  const recipe = await cliImageRecipe({ root: options.root, node: options.node, busybox: options.busybox, version });
  const image = await buildImage({
    base: scratchBase([recipe.platform]),
    layers: recipe.layers,
    config: recipe.config,
    annotations: {
      'org.opencontainers.image.title': 'ferry-cli',
      'org.opencontainers.image.version': version,
      'org.opencontainers.image.source': 'https://github.com/ferry-ml/ferry',
    },
    sourceDateEpoch: options.epoch,
    layerMtime: 0,
    workDir: options.workDir,
  });
  for (const layer of image.layers) process.stderr.write(`${layer.name}: ${layer.descriptor.size} bytes, ${layer.descriptor.digest}\n`);
  process.stderr.write(`${CLI_IMAGE_NAME}:${version}: ${recipe.packages.length} packages, ${recipe.libraries.length} shared libraries, ${recipe.applets.length} shell applets; image ${image.digest}\n`);
  return image;
}

async function push(image: BuiltImage, reference: string, tags: readonly string[], options: { plainHttp: boolean; credentials?: RegistryCredentials; env: Env }): Promise<void> {
  const ref = parseReference(reference, 'repository');
  const client = new RegistryClient({
    registry: ref.registry,
    plainHttp: options.plainHttp,
    ...(options.credentials ? { credentials: options.credentials, credentialFiles: false } : { credentialFiles: true, env: options.env }),
    userAgent: 'ferry cli-image',
  });
  try {
    const result = await pushImage(image, { client, repository: ref.repository, tags: [...tags] });
    process.stderr.write(`pushed ${result.reference} as ${result.tags.map((t) => `${ref.registry}/${ref.repository}:${t}`).join(', ')} (${result.bytesUploaded} bytes uploaded)\n`);
  } finally {
    client.close();
  }
}

async function main(argv: string[], env: Env): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      push: { type: 'string', multiple: true },
      output: { type: 'string' },
      'insecure-registry': { type: 'boolean', default: false },
      root: { type: 'string' },
      node: { type: 'string' },
      busybox: { type: 'string' },
      'source-date-epoch': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || (command !== 'build' && command !== 'publish')) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  const root = resolve(values.root ?? fileURLToPath(new URL('../../../..', import.meta.url)));
  const epoch = Number(values['source-date-epoch'] ?? env.SOURCE_DATE_EPOCH ?? 0);
  if (!Number.isInteger(epoch) || epoch < 0) throw new InputError(`source-date-epoch "${values['source-date-epoch'] ?? env.SOURCE_DATE_EPOCH}" is not a whole number of seconds`, { subject: 'source-date-epoch' });

  // Everything the publish step needs is checked before the (long) build.
  let publishTo: { repository: string; tags: string[]; credentials?: RegistryCredentials; plainHttp: boolean } | undefined;
  const version = await rootVersion(root);
  if (command === 'publish') {
    const repository = env.FERRY_CLI_IMAGE_REPOSITORY?.trim();
    if (!repository) throw new InputError('FERRY_CLI_IMAGE_REPOSITORY is not set: give the registry/repository to publish to, such as registry.gitlab.com/group/ferry/cli', { subject: 'FERRY_CLI_IMAGE_REPOSITORY' });
    const ref = parseReference(repository, 'FERRY_CLI_IMAGE_REPOSITORY');
    if (ref.tag !== undefined || ref.digest !== undefined) throw new InputError(`FERRY_CLI_IMAGE_REPOSITORY "${repository}" names a tag or digest: give only registry/repository; the tags come from the version`, { subject: 'FERRY_CLI_IMAGE_REPOSITORY' });
    const credentials = registryCredentialsFromEnv(ref.registry, env);
    publishTo = { repository, tags: publishTags(version, env), plainHttp: env.FERRY_CLI_IMAGE_INSECURE === 'true', ...(credentials ? { credentials } : {}) };
  }

  const workDir = await mkdtemp(join(tmpdir(), 'ferry-cli-image-'));
  try {
    const image = await build({ root, version, node: values.node ?? process.execPath, busybox: values.busybox ?? defaultBusybox(), epoch, workDir });
    if (values.output) {
      const output = resolve(values.output);
      const written = output.endsWith('.tar') ? await writeOciArchive(image, output, { tag: version }) : await writeOciLayout(image, output, { tag: version });
      process.stderr.write(`wrote ${written.path} (oci:${written.path}:${version})\n`);
    }
    for (const reference of values.push ?? []) {
      const ref = parseReference(reference, 'push');
      await push(image, `${ref.registry}/${ref.repository}`, [ref.tag ?? version], { plainHttp: values['insecure-registry'], env });
    }
    if (publishTo) await push(image, publishTo.repository, publishTo.tags, { plainHttp: publishTo.plainHttp, env, ...(publishTo.credentials ? { credentials: publishTo.credentials } : {}) });
    process.stdout.write(`${image.digest}\n`);
    return 0;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`cli-image: ${errorMessage(error)}\n`);
    process.exitCode = exitCodeOf(error);
  },
);
