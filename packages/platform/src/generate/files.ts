// The set of generated files and the check that they are current.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ferryConfigSchema, STEP_DEFINITIONS } from '@ferry/core';
import { actionYml } from './action-yml.js';
import { ferryVersion, gitlabTemplates } from './gitlab-template.js';
import { spliceReadme } from './readme-tables.js';

/** Every generated file, relative path → expected content. */
export function generatedFiles(root: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const def of STEP_DEFINITIONS) files.set(`actions/${def.name}/action.yml`, actionYml(def));
  for (const [name, text] of gitlabTemplates({ kind: 'include', version: ferryVersion(root) })) files.set(`gitlab-templates/${name}.yml`, text);
  files.set('schema/ferry.schema.json', `${JSON.stringify(ferryConfigSchema(), null, 2)}\n`);
  const readmePath = join(root, 'README.md');
  files.set('README.md', spliceReadme(readFileSync(readmePath, 'utf8'), STEP_DEFINITIONS));
  return files;
}

/** Paths whose content on disk differs from what the declarations generate. */
export function staleFiles(root: string): string[] {
  const stale: string[] = [];
  for (const [rel, content] of generatedFiles(root)) {
    const path = join(root, rel);
    if (!existsSync(path) || readFileSync(path, 'utf8') !== content) stale.push(rel);
  }
  return stale;
}

export function writeGeneratedFiles(root: string): string[] {
  const written: string[] = [];
  for (const [rel, content] of generatedFiles(root)) {
    const path = join(root, rel);
    if (existsSync(path) && readFileSync(path, 'utf8') === content) continue;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    written.push(rel);
  }
  return written;
}
