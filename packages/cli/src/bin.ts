#!/usr/bin/env node
// Entry point of the `ferry` binary: wires the process to runCli and turns signals into cancellation.
import { runCli } from './main.js';

const controller = new AbortController();
let signals = 0;
const onSignal = (sig: NodeJS.Signals): void => {
  signals += 1;
  if (signals > 1) process.exit(sig === 'SIGINT' ? 130 : 143);
  process.stderr.write(`ferry: ${sig} received, stopping cleanly (send again to force)\n`);
  controller.abort(new Error(`cancelled by ${sig}`));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const code = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
});
process.exitCode = code;
