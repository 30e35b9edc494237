// KServe v1 / TensorFlow Serving REST: POST /v1/models/{m}[/versions/{v}]:predict with `instances`
// (row format) or `inputs` (columnar); the response carries `predictions` or `outputs`.
import { isObject, jsonBody, parseJsonObject, type ProtocolAdapter } from './types.js';

export function kserveV1Protocol(spec: { model: string; version?: string; checkResponse?: boolean }): ProtocolAdapter {
  const path = `/v1/models/${encodeURIComponent(spec.model)}${spec.version ? `/versions/${encodeURIComponent(spec.version)}` : ''}:predict`;
  const check = spec.checkResponse ?? true;
  return {
    name: 'kserve-v1',
    streaming: false,
    readyPath: `/v1/models/${encodeURIComponent(spec.model)}`,
    readsBody: check,
    build(payload) {
      if (!isObject(payload) || !(Array.isArray(payload['instances']) || payload['inputs'] !== undefined)) {
        throw new TypeError('a KServe v1 / TF Serving payload must be an object with `instances` (an array) or `inputs`');
      }
      return { method: 'POST', path, ...jsonBody(payload) };
    },
    check: check
      ? (_head, body) => {
          const r = parseJsonObject(body);
          if (r.error !== undefined) return r.error;
          if (r.value!['error'] !== undefined) return `the server answered an error: ${JSON.stringify(r.value!['error'])}`;
          if (r.value!['predictions'] === undefined && r.value!['outputs'] === undefined) return 'the response has neither `predictions` nor `outputs`';
          return undefined;
        }
      : undefined,
  };
}
