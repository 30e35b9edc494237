// NumPy .npy and .npz checkers. An object dtype means np.load(allow_pickle=True) unpickles the
// payload, so it is scanned like any pickle; any other dtype must hold exactly shape × itemsize bytes.
import { open } from 'node:fs/promises';
import type { Finding } from '@ferry/core';
import { checkArchiveAt } from '../formats/archive.js';
import { FileRangeSource, readFully, type ByteSource } from '../formats/byte-source.js';
import { MalformedModelError, type FileCheck, type FileCheckContext } from '../formats/types.js';
import { openZipMember } from '../formats/zip-member.js';
import { MAX_NPY_HEADER, NPY_MAGIC, NpyHeaderError, npyPreamble, parseNpyHeader, type NpyHeader } from './npy-header.js';
import { scanFacts, settleMalformed, streamFindings, type ScannedStream } from './pickle-findings.js';
import { DEFAULT_PICKLE_POLICY, type PicklePolicy } from './pickle-policy.js';
import { scanPickleStream } from './pickle-scanner.js';
import { memberLooksLikePickle, scanMember, unscannedMember } from './pytorch-zip.js';

interface NpyResult {
  readonly header: NpyHeader;
  readonly stream?: ScannedStream;
}

/** Checks one .npy stream of `totalBytes` bytes; `where` names it in messages. */
async function checkNpyStream(source: ByteSource, totalBytes: number, where: string, ctx: FileCheckContext): Promise<NpyResult> {
  try {
    const head = await readFully(source, 12);
    const pre = npyPreamble(head);
    const limit = Math.min(MAX_NPY_HEADER, ctx.limits.maxHeaderBytes);
    if (pre.headerLength > limit) throw new NpyHeaderError('numpy/header-size', `the header declares ${pre.headerLength} bytes, over the limit of ${limit}`);
    const dataOffset = pre.headerStart + pre.headerLength;
    if (dataOffset > totalBytes) throw new NpyHeaderError('numpy/truncated', `the header runs past the end (${dataOffset} > ${totalBytes} bytes)`);
    const already = head.subarray(pre.headerStart);
    const rest = await readFully(source, Math.max(0, pre.headerLength - already.length));
    const raw = Buffer.concat([already, rest]).subarray(0, pre.headerLength);
    if (raw.length < pre.headerLength) throw new NpyHeaderError('numpy/truncated', 'the header is cut short');
    const text = raw.toString(pre.version[0] === 3 ? 'utf8' : 'latin1');
    const header = parseNpyHeader(text, dataOffset, pre.version.join('.'));
    if (header.hasObject) {
      // Bytes read past the header (when the preamble read overshot) belong to the pickle.
      const overshoot = Buffer.concat([already, rest]).subarray(pre.headerLength);
      const scan = await scanPickleStream(prefixed(overshoot, source), { label: where, maxBytes: ctx.limits.maxPickleBytes, signal: ctx.signal });
      return { header, stream: { where, scan } };
    }
    const actual = BigInt(totalBytes - dataOffset);
    if (actual !== header.dataBytes) {
      throw new NpyHeaderError('numpy/data-size', `shape (${header.shape.join(', ')}) of ${header.descr} needs ${header.dataBytes} data bytes, the file holds ${actual}`);
    }
    return { header };
  } catch (err) {
    if (err instanceof NpyHeaderError) throw new MalformedModelError(where, err.rule, err.message);
    throw err;
  }
}

/** A source that yields `first` before the rest of `source`. */
function prefixed(first: Buffer, source: ByteSource): ByteSource {
  let off = 0;
  return {
    async read(buf, offset, length) {
      if (off < first.length) {
        const n = first.copy(buf, offset, off, Math.min(first.length, off + length));
        off += n;
        return n;
      }
      return source.read(buf, offset, length);
    },
    async skip(n) {
      const k = Math.min(n, first.length - off);
      off += k;
      return k + (n > k ? await source.skip(n - k) : 0);
    },
    close: () => source.close(),
  };
}

function npyFacts(h: NpyHeader): [string, string][] {
  return [
    ['npy version', h.version],
    ['dtype', h.hasObject ? `${h.descr} (objects: the payload is a pickle)` : h.descr],
    ['shape', h.shape.length === 1 ? `(${h.shape[0]},)` : `(${h.shape.join(', ')})`],
  ];
}

export async function checkNumpy(ctx: FileCheckContext, policy: PicklePolicy = DEFAULT_PICKLE_POLICY): Promise<FileCheck> {
  const fh = await open(ctx.path, 'r');
  try {
    const size = (await fh.stat()).size;
    const { header, stream } = await checkNpyStream(new FileRangeSource(fh, 0, size), size, ctx.displayPath, ctx);
    const streams = stream ? [stream] : [];
    const malformed = stream?.scan.malformed ? [stream.scan.malformed] : [];
    const findings = settleMalformed(stream ? streamFindings(stream, ctx.displayPath, policy) : [], malformed, ctx.displayPath);
    return { format: 'numpy', scanned: malformed.length === 0, findings, facts: [...npyFacts(header), ...(stream ? scanFacts(streams, policy) : [])] };
  } finally {
    await fh.close();
  }
}

export async function checkNpz(ctx: FileCheckContext, policy: PicklePolicy = DEFAULT_PICKLE_POLICY): Promise<FileCheck> {
  const fh = await open(ctx.path, 'r');
  try {
    const size = (await fh.stat()).size;
    const archive = await checkArchiveAt(fh, size, ctx);
    const findings: Finding[] = [...archive.findings];
    const streams: ScannedStream[] = [];
    const malformed: MalformedModelError[] = [];
    let complete = true;
    let arrays = 0;
    let objectArrays = 0;
    for (const entry of archive.entries) {
      if (entry.name.endsWith('/')) continue;
      const where = `${ctx.displayPath}:${entry.name}`;
      const reason = archive.unreadable.get(entry);
      if (reason) {
        findings.push(unscannedMember(ctx, entry, reason));
        complete = false;
        continue;
      }
      try {
        const source = await openZipMember(fh, size, entry, where);
        let isNpy: boolean;
        try {
          const magic = await readFully(source, NPY_MAGIC.length);
          isNpy = magic.equals(NPY_MAGIC);
        } finally {
          await source.close();
        }
        if (isNpy) {
          const member = await openZipMember(fh, size, entry, where);
          try {
            const { stream } = await checkNpyStream(member, entry.uncompressedSize, where, ctx);
            arrays++;
            if (stream) {
              objectArrays++;
              streams.push(stream);
              if (stream.scan.malformed) malformed.push(stream.scan.malformed);
            }
          } finally {
            await member.close();
          }
        } else if (await memberLooksLikePickle(fh, size, entry, where)) {
          // np.load returns non-.npy members as bytes, but a pickle hidden here is still reported.
          const stream = await scanMember(fh, size, entry, ctx);
          streams.push(stream);
        }
      } catch (err) {
        if (!(err instanceof MalformedModelError)) throw err;
        malformed.push(err);
        complete = false;
      }
    }
    for (const s of streams) findings.push(...streamFindings(s, ctx.displayPath, policy));
    return {
      format: 'npz',
      scanned: complete && malformed.length === 0,
      findings: settleMalformed(findings, malformed, ctx.displayPath),
      facts: [...archive.facts, ['arrays', String(arrays)], ['object arrays', String(objectArrays)], ...scanFacts(streams, policy)],
    };
  } finally {
    await fh.close();
  }
}
