// Builds the Ferry base image from this installation (scripts/build-ferry-base.sh runs it):
//   node packages/image/dist/ferry-base/main.js [--push REF] [--output DIR|FILE.tar] [--insecure-registry]
// The same recipe makes the published image and the one tests run; nothing is pulled.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { errorMessage, exitCodeOf } from '@ferry/core';
import { buildImage, parseReference, pushImage, RegistryClient, scratchBase, writeOciArchive, writeOciLayout } from '../oci/index.js';
import { ferryBaseRecipe } from './recipe.js';
import { FERRY_BASE_REFERENCE } from './layout.js';

const USAGE = `usage: build-ferry-base [--push REFERENCE] [--output DIR|FILE.tar] [--insecure-registry] [--root DIR] [--node PATH]
  --push REFERENCE      push to registry/repository:tag (default tag of the published image: ${FERRY_BASE_REFERENCE})
  --output PATH         write an OCI layout directory, or an OCI archive when PATH ends in .tar
  --insecure-registry   plain HTTP to the registry (loopback registries only)
  --root DIR            the Ferry installation (default: this checkout)
  --node PATH           the Node binary to ship (default: the one running this)
  --source-date-epoch N creation time (default: $SOURCE_DATE_EPOCH, else 0)
`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      push: { type: 'string' },
      output: { type: 'string' },
      'insecure-registry': { type: 'boolean', default: false },
      root: { type: 'string' },
      node: { type: 'string' },
      'source-date-epoch': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || (!values.push && !values.output)) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  const root = resolve(values.root ?? fileURLToPath(new URL('../../../..', import.meta.url)));
  const epoch = Number(values['source-date-epoch'] ?? process.env.SOURCE_DATE_EPOCH ?? 0);
  const recipe = await ferryBaseRecipe({ root, node: values.node ?? process.execPath });
  const workDir = await mkdtemp(join(tmpdir(), 'ferry-base-'));
  try {
    const image = await buildImage({
      base: scratchBase([recipe.platform]),
      layers: recipe.layers,
      config: recipe.config,
      annotations: { 'org.opencontainers.image.title': 'ferry-serve', 'org.opencontainers.image.source': 'https://github.com/ferry-ml/ferry' },
      sourceDateEpoch: epoch,
      layerMtime: 0,
      workDir,
    });
    for (const layer of image.layers) process.stderr.write(`${layer.name}: ${layer.descriptor.size} bytes, ${layer.descriptor.digest}\n`);
    process.stderr.write(`${recipe.packages.length} packages, ${recipe.libraries.length} shared libraries; image ${image.digest}\n`);
    if (values.output) {
      const output = resolve(values.output);
      const written = output.endsWith('.tar') ? await writeOciArchive(image, output, { tag: 'ferry-serve' }) : await writeOciLayout(image, output, { tag: 'ferry-serve' });
      process.stderr.write(`wrote ${written.path} (ferry-serve)\n`);
    }
    if (values.push) {
      const ref = parseReference(values.push, 'push');
      const client = new RegistryClient({ registry: ref.registry, plainHttp: values['insecure-registry'] });
      try {
        const result = await pushImage(image, { client, repository: ref.repository, tags: [ref.tag ?? 'latest'] });
        process.stderr.write(`pushed ${result.reference} (${result.bytesUploaded} bytes uploaded)\n`);
      } finally {
        client.close();
      }
    }
    process.stdout.write(`${image.digest}\n`);
    return 0;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`build-ferry-base: ${errorMessage(error)}\n`);
    process.exitCode = exitCodeOf(error);
  },
);
