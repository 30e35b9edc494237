// Loads onnxruntime-node. The CLI has it as a dependency; an action bundle does not carry its
// native binaries (hundreds of MB), so there it is installed on demand into the runner's tool
// cache the first time a smoke test asks for it, and reused after.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage, InfrastructureError, type Logger } from '@ferry/core';

export type Ort = typeof import('onnxruntime-node');

/** Pinned so every runner gets the runtime the tests ran against. */
export const ONNXRUNTIME_VERSION = '1.30.0';

let cached: Ort | undefined;

function runNpm(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', args, {
      cwd,
      stdio: ['ignore', 'ignore', 'pipe'],
      // The CPU binary ships inside the package; skip the optional GPU download.
      env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`npm exited ${code}: ${stderr.trim()}`))));
  });
}

export async function loadOnnxRuntime(logger: Logger, env: Readonly<Record<string, string | undefined>>): Promise<Ort> {
  if (cached) return cached;
  try {
    // webpackIgnore: the action bundle must keep this a runtime import, so that a runner without the
    // package falls through to the on-demand install below instead of failing at load.
    cached = (await import(/* webpackIgnore: true */ 'onnxruntime-node')) as Ort;
    return cached;
  } catch {
    // Not bundled (GitHub Action): fall through to the on-demand install.
  }
  const dir = join(env.RUNNER_TOOL_CACHE ?? tmpdir(), 'ferry', `onnxruntime-node-${ONNXRUNTIME_VERSION}`);
  const pkg = join(dir, 'node_modules', 'onnxruntime-node', 'package.json');
  if (!existsSync(pkg)) {
    logger.info(`installing onnxruntime-node ${ONNXRUNTIME_VERSION} into ${dir} for the smoke test`);
    try {
      await runNpm(['install', '--no-save', '--no-audit', '--no-fund', '--prefix', dir, `onnxruntime-node@${ONNXRUNTIME_VERSION}`], tmpdir());
    } catch (err: unknown) {
      throw new InfrastructureError(`could not install onnxruntime-node for the smoke test: ${errorMessage(err)}`, {
        service: 'npm registry',
        hint: 'pre-install it with "npm install onnxruntime-node" or drop the smoke inputs',
      });
    }
  }
  const require = createRequire(pkg);
  cached = require('onnxruntime-node') as Ort;
  return cached;
}
