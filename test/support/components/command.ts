// Runs a one-shot command-line tool (podman, skopeo, tar) and hands back what it printed, so
// failures show the tool's own words.
import { spawn } from 'node:child_process';

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface CommandOptions {
  timeoutMs?: number;
  cwd?: string;
}

/** Runs `command args`; resolves whatever the exit code (see `checkedCommand` for the strict form). */
export function runCommand(command: string, args: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
  const { timeoutMs = 60_000, cwd } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const result = { stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString(), exitCode: code ?? 128 };
      if (signal === 'SIGKILL' && code === null) {
        reject(new Error(`${command} ${args.join(' ')} timed out after ${timeoutMs} ms\n${result.stderr}`));
      } else {
        resolve(result);
      }
    });
  });
}

/** Runs `command args` and throws with its stderr unless it exits 0. */
export async function checkedCommand(command: string, args: readonly string[], options: CommandOptions = {}): Promise<string> {
  const result = await runCommand(command, args, options);
  if (result.exitCode !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.exitCode}:\n${(result.stderr || result.stdout).trim()}`);
  }
  return result.stdout;
}
