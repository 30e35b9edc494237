// Messages between the HTTP thread and an inference thread.
import type { ModelSignature } from './session.js';
import type { PlainTensor } from './tensors.js';

export interface WorkerSetup {
  readonly file: string;
  readonly threads: number;
}

export interface WorkerRequest {
  readonly id: number;
  readonly feeds: Readonly<Record<string, PlainTensor>>;
  readonly fetches: readonly string[];
}

export type WorkerReply =
  | { kind: 'ready'; signature: ModelSignature; loadSeconds: number; runtimeVersion: string }
  | { kind: 'load-failed'; message: string; input: boolean }
  | { kind: 'result'; id: number; outputs: Record<string, PlainTensor> }
  | { kind: 'failed'; id: number; message: string; clientFault: boolean };
