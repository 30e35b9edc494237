// Protocol adapters by name.
import { httpTemplateProtocol } from './http-template.js';
import { kserveV1Protocol } from './kserve-v1.js';
import { oipV2Protocol } from './oip-v2.js';
import { openAiProtocol } from './openai.js';
import { torchServeProtocol } from './torchserve.js';
import type { ProtocolAdapter, ProtocolSpec } from './types.js';

export type { HttpRequestSpec, ProtocolAdapter, ProtocolSpec, StreamObserver, StreamOutcome } from './types.js';
export { SseParser, type SseEvent } from './sse.js';

export function createProtocol(spec: ProtocolSpec): ProtocolAdapter {
  switch (spec.kind) {
    case 'oip-v2':
      return oipV2Protocol(spec);
    case 'kserve-v1':
      return kserveV1Protocol(spec);
    case 'torchserve':
      return torchServeProtocol(spec);
    case 'openai-completions':
    case 'openai-chat':
      return openAiProtocol(spec);
    case 'http':
      return httpTemplateProtocol(spec);
    default:
      throw new TypeError(`unknown protocol ${JSON.stringify((spec as { kind?: unknown }).kind)}`);
  }
}

export const PROTOCOL_KINDS = ['oip-v2', 'kserve-v1', 'torchserve', 'openai-completions', 'openai-chat', 'http'] as const;
