// Writes examples/tiny/: a small, real safetensors model (a 16→4 linear layer with fixed weights) and
// its config. Deterministic, so the committed files and their digests never change by accident.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const out = join(dirname(fileURLToPath(import.meta.url)), 'tiny');
mkdirSync(out, { recursive: true });

const inFeatures = 16;
const outFeatures = 4;
const weight = new Float32Array(inFeatures * outFeatures).map((_, i) => Math.sin(i) / 4);
const bias = new Float32Array(outFeatures).map((_, i) => i / 10);
const tensors = [
  ['linear.bias', bias, [outFeatures]],
  ['linear.weight', weight, [outFeatures, inFeatures]],
];
const header = { __metadata__: { format: 'pt', producer: 'ferry examples' } };
let offset = 0;
for (const [name, data, shape] of tensors) {
  header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
  offset += data.byteLength;
}
let json = JSON.stringify(header);
// Pad the header to 8-byte alignment with spaces, as the reference writer does.
while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
const len = Buffer.alloc(8);
len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
const body = Buffer.concat(tensors.map(([, data]) => Buffer.from(data.buffer)));
writeFileSync(join(out, 'model.safetensors'), Buffer.concat([len, Buffer.from(json), body]));
writeFileSync(
  join(out, 'config.json'),
  `${JSON.stringify({ architectures: ['TinyLinear'], in_features: inFeatures, out_features: outFeatures, labels: ['a', 'b', 'c', 'd'] }, null, 2)}\n`,
);
console.log(`wrote ${out}`);
