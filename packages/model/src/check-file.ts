// Sends each detected file to the checker for its format. A format without a checker comes back
// unscanned, never as passed.
import type { ModelFormat } from './formats/detect.js';
import { checkFile as checkStructure } from './formats/index.js';
import type { FileCheck, FileCheckContext } from './formats/types.js';
import { checkArchive, checkNpz, checkNumpy, checkPickle, checkPytorchLegacy, checkPytorchZip, type PicklePolicy } from './scan/index.js';

export async function checkModelFile(format: ModelFormat, ctx: FileCheckContext, policy: PicklePolicy): Promise<FileCheck> {
  const structural = await checkStructure(format, ctx);
  if (structural) return structural;
  switch (format) {
    case 'pickle':
      return checkPickle(ctx, policy);
    case 'pytorch-legacy':
      return checkPytorchLegacy(ctx, policy);
    case 'pytorch-zip':
      return checkPytorchZip(ctx, policy);
    case 'numpy':
      return checkNumpy(ctx, policy);
    case 'npz':
      return checkNpz(ctx, policy);
    case 'zip': {
      // An archive of something else: its layout is checked (bombs, traversal), its members are not.
      const archive = await checkArchive(ctx);
      return { format, scanned: false, unscannedReason: 'the members of a plain zip archive are not checked, only its layout: bombs and traversal', findings: archive.findings, facts: archive.facts };
    }
    case 'json':
    case 'text':
      // Plain text and JSON are read by parsers that never execute them.
      return { format, scanned: true, findings: [], facts: [] };
    default:
      return { format, scanned: false, findings: [], facts: [] };
  }
}
