// TorchServe inference API: POST /predictions/{m}[/{v}]; health on GET /ping. The body is whatever
// the model's handler takes: a string payload is sent as text, anything else as JSON.
import { jsonBody, type ProtocolAdapter } from './types.js';

export function torchServeProtocol(spec: { model: string; version?: string }): ProtocolAdapter {
  const path = `/predictions/${encodeURIComponent(spec.model)}${spec.version ? `/${encodeURIComponent(spec.version)}` : ''}`;
  return {
    name: 'torchserve',
    streaming: false,
    readyPath: '/ping',
    readsBody: false,
    build(payload) {
      if (typeof payload === 'string') return { method: 'POST', path, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: payload };
      return { method: 'POST', path, ...jsonBody(payload) };
    },
  };
}
