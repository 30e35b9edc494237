// Turns pickle scans into findings a reviewer can act on: the global, why it matters, how the
// stream reached it, and the file (and archive member) it sits in. Also settles the one conflict
// between outcomes: a malformed stream is exit 2, unless something critical was already found.
import type { Finding } from '@ferry/core';
import type { MalformedModelError } from '../formats/types.js';
import type { PickleScan } from './pickle-scanner.js';
import { python3Name } from './pickle-globals.js';
import { classifyGlobal, type PicklePolicy } from './pickle-policy.js';
import type { GlobalUse } from './pickle-values.js';

/** One scanned pickle stream: `where` is `model.pt` or `model.pt:archive/data.pkl`. */
export interface ScannedStream {
  readonly where: string;
  readonly scan: PickleScan;
}

/** Names as written, plus what the unpickler resolves them to (posix.system is os.system on Linux). */
function shownName(g: GlobalUse): string {
  const full = g.fullName;
  if (g.module === 'posix' || g.module === 'nt') return `${full} (os.${g.name})`;
  const py3 = python3Name(g.module, g.name);
  return py3 === full ? full : `${full} (${py3})`;
}

function how(g: GlobalUse): string {
  const calls = [...g.calls];
  const called = calls.length > 0 ? `, used by ${calls.join('/')}` : '';
  return `imported by ${g.opcode} at byte ${g.offset}${g.count > 1 ? ` (${g.count} times)` : ''}${called}`;
}

function policyName(policy: PicklePolicy): string {
  return policy.source ? `the pickle policy ${policy.source}` : 'the pickle policy';
}

export function streamFindings(stream: ScannedStream, file: string, policy: PicklePolicy): Finding[] {
  const { where, scan } = stream;
  const out: Finding[] = [];
  const add = (severity: Finding['severity'], rule: string, message: string): void => {
    out.push({ severity, rule, message: `${where}: ${message}`, file });
  };
  for (const g of scan.globals) {
    const c = classifyGlobal(g.module, g.name, policy);
    const name = shownName(g);
    switch (c.kind) {
      case 'dangerous':
        add('critical', 'pickle/dangerous-global', `${name} ${c.reason}; ${how(g)}`);
        break;
      case 'dangerous-allowed':
        add('info', 'pickle/dangerous-global-allowed', `${name} ${c.reason}, and ${policyName(policy)} allows it by exact name; ${how(g)}`);
        break;
      case 'denied':
        add('critical', 'pickle/denied-global', `${name} is denied by ${policyName(policy)} ("${c.pattern}"); ${how(g)}`);
        break;
      case 'unknown':
        add('high', 'pickle/unknown-global', `${name} is not on the allowlist, so loading this pickle would import and possibly run it; ${how(g)}. Allow it in a pickle policy file if you trust it`);
        break;
      case 'policy-allowed':
        add('info', 'pickle/policy-allowed-global', `${name} is allowed by ${policyName(policy)} ("${c.pattern}"); ${how(g)}`);
        break;
      case 'safe':
        break;
    }
  }
  for (const u of scan.unresolved) {
    add('critical', 'pickle/unresolved-global', `${u.opcode} at byte ${u.offset} imports a global whose name cannot be known without running the pickle (${u.detail})`);
  }
  for (const c of scan.computedCalls) {
    add('critical', 'pickle/computed-call', `${c.opcode} at byte ${c.offset} calls ${c.target}, not a named global, so what runs cannot be known without running the pickle`);
  }
  for (const m of scan.mutations) {
    add('critical', 'pickle/global-mutation', `${m.opcode} at byte ${m.offset} modifies the global ${m.target} in place, which patches code that runs later`);
  }
  return out;
}

/** The globals every stream imported that need no finding, for the report. */
export function safeGlobals(streams: readonly ScannedStream[], policy: PicklePolicy): string[] {
  const names = new Set<string>();
  for (const s of streams) {
    for (const g of s.scan.globals) if (classifyGlobal(g.module, g.name, policy).kind === 'safe') names.add(g.fullName);
  }
  return [...names].sort();
}

/**
 * A malformed stream fails with exit 2, except when a critical finding was already made: then the
 * critical findings decide (exit 1) and each malformation is reported next to them.
 */
export function settleMalformed(findings: Finding[], malformed: readonly MalformedModelError[], file: string): Finding[] {
  if (malformed.length === 0) return findings;
  if (!findings.some((f) => f.severity === 'critical')) throw malformed[0] as MalformedModelError;
  return [
    ...findings,
    ...malformed.map((m) => ({
      severity: 'high' as const,
      rule: m.rule,
      message: `${m.message}; scanning stopped there, after the critical findings above`,
      file,
    })),
  ];
}

/** Report facts shared by the pickle-based checkers. */
export function scanFacts(streams: readonly ScannedStream[], policy: PicklePolicy): [string, string][] {
  const protocols = new Set<number>();
  let pickles = 0;
  for (const s of streams) {
    pickles += s.scan.pickles;
    for (const p of s.scan.protocols) protocols.add(p);
  }
  if (streams.length === 0) return [['pickle streams', '0']];
  const safe = safeGlobals(streams, policy);
  const facts: [string, string][] = [
    ['pickle streams', String(streams.length)],
    ['pickles', String(pickles)],
    ['pickle protocols', protocols.size > 0 ? [...protocols].sort().join(', ') : '0-1 (no PROTO opcode)'],
  ];
  if (safe.length > 0) facts.push(['allowlisted globals', safe.length > 12 ? `${safe.slice(0, 12).join(', ')} … (${safe.length})` : safe.join(', ')]);
  return facts;
}
