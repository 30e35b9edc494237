// Open Inference Protocol (KServe v2) REST: POST /v2/models/{m}[/versions/{v}]/infer with
// {inputs:[{name,shape,datatype,data}]}; the response carries `outputs`, a failure `{"error"}`.
import { isObject, jsonBody, parseJsonObject, type ProtocolAdapter } from './types.js';

export function oipV2Protocol(spec: { model: string; version?: string; checkResponse?: boolean }): ProtocolAdapter {
  const base = `/v2/models/${encodeURIComponent(spec.model)}${spec.version ? `/versions/${encodeURIComponent(spec.version)}` : ''}`;
  const check = spec.checkResponse ?? true;
  return {
    name: 'oip-v2',
    streaming: false,
    readyPath: '/v2/health/ready',
    readsBody: check,
    build(payload) {
      if (!isObject(payload) || !Array.isArray(payload['inputs'])) {
        throw new TypeError('an Open Inference Protocol payload must be an object with an `inputs` array');
      }
      return { method: 'POST', path: `${base}/infer`, ...jsonBody(payload) };
    },
    check: check
      ? (_head, body) => {
          const r = parseJsonObject(body);
          if (r.error !== undefined) return r.error;
          if (typeof r.value!['error'] === 'string') return `the server answered an error: ${r.value!['error']}`;
          if (!Array.isArray(r.value!['outputs'])) return 'the response has no `outputs` array';
          return undefined;
        }
      : undefined,
  };
}
