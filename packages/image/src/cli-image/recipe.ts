// The recipe of the versioned CLI image that GitLab jobs run (`image: ferry/cli:<version>`): the
// Ferry base (Node, its shared libraries, the ferry CLI with its production dependencies) plus
// what a CI job container needs and a serving image does not: a POSIX shell and the usual
// utilities (a static busybox), `ferry` on PATH, no entrypoint, and root as the user, since CI
// runners hand the job a build directory owned by root.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { InputError } from '@ferry/core';
import { FileTree } from '../oci/index.js';
import type { ConfigChanges, LayerSpec } from '../oci/index.js';
import { ferryBaseRecipe } from '../ferry-base/recipe.js';
import { FERRY_CLI, NODE } from '../ferry-base/layout.js';

/** The name the image is published under, tagged with the version of the Ferry release. */
export const CLI_IMAGE_NAME = 'ferry/cli';
/** Where the shell and its applets live; /usr/bin/env too, for `#!/usr/bin/env` scripts. */
const SHELL_DIR = '/bin';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface CliImageOptions {
  /** The Ferry checkout or installation: packages/ and node_modules/ live here. */
  root: string;
  /** Node binary to put in the image. */
  node: string;
  /** A statically linked busybox: the job's /bin/sh and utilities. */
  busybox: string;
  /** The Ferry version the image carries (the root package.json version). */
  version: string;
}

export interface CliImageRecipe {
  layers: LayerSpec[];
  config: ConfigChanges;
  platform: string;
  /** Shared libraries and packages taken from the host, for the report. */
  libraries: string[];
  packages: string[];
  applets: string[];
}

function busyboxApplets(busybox: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(busybox, ['--list'], (error, stdout) => {
      if (error) reject(new InputError(`${busybox} --list failed: ${error.message}`, { subject: 'busybox' }));
      else resolve(stdout.split('\n').filter((a) => /^[a-z0-9_.[-]+$/i.test(a) && a !== 'busybox'));
    });
  });
}

/** True when the ELF file has no program interpreter, i.e. runs without the host's libc layout. */
function isStaticElf(binary: Buffer): boolean {
  if (binary.length < 0x40 || binary.readUInt32BE(0) !== 0x7f454c46) return false;
  const PT_INTERP = 3;
  const phoff = Number(binary.readBigUInt64LE(0x20));
  const phentsize = binary.readUInt16LE(0x36);
  const phnum = binary.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) if (binary.readUInt32LE(phoff + i * phentsize) === PT_INTERP) return false;
  return true;
}

export async function cliImageRecipe(options: CliImageOptions): Promise<CliImageRecipe> {
  if (!existsSync(options.busybox)) {
    throw new InputError(`busybox is missing (${options.busybox}): the CLI image's shell is a static busybox; run "sudo apt-get install -y busybox-static" or pass --busybox PATH`, { subject: 'busybox' });
  }
  if (!isStaticElf(await readFile(options.busybox))) {
    throw new InputError(`${options.busybox} is dynamically linked: the CLI image needs a static busybox; run "sudo apt-get install -y busybox-static"`, { subject: 'busybox' });
  }
  const base = await ferryBaseRecipe({ root: options.root, node: options.node });
  const applets = await busyboxApplets(options.busybox);

  const shell = new FileTree();
  await shell.addFileFromHost(`${SHELL_DIR}/busybox`, options.busybox, { executable: true });
  for (const applet of applets) shell.addSymlink(`${SHELL_DIR}/${applet}`, 'busybox');
  if (!applets.includes('sh')) throw new InputError(`${options.busybox} has no sh applet`, { subject: 'busybox' });
  shell.addSymlink('/usr/bin/env', '/bin/busybox');
  // A launcher rather than a symlink to bin.js: it works whatever PATH the job sets.
  shell.addFile('/usr/local/bin/ferry', `#!/bin/sh\nexec ${NODE} ${FERRY_CLI} "$@"\n`, { executable: true });
  // Root with a real shell and home (the base's root has none: its server runs as nobody).
  shell.addFile('/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n');

  const [system, ...rest] = base.layers;
  if (system === undefined) throw new Error('the Ferry base recipe has no system layer');
  return {
    // Compressed: every runner pulls this image (about a third of the bytes), unlike a serving
    // image whose model layer is pushed once and read where it runs.
    layers: [system, { name: 'shell: busybox and the ferry launcher', files: shell }, ...rest].map((layer) => ({ ...layer, compression: 'gzip' as const })),
    config: {
      cmd: ['/bin/sh'],
      env: { PATH, HOME: '/root' },
      user: '0:0',
      workingDir: '/',
      labels: {
        'org.opencontainers.image.title': 'ferry-cli',
        'org.opencontainers.image.version': options.version,
        'org.opencontainers.image.description': 'The ferry CLI for CI jobs: Node, ferry on PATH, a POSIX shell; no entrypoint',
      },
    },
    platform: base.platform,
    libraries: base.libraries,
    packages: base.packages,
    applets,
  };
}
