// Dispatches a detected format to its structure checker. Formats without a checker here return
// undefined, so the caller reports them as unscanned rather than as passed.
import type { ModelFormat } from './detect.js';
import { checkGguf } from './gguf.js';
import { checkKeras } from './keras.js';
import { checkOnnx } from './onnx.js';
import { checkSafetensors } from './safetensors.js';
import { checkSavedModel } from './savedmodel.js';
import type { FileCheck, FileCheckContext } from './types.js';

export { checkGguf } from './gguf.js';
export { checkKeras } from './keras.js';
export { checkOnnx, ONNX_ELEM_TYPES } from './onnx.js';
export { checkSafetensors } from './safetensors.js';
export { checkSavedModel } from './savedmodel.js';

export async function checkFile(format: ModelFormat, ctx: FileCheckContext): Promise<FileCheck | undefined> {
  switch (format) {
    case 'safetensors':
      return checkSafetensors(ctx);
    case 'gguf':
      return checkGguf(ctx);
    case 'onnx':
      return checkOnnx(ctx);
    case 'keras':
    case 'hdf5':
      return checkKeras(ctx);
    case 'tf-savedmodel':
      return checkSavedModel(ctx);
    default:
      // pytorch-zip, pytorch-legacy, pickle, numpy, npz and zip are checked by the pickle scanner.
      return undefined;
  }
}
