// Server-sent events, incrementally: `data:` lines joined per event, events ended by a blank line,
// `:` comment lines (pings) ignored. Each event carries the arrival time of the bytes that ended it.
import { StringDecoder } from 'node:string_decoder';

export interface SseEvent {
  readonly data: string;
  readonly event: string | undefined;
  readonly atMs: number;
}

export class SseParser {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private data: string[] = [];
  private eventName: string | undefined;

  /** Feeds bytes; returns the events they completed. */
  push(chunk: Buffer, atMs: number): SseEvent[] {
    const out: SseEvent[] = [];
    this.pending += this.decoder.write(chunk);
    let start = 0;
    for (;;) {
      const nl = this.pending.indexOf('\n', start);
      if (nl < 0) break;
      let line = this.pending.slice(start, nl);
      start = nl + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (this.data.length > 0) out.push({ data: this.data.join('\n'), event: this.eventName, atMs });
        this.data = [];
        this.eventName = undefined;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') this.data.push(value);
      else if (field === 'event') this.eventName = value;
    }
    this.pending = this.pending.slice(start);
    return out;
  }

  /** At the end of the stream: a last event left without its blank line still counts. */
  flush(atMs: number): SseEvent[] {
    this.pending += this.decoder.end();
    return this.push(Buffer.from('\n\n'), atMs);
  }
}
