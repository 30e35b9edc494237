// The Python that tests use to write real model files and reference values (scripts/install-python-deps.sh).
import { existsSync } from 'node:fs';

export const PYTHON = `${process.env.FERRY_PYTHON_VENV ?? '/var/cache/ferry/python-venv'}/bin/python`;

/** Fails (never skips) with the command that installs the test Python. */
export function requirePython(): string {
  if (!existsSync(PYTHON)) {
    throw new Error(`test Python ${PYTHON} is missing: run "sudo bash scripts/install-python-deps.sh" (npm test does this)`);
  }
  return PYTHON;
}
