// `npm run generate` writes the generated files; `--check` lists stale ones and exits 1.
import { fileURLToPath } from 'node:url';
import { staleFiles, writeGeneratedFiles } from './files.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
if (process.argv.includes('--check')) {
  const stale = staleFiles(root);
  if (stale.length > 0) {
    process.stderr.write(`generated files are stale: ${stale.join(', ')}\nrun: npm run generate\n`);
    process.exitCode = 1;
  }
} else {
  const written = writeGeneratedFiles(root);
  process.stdout.write(written.length > 0 ? `wrote ${written.join(', ')}\n` : 'generated files are up to date\n');
}
