// What every format checker returns, so validate-model can combine files of any format.
import { InputError, type Finding } from '@ferry/core';
import type { ModelFormat } from './detect.js';

/** Bounds that keep every check's time and memory finite, whatever the file claims. */
export interface CheckLimits {
  /** safetensors header, ONNX/GGUF metadata and similar in-memory structures. */
  readonly maxHeaderBytes: number;
  /** Total uncompressed bytes an archive may expand to. */
  readonly maxArchiveBytes: number;
  /** Largest compressed→uncompressed ratio of one archive member (zip bombs). */
  readonly maxCompressionRatio: number;
  /** Members per archive. */
  readonly maxArchiveEntries: number;
  /** Bytes of one pickle stream that the scanner reads. */
  readonly maxPickleBytes: number;
}

export const DEFAULT_LIMITS: CheckLimits = {
  maxHeaderBytes: 100 * 1024 * 1024,
  maxArchiveBytes: 64 * 1024 * 1024 * 1024,
  maxCompressionRatio: 200,
  maxArchiveEntries: 100_000,
  maxPickleBytes: 1024 * 1024 * 1024,
};

/** A tensor in a model signature (ONNX inputs/outputs), as build-serving-image needs it. */
export interface TensorSpec {
  readonly name: string;
  /** ONNX element type name, for example FLOAT, INT64. */
  readonly dtype: string;
  /** Dimensions; a string is a symbolic dimension (for example "batch"), -1 an unknown one. */
  readonly shape: readonly (number | string)[];
}

export interface ModelSignature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

export interface FileCheckContext {
  /** Absolute path of the file. */
  readonly path: string;
  /** Path shown to people and used in findings (relative to the working directory). */
  readonly displayPath: string;
  /** Directory that external data (ONNX) must stay inside. */
  readonly modelRoot: string;
  readonly limits: CheckLimits;
  readonly signal: AbortSignal;
}

export interface FileCheck {
  readonly format: ModelFormat;
  /** True when every byte that can carry code or structure was examined. */
  readonly scanned: boolean;
  /** Why some of it was not examined, when `scanned` is false (shown in the unscanned finding). */
  readonly unscannedReason?: string;
  readonly findings: readonly Finding[];
  /** Facts for the report, for example ["tensors", "291"], ["opset", "ai.onnx 17"]. */
  readonly facts: readonly (readonly [string, string])[];
  readonly signature?: ModelSignature;
}

/**
 * A file whose structure breaks a rule of its format: exit 2, naming the file and the rule.
 * `rule` is a stable identifier such as `safetensors/offsets-contiguous`.
 */
export class MalformedModelError extends InputError {
  readonly rule: string;
  readonly file: string;
  constructor(file: string, rule: string, detail: string) {
    super(`${file}: malformed (${rule}): ${detail}`, { subject: file });
    this.rule = rule;
    this.file = file;
  }
}
