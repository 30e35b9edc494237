// `node packages/platform/dist/generate/component-project-main.js DIR` writes a GitLab component
// project into DIR (templates/, README.md, .gitlab-ci.yml), to push to the project that publishes
// Ferry's components. Files in DIR that Ferry does not generate are left alone.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { componentProjectFiles } from './gitlab-component-project.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const dir = process.argv[2];
if (!dir || dir.startsWith('-')) {
  process.stderr.write('usage: gitlab-component-project.sh DIR (the component project checkout to write into)\n');
  process.exitCode = 2;
} else {
  const target = resolve(dir);
  const written: string[] = [];
  for (const [rel, content] of componentProjectFiles(root)) {
    mkdirSync(dirname(join(target, rel)), { recursive: true });
    writeFileSync(join(target, rel), content);
    written.push(rel);
  }
  process.stdout.write(`wrote ${written.length} files to ${target}: ${written.join(', ')}\n`);
}
