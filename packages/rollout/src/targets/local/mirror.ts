// Paired outputs from mirror routing: for an Open Inference Protocol v2 inference that went to
// stable and, as a copy, to the canary, the two models' outputs side by side. The judge's quality
// checks (agreement, PSI, score deltas) read these; no HTTP metric can show a model that answers
// fast and wrong.
import { oipOutput } from '../../analysis/oip-exchange.js';
import type { PairedOutput } from '../../judge/types.js';

export interface MirrorPair {
  /** When the request arrived, epoch milliseconds. */
  readonly t: number;
  readonly stable: PairedOutput;
  readonly canary: PairedOutput;
}

export const MIRROR_PAIR_CAPACITY = 10_000;

const INFER_PATH = /^\/v2\/models\/[^/]+(?:\/versions\/[^/]+)?\/infer$/;

/** `POST /v2/models/<m>[/versions/<v>]/infer`: the requests whose outputs are paired. */
export function isInferRequest(method: string | undefined, url: string | undefined): boolean {
  if (method !== 'POST' || url === undefined) return false;
  const q = url.indexOf('?');
  return INFER_PATH.test(q < 0 ? url : url.slice(0, q));
}

/**
 * The model output of an OIP v2 JSON answer, read exactly as the synthetic paired load reads it
 * (one definition, so the judge compares like with like whichever source fed it); undefined when
 * the answer has none (an error, the binary extension, an unknown datatype).
 */
export function inferOutput(body: Buffer): PairedOutput | undefined {
  const read = oipOutput(body);
  return 'output' in read ? read.output : undefined;
}

/** The last `capacity` pairs, oldest dropped first. */
export class PairRing {
  private readonly items: (MirrorPair | undefined)[];
  private next = 0;
  private size = 0;

  constructor(readonly capacity = MIRROR_PAIR_CAPACITY) {
    this.items = new Array<MirrorPair | undefined>(capacity);
  }

  push(pair: MirrorPair): void {
    this.items[this.next] = pair;
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  /** Pairs whose request arrived at or after `sinceMs`, oldest first. */
  since(sinceMs: number): MirrorPair[] {
    const out: MirrorPair[] = [];
    const start = (this.next - this.size + this.capacity) % this.capacity;
    for (let i = 0; i < this.size; i++) {
      const p = this.items[(start + i) % this.capacity]!;
      if (p.t >= sinceMs) out.push(p);
    }
    // Pairs are stored as both answers complete, which can be out of arrival order.
    return out.sort((a, b) => a.t - b.t);
  }
}
