// Locates the real binaries the integration tests start, and turns a missing one into a failure
// that says how to install it: a test never skips because a component is absent.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export class MissingComponentError extends Error {
  constructor(
    readonly component: string,
    readonly aptPackage: string,
  ) {
    super(`component ${component} is missing: run "sudo bash scripts/install-system-deps.sh" (or apt-get install ${aptPackage})`);
    this.name = 'MissingComponentError';
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of `name`, searched on PATH and then in the sbin/bin dirs a non-root PATH lacks. */
export function requireBinary(name: string, aptPackage: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SYSTEM_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  throw new MissingComponentError(name, aptPackage);
}
