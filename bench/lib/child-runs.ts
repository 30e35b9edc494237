// Contenders for the validate-model suites: a child process that times its own call and prints it as
// JSON (bench/lib/check-child.mjs, or a python3 -c anchor), and the CLI validating a model as users
// run it, checked for a passing verdict so that a fast wrong answer is an error, not a result.
import { CLI_BIN, doorEnv, REPO_ROOT } from './paths.ts';
import { spawnTimed, stderrTail } from './spawn.ts';
import type { Contender } from './timing.ts';

/** What a timing child prints: the call's time inside the process and the bytes the process read meanwhile. */
export interface ChildReport {
  readonly ms: number;
  readonly readBytes: number;
  /** check-child.mjs `ferry` only: what validate-model would say of the file. */
  readonly format?: string;
  readonly scanned?: boolean;
  readonly findings?: readonly { severity: string; rule: string; message: string }[];
  readonly facts?: readonly (readonly [string, string])[];
}

/** Per contender id: the process wall times and the bytes read, kept beside the in-process times the rows judge. */
export type ChildExtras = Map<string, { wallMs: number[]; readBytes: number[] }>;

/** A child that times its own call: the sample is that time (not the process's), with the process's peak RSS. */
export function childContender(a: {
  id: string;
  label: string;
  command: string;
  args: readonly string[];
  extras: ChildExtras;
  verify: (r: ChildReport) => void;
}): Contender {
  a.extras.set(a.id, { wallMs: [], readBytes: [] });
  return {
    id: a.id,
    label: a.label,
    run: async () => {
      const p = await spawnTimed(a.command, a.args, { env: doorEnv(), cwd: REPO_ROOT, measureRss: true });
      if (p.exitCode !== 0) throw new Error(`${a.label}: ${stderrTail(p)}`);
      let report: ChildReport;
      try {
        report = JSON.parse(p.stdout) as ChildReport;
      } catch {
        throw new Error(`${a.label} printed no JSON (${stderrTail(p)})`);
      }
      a.verify(report);
      a.extras.get(a.id)!.wallMs.push(p.ms);
      a.extras.get(a.id)!.readBytes.push(report.readBytes);
      return { ms: report.ms, peakRssBytes: p.peakRssBytes };
    },
  };
}

/** Throws unless a Ferry check found a fully scanned file of `format` with no high or critical finding. */
export function expectCleanCheck(who: string, format: string, r: ChildReport): void {
  const blocking = (r.findings ?? []).filter((f) => f.severity === 'critical' || f.severity === 'high');
  if (r.format !== format || r.scanned !== true || blocking.length > 0) {
    throw new Error(`${who}: expected a scanned ${format} with no blocking finding, got ${r.format} scanned=${r.scanned} ${blocking[0]?.message ?? ''}`);
  }
}

/** `validate-model --model-path <file> --json` as users run it (start-up, checks and hashing), which must pass. */
export function cliValidateContender(a: { id: string; label: string; path: string; format: string; bytes: number }): Contender {
  return {
    id: a.id,
    label: a.label,
    run: async () => {
      const p = await spawnTimed(process.execPath, [CLI_BIN, 'validate-model', '--model-path', a.path, '--json'], { env: doorEnv(), cwd: REPO_ROOT, measureRss: true });
      let result: { verdict?: string; outputs?: Record<string, string> };
      try {
        result = JSON.parse(p.stdout) as typeof result;
      } catch {
        throw new Error(`ferry CLI printed no JSON result (${stderrTail(p)})`);
      }
      const { format, 'total-bytes': total } = result.outputs ?? {};
      if (p.exitCode !== 0 || result.verdict !== 'pass' || format !== a.format || total !== String(a.bytes)) {
        throw new Error(`ferry CLI: expected verdict pass for a ${a.bytes}-byte ${a.format}, got ${result.verdict} ${format} ${total} (${stderrTail(p)})`);
      }
      return { ms: p.ms, peakRssBytes: p.peakRssBytes };
    },
  };
}
