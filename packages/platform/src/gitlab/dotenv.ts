// Step outputs as a dotenv report, so later jobs receive them as variables (FERRY_<STEP>_<OUTPUT>).
import type { StepName } from '@ferry/core';

/**
 * GitLab refuses a dotenv report of 5 KiB or more (the instance limit `dotenv_size`), and then
 * no later job gets any of its variables; a many-file model's digest list alone can pass that.
 */
export const DOTENV_MAX_BYTES = 5120;

export function dotenvName(step: StepName, output: string): string {
  return `FERRY_${step}_${output}`.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase();
}

/**
 * GitLab's dotenv parser takes one line per variable, so values are single-line. The longest
 * values are left out (never `verdict`) until the file fits the limit; `onOmit` names each one so
 * the job log can point to result.json, which always holds every output.
 */
export function dotenvText(step: StepName, outputs: Readonly<Record<string, string>>, onOmit?: (output: string, bytes: number) => void): string {
  const lines = Object.entries(outputs).map(([k, v]) => ({ output: k, line: `${dotenvName(step, k)}=${v.replace(/\r\n|\r|\n/g, ' ')}` }));
  const size = (): number => lines.reduce((n, l) => n + Buffer.byteLength(l.line) + 1, 0);
  while (size() >= DOTENV_MAX_BYTES) {
    const droppable = lines.filter((l) => l.output !== 'verdict');
    if (droppable.length === 0) break;
    const longest = droppable.reduce((a, b) => (Buffer.byteLength(b.line) > Buffer.byteLength(a.line) ? b : a));
    lines.splice(lines.indexOf(longest), 1);
    onOmit?.(longest.output, Buffer.byteLength(longest.line));
  }
  return lines
    .map((l) => l.line)
    .join('\n')
    .concat('\n');
}
