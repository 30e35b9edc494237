// Model files into layers: each large file (a weight shard) in a layer of its own, the rest
// together. A shard that did not change keeps its layer digest, so a new model version that
// changes one shard uploads one shard; separate layers also upload in parallel.
import { posix } from 'node:path';
import { FileTree } from '../oci/index.js';
import type { LayerSpec } from '../oci/index.js';
import type { ModelFileEntry } from '../model.js';

/** Files at least this large get a layer of their own. */
export const OWN_LAYER_BYTES = 256 * 1024 * 1024;
/** Beyond this many, large files share the common layer: runtimes refuse images with very many layers. */
export const MAX_OWN_LAYERS = 48;

export interface PlacedFile {
  /** Absolute path in the image. */
  imagePath: string;
  file: ModelFileEntry;
}

/** Model files under `dir` in the image, keeping their paths relative to the model root. */
export function placeUnder(dir: string, files: readonly ModelFileEntry[]): PlacedFile[] {
  return files.map((file) => ({ imagePath: posix.join(dir, file.relPath), file }));
}

export async function modelLayers(placed: readonly PlacedFile[], name = 'model'): Promise<LayerSpec[]> {
  const sorted = [...placed].sort((a, b) => (a.imagePath < b.imagePath ? -1 : a.imagePath > b.imagePath ? 1 : 0));
  const big = sorted.filter((p) => p.file.size >= OWN_LAYER_BYTES).slice(0, MAX_OWN_LAYERS);
  const rest = sorted.filter((p) => !big.includes(p));
  const layers: LayerSpec[] = [];
  for (const p of big) {
    const files = await new FileTree().addFileFromHost(p.imagePath, p.file.absPath, { executable: false, contentKey: p.file.sha256 });
    layers.push({ name: `${name}: ${p.file.relPath}`, files });
  }
  if (rest.length > 0) {
    const files = new FileTree();
    for (const p of rest) await files.addFileFromHost(p.imagePath, p.file.absPath, { executable: false, contentKey: p.file.sha256 });
    layers.push({ name: big.length > 0 ? `${name}: other files` : name, files });
  }
  return layers;
}

/** One layer of generated files (runtime configuration), by absolute image path. */
export function configLayer(files: Record<string, string>, name = 'runtime config'): LayerSpec | undefined {
  const paths = Object.keys(files);
  if (paths.length === 0) return undefined;
  const tree = new FileTree();
  for (const path of paths) tree.addFile(path, files[path]!);
  return { name, files: tree };
}
