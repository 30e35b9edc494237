// Peak resident memory of a child process: GNU time's %M (the kernel's own high-water mark, from
// wait4) when /usr/bin/time exists, otherwise polling /proc/<pid>/status VmHWM, which can miss the
// last few milliseconds and so reads as a lower bound.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GNU_TIME = '/usr/bin/time';
const POLL_MS = 10;
let probes = 0;

export type RssMethod = 'gnu-time' | 'proc-poll';

export function rssMethod(): RssMethod {
  return existsSync(GNU_TIME) ? 'gnu-time' : 'proc-poll';
}

/** Wraps one child command so its peak RSS can be read once it has exited. */
export interface RssProbe {
  readonly command: string;
  readonly args: readonly string[];
  attach(pid: number): void;
  /** Peak RSS in bytes, or undefined when it could not be read. */
  finish(): number | undefined;
}

export function rssProbe(command: string, args: readonly string[]): RssProbe {
  if (rssMethod() === 'gnu-time') {
    const out = join(tmpdir(), `ferry-bench-rss-${process.pid}-${probes++}.txt`);
    return {
      command: GNU_TIME,
      // -o keeps time's report out of the child's own stderr; %M is in KiB.
      args: ['-f', '%M', '-o', out, command, ...args],
      attach: () => {},
      finish: () => {
        try {
          // On a non-zero exit GNU time writes "Command exited with non-zero status N" first.
          const lines = readFileSync(out, 'utf8').trim().split('\n');
          const kib = Number(lines[lines.length - 1]);
          return Number.isFinite(kib) && kib > 0 ? kib * 1024 : undefined;
        } catch {
          return undefined;
        } finally {
          rmSync(out, { force: true });
        }
      },
    };
  }
  let peak = 0;
  let timer: NodeJS.Timeout | undefined;
  return {
    command,
    args,
    attach: (pid) => {
      const read = (): void => {
        try {
          const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
          if (m) peak = Math.max(peak, Number(m[1]) * 1024);
        } catch {
          // The process has gone; the last reading stands.
        }
      };
      read();
      timer = setInterval(read, POLL_MS);
    },
    finish: () => {
      if (timer) clearInterval(timer);
      return peak > 0 ? peak : undefined;
    },
  };
}
