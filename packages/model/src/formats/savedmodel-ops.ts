// Which TensorFlow ops in a SavedModel graph reach outside the tensor world (files, network, Python)
// and how much that matters. TF Serving runs whatever a signature's graph contains, so these ops are
// how a model file turns into file access or code execution on the server.
import type { Severity } from '@ferry/core';

export interface OpRisk {
  readonly rule: string;
  readonly severity: Severity;
  readonly why: string;
}

const CODE: OpRisk = { rule: 'savedmodel/code-execution-op', severity: 'critical', why: 'calls back into Python' };
const FILES: OpRisk = { rule: 'savedmodel/file-io-op', severity: 'high', why: 'reads or writes arbitrary files on the server' };
const NETWORK: OpRisk = { rule: 'savedmodel/network-op', severity: 'high', why: 'talks to other hosts or sends tensors to debug endpoints' };
/** Ops that read files a model normally ships as assets (vocabularies, warm-start checkpoints). */
const ASSETS: OpRisk = { rule: 'savedmodel/asset-read-op', severity: 'medium', why: 'reads a file by path, usually one of the model assets' };

export const OP_RISKS: ReadonlyMap<string, OpRisk> = new Map([
  ...['PyFunc', 'PyFuncStateless', 'EagerPyFunc'].map((op) => [op, CODE] as const),
  ...[
    'ReadFile', 'WriteFile', 'MatchingFiles', 'ImmutableConst',
    'WholeFileReader', 'WholeFileReaderV2', 'TextLineReader', 'TextLineReaderV2', 'FixedLengthRecordReader',
    'FixedLengthRecordReaderV2', 'TFRecordReader', 'TFRecordReaderV2', 'LMDBReader',
    'TextLineDataset', 'TFRecordDataset', 'TFRecordDatasetV2', 'FixedLengthRecordDataset', 'FixedLengthRecordDatasetV2',
    'LMDBDataset', 'ExperimentalLMDBDataset', 'CSVDataset', 'CSVDatasetV2', 'ExperimentalCSVDataset', 'SqlDataset',
    'ExperimentalSqlDataset', 'SaveDataset', 'SaveDatasetV2', 'LoadDataset', 'SnapshotDataset', 'SnapshotDatasetV2',
    'DatasetToTFRecord', 'ExperimentalDatasetToTFRecord', 'CreateSummaryFileWriter', 'CreateSummaryDbWriter',
  ].map((op) => [op, FILES] as const),
  ...[
    'Rpc', 'TryRpc', 'RpcCall', 'RpcClient', 'RpcServer', 'RpcServerStart', 'RpcServerRegister', 'RpcCheckStatus',
    'RpcGetValue', 'DebugIdentity', 'DebugIdentityV2', 'DebugNanCount', 'DebugNumericSummary', 'DebugNumericSummaryV2',
    'GcsConfigureCredentials', 'GcsConfigureBlockCache',
  ].map((op) => [op, NETWORK] as const),
  ...['InitializeTableFromTextFile', 'InitializeTableFromTextFileV2', 'LoadAndRemapMatrix', 'GenerateVocabRemapping', 'CacheDataset', 'CacheDatasetV2'].map(
    (op) => [op, ASSETS] as const,
  ),
]);

/**
 * Checkpoint ops are in every SavedModel: the saver graph (TF1 nodes under `save/`, TF2 functions
 * `__inference__traced_save_N` / `_traced_restore_N`) writes and reads the variables/ directory, and
 * serving never runs it. Flagging them there would be noise; anywhere else they write or read files
 * at a path the graph chooses, which is what an attacker would use.
 */
export const CHECKPOINT_OPS: ReadonlySet<string> = new Set(['Save', 'SaveV2', 'SaveSlices', 'Restore', 'RestoreV2', 'RestoreSlice', 'MergeV2Checkpoints']);
export const CHECKPOINT_OUTSIDE_SAVER: OpRisk = {
  rule: 'savedmodel/checkpoint-op-outside-saver',
  severity: 'high',
  why: 'writes or reads checkpoint files outside the saver graph, at a path the graph chooses',
};

export function isSaverFunction(name: string): boolean {
  return /__traced_(save|restore)(_\d+)?$/.test(name);
}

export function isSaverNode(name: string): boolean {
  return /^save(_\d+)?\//.test(name);
}

/**
 * Attribute values that decide whether an otherwise harmless op touches files: PrintV2 writes to
 * `output_stream` when it is a file:// URL; DecodeProtoV2/EncodeProto load `descriptor_source` from a
 * file unless it is "local://"; debug ops send to `debug_urls`.
 */
export function attrRisk(op: string, key: string, value: string): OpRisk | undefined {
  if (op === 'PrintV2' && key === 'output_stream' && value.startsWith('file://')) return FILES;
  if ((op === 'DecodeProtoV2' || op === 'EncodeProto') && key === 'descriptor_source' && value !== '' && value !== 'local://') return FILES;
  return undefined;
}

export const RISKY_ATTRS: ReadonlySet<string> = new Set(['output_stream', 'descriptor_source']);
