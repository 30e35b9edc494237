// @ferry/model: the validate-model engine.
export { validateModelStep } from './validate.js';
export { detectFormat, MODEL_FORMATS, WEIGHT_FORMATS, type Detection, type ModelFormat } from './formats/detect.js';
export { modelDigest, sha256File, sha256Files } from './digest.js';
export { listModelFiles, type ModelFile, type ModelFileList } from './files.js';
export { checkOnnx } from './formats/onnx.js';
export { DEFAULT_LIMITS, type CheckLimits, type FileCheck, type ModelSignature, type TensorSpec } from './formats/types.js';
