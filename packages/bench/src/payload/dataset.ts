// Request payloads from a JSONL file: one JSON value per line (an inference request body, a prompt
// object, or template variables, depending on the protocol). Blank lines and `#` comments are skipped.
import { readFileSync } from 'node:fs';
import { InputError } from '@ferry/core';

export function parseJsonl(text: string, source = 'dataset'): unknown[] {
  const out: unknown[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    try {
      out.push(JSON.parse(line));
    } catch (err: unknown) {
      throw new InputError(`${source}:${i + 1} is not valid JSON (${(err as Error).message})`, { subject: source });
    }
  }
  if (out.length === 0) throw new InputError(`${source} has no payloads (one JSON value per line)`, { subject: source });
  return out;
}

export function readJsonl(path: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err: unknown) {
    throw new InputError(`cannot read the dataset ${path}: ${(err as Error).message}`, { subject: path });
  }
  return parseJsonl(text, path);
}
