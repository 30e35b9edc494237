// torch.save storage references, read from the persistent ids of its pickle, so the checkers can
// hold the raw storage bytes (zip members, or the legacy file's tail) to what the pickle declares.
import { GlobalUse, type PickleValue } from './pickle-values.js';

const ELEMENT_BYTES: ReadonlyMap<string, number> = new Map([
  ['Double', 8], ['Float', 4], ['Half', 2], ['BFloat16', 2], ['Long', 8], ['Int', 4], ['Short', 2], ['Char', 1],
  ['Byte', 1], ['Bool', 1], ['ComplexDouble', 16], ['ComplexFloat', 8], ['QUInt8', 1], ['QInt8', 1], ['QInt32', 4],
  ['QUInt4x2', 1], ['QUInt2x4', 1], ['Untyped', 1],
]);

export interface StorageRef {
  readonly key: string;
  readonly storageType: string;
  /** Bytes of storage data the loader reads for this key. */
  readonly bytes: number;
  /** Elements, as the legacy format's record header counts them. */
  readonly numel: number;
}

/**
 * ('storage', torch.<Kind>Storage, key, location, numel[, view_metadata]) → a StorageRef, or a
 * reason why the persistent id is not one torch.save writes.
 */
export function storageRef(pid: PickleValue): StorageRef | string {
  if (!Array.isArray(pid)) return 'the persistent id is not a tuple';
  const [tag, type, key, location, numel] = pid as PickleValue[];
  if (tag !== 'storage') return `the persistent id starts with ${JSON.stringify(tag)}, not "storage"`;
  if (!(type instanceof GlobalUse)) return 'the storage type is not a global';
  const kind = /^torch(?:\.cuda|\.storage)?\.(\w+?)Storage$/.exec(type.fullName)?.[1];
  const element = kind === undefined ? undefined : ELEMENT_BYTES.get(kind);
  if (element === undefined) return `${type.fullName} is not a torch storage type`;
  if (typeof key !== 'string') return 'the storage key is not a string';
  if (typeof location !== 'string') return 'the storage location is not a string';
  if (typeof numel !== 'number' || numel < 0 || !Number.isSafeInteger(numel)) return 'the storage size is not a count';
  return { key, storageType: type.fullName, bytes: numel * element, numel };
}
