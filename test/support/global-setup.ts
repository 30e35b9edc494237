// Builds the workspace packages once before the suite, because some tests execute the
// compiled CLI and the action bundles exactly as users run them.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  if (process.env.FERRY_SKIP_BUILD === '1') return;
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync('bash', ['scripts/build.sh', '--packages-only'], { cwd: root, stdio: 'inherit' });
}
