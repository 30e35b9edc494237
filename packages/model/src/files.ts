// Lists the files of a model (one file or a directory tree) in a stable order, without following
// links out of the model directory.
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { errorMessage, InputError } from '@ferry/core';

export interface ModelFile {
  /** Path relative to the model root (the file name for a single-file model), with / separators. */
  readonly relPath: string;
  readonly absPath: string;
  readonly size: number;
}

export interface SkippedEntry {
  readonly relPath: string;
  readonly reason: string;
}

export interface ModelFileList {
  readonly root: string;
  readonly isDirectory: boolean;
  readonly files: readonly ModelFile[];
  readonly skipped: readonly SkippedEntry[];
}

const MAX_FILES = 100_000;

export async function listModelFiles(modelPath: string, inputName = 'model-path'): Promise<ModelFileList> {
  let st;
  try {
    st = await stat(modelPath);
  } catch (err) {
    throw new InputError(`${inputName}: ${modelPath} does not exist or cannot be read (${errorMessage(err)})`, {
      subject: inputName,
    });
  }
  if (st.isFile()) {
    const name = modelPath.split(sep).pop() ?? modelPath;
    return { root: modelPath, isDirectory: false, files: [{ relPath: name, absPath: modelPath, size: st.size }], skipped: [] };
  }
  if (!st.isDirectory()) throw new InputError(`${inputName}: ${modelPath} is neither a file nor a directory`, { subject: inputName });
  const root = await realpath(modelPath);
  const files: ModelFile[] = [];
  const skipped: SkippedEntry[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const abs = join(dir, entry.name);
      const rel = relative(root, abs).split(sep).join('/');
      if (entry.isDirectory()) {
        await walk(abs);
      } else if (entry.isFile()) {
        const s = await lstat(abs);
        files.push({ relPath: rel, absPath: abs, size: s.size });
        if (files.length > MAX_FILES) {
          throw new InputError(`${inputName}: ${modelPath} holds more than ${MAX_FILES} files`, { subject: inputName });
        }
      } else if (entry.isSymbolicLink()) {
        let reason = 'symbolic link, not followed';
        try {
          const target = await realpath(abs);
          if (target !== root && !target.startsWith(root + sep)) reason = `symbolic link pointing outside the model directory (${target})`;
        } catch {
          reason = 'dangling symbolic link';
        }
        skipped.push({ relPath: rel, reason });
      } else {
        skipped.push({ relPath: rel, reason: 'not a regular file' });
      }
    }
  };
  await walk(root);
  return { root, isDirectory: true, files, skipped };
}
