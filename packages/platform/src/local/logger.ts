// The terminal logger for the CLI: plain lines on stderr, secrets masked, groups as headings.
import type { Logger } from '@ferry/core';
import { terminalProgress, type ProgressSink } from './progress.js';

export interface TerminalLoggerOptions {
  readonly stream: NodeJS.WritableStream & { isTTY?: boolean };
  readonly verbose?: boolean;
  readonly quiet?: boolean;
}

export function terminalLogger(opts: TerminalLoggerOptions): Logger {
  const secrets: string[] = [];
  const mask = (text: string): string => secrets.reduce((t, s) => t.split(s).join('***'), text);
  const color = opts.stream.isTTY === true && process.env.NO_COLOR === undefined;
  const paint = (code: string, text: string): string => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const write = (text: string): void => {
    opts.stream.write(mask(text));
  };
  const sink: ProgressSink = { isTTY: opts.stream.isTTY === true, write };
  return {
    debug: (m) => {
      if (opts.verbose) write(`${paint('2', m)}\n`);
    },
    info: (m) => {
      if (!opts.quiet) write(`${m}\n`);
    },
    warn: (m) => write(`${paint('33', 'warning:')} ${m}\n`),
    error: (m) => write(`${paint('31', 'error:')} ${m}\n`),
    async group(title, fn) {
      if (!opts.quiet) write(`${paint('1', `▸ ${title}`)}\n`);
      return fn();
    },
    progress: (label, total, unit) => (opts.quiet ? { update: () => undefined, end: () => undefined } : terminalProgress(sink, label, total, unit)),
    setSecret: (v) => {
      if (v.length > 0) secrets.push(v);
    },
  };
}
