// The pickle side of validate-model: an opcode scanner that never executes anything, the global
// policy, and the checkers for every format that carries pickles (plain, torch zip and legacy, npy/npz).
export { checkPickle, checkPytorchLegacy } from './pickle-check.js';
export { checkPytorchZip } from './pytorch-zip.js';
export { checkNumpy, checkNpz } from './numpy.js';
export { checkArchive, checkArchiveAt, checkArchiveEntries, type ArchiveCheck } from '../formats/archive.js';
export { PickleScanner, scanPickleStream, type OpcodeEvent, type PickleScan, type PickleScanOptions } from './pickle-scanner.js';
export {
  classifyGlobal,
  DEFAULT_PICKLE_POLICY,
  loadPicklePolicy,
  parsePicklePolicy,
  type GlobalClass,
  type PicklePolicy,
} from './pickle-policy.js';
export { dangerReason, python3Name, SAFE_GLOBALS } from './pickle-globals.js';
export { GlobalUse, UnresolvedGlobal, type PickleValue } from './pickle-values.js';
export { FileRangeSource, type ByteSource } from '../formats/byte-source.js';
