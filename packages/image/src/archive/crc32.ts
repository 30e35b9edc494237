// CRC-32 (the zip polynomial): Node's zlib.crc32 where it exists (Node 22.2+), a table otherwise.
import * as zlib from 'node:zlib';

let table: Uint32Array | undefined;

function tableCrc32(bytes: Uint8Array, value: number): number {
  table ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let crc = ~value >>> 0;
  for (const byte of bytes) crc = table[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 of `bytes`, continuing from `value` (the CRC of what came before). */
export function crc32(bytes: Uint8Array, value = 0): number {
  return native ? native(bytes, value) >>> 0 : tableCrc32(bytes, value);
}
