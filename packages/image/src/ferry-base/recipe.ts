// The recipe of the Ferry base image, from a machine where Ferry is installed (nothing is pulled):
// the Node binary and the shared libraries it and onnxruntime-node load (as `ldd` lists them), a
// minimal /etc and /tmp, and the Ferry CLI with its production dependencies, onnxruntime-node
// reduced to the binaries of the image's platform. Three layers, from least to most often changed:
// system, dependencies, Ferry's own packages.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { InputError } from '@ferry/core';
import { FileTree } from '../oci/index.js';
import type { ConfigChanges, LayerSpec } from '../oci/index.js';
import { APP_DIR, FERRY_CLI, NODE, RUNTIME_USER } from './layout.js';

export interface FerryBaseOptions {
  /** The Ferry checkout or installation: packages/ and node_modules/ live here. */
  root: string;
  /** Node binary to put in the image. */
  node: string;
  /** The package whose production dependencies go in. Default @ferry/cli. */
  entryPackage?: string;
}

export interface FerryBaseRecipe {
  layers: LayerSpec[];
  config: ConfigChanges;
  platform: string;
  /** Shared libraries taken from the host, for the report. */
  libraries: string[];
  /** Packages copied, as name@version. */
  packages: string[];
}

interface PackageJson {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const ARCH: Readonly<Record<string, string>> = { x64: 'amd64', arm64: 'arm64' };

function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, [...args], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new InputError(`${command} ${args.join(' ')} failed: ${stderr.trim() || error.message}`, { subject: command }));
      else resolve(stdout);
    });
  });
}

/** Paths of the shared libraries `ldd` resolves for `binary` (the dynamic loader included). */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const out = await run('ldd', [binary]);
  const paths: string[] = [];
  for (const line of out.split('\n')) {
    const arrow = /=>\s+(\/\S+)/.exec(line);
    const bare = /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (/=>\s+not found/.test(line)) throw new InputError(`${binary} needs a library the system does not have: ${line.trim()}`, { subject: binary });
    const path = arrow?.[1] ?? bare?.[1];
    if (path !== undefined) paths.push(path);
  }
  return paths;
}

async function readPackage(dir: string): Promise<PackageJson> {
  return JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/** Node's lookup: node_modules/<name> in `from` and each parent up to `root`. */
function resolvePackage(name: string, from: string, root: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || dirname(dir) === dir) return undefined;
  }
}

/** The directories of `entry` and every production dependency, in a stable order. */
async function dependencyClosure(entry: string, root: string): Promise<string[]> {
  const seen = new Set<string>();
  const visit = async (dir: string): Promise<void> => {
    const real = await realpath(dir);
    if (seen.has(real)) return;
    seen.add(real);
    const pkg = await readPackage(real);
    for (const name of Object.keys(pkg.dependencies ?? {})) {
      const found = resolvePackage(name, real, root) ?? resolvePackage(name, dir, root);
      if (found === undefined) throw new InputError(`${pkg.name ?? real} depends on ${name}, which is not installed: run npm ci`, { subject: name });
      await visit(found);
    }
    for (const name of Object.keys(pkg.optionalDependencies ?? {})) {
      const found = resolvePackage(name, real, root);
      if (found !== undefined) await visit(found);
    }
  };
  const start = resolvePackage(entry, root, root);
  if (start === undefined) throw new InputError(`${entry} is not installed under ${root}`, { subject: entry });
  await visit(start);
  return [...seen].sort();
}

/** Where a package directory of the host goes under APP_DIR/node_modules. */
function appPath(hostDir: string, root: string, workspaces: ReadonlyMap<string, string>): string {
  const workspace = workspaces.get(hostDir);
  if (workspace !== undefined) return `${APP_DIR}/node_modules/${workspace}`;
  const rel = relative(join(root, 'node_modules'), hostDir).split(sep).join('/');
  if (rel.startsWith('..')) {
    // A workspace package's own node_modules: found below its (already mapped) directory.
    for (const [dir, name] of workspaces) {
      if (hostDir.startsWith(dir + sep)) return `${APP_DIR}/node_modules/${name}/${relative(dir, hostDir).split(sep).join('/')}`;
    }
    throw new InputError(`${hostDir} is outside ${root}/node_modules`, { subject: hostDir });
  }
  return `${APP_DIR}/node_modules/${rel}`;
}

/** What of a dependency the image needs: no nested node_modules (placed on their own), no docs, no other platforms' binaries. */
function dependencyFilter(name: string): (path: string) => boolean {
  return (path) => {
    if (path === 'node_modules' || path.startsWith('node_modules/')) return false;
    if (/\.(md|markdown|map)$/i.test(path)) return false;
    if (name === 'onnxruntime-node' && path.startsWith('bin/')) {
      // bin/napi-v6/<os>/<arch>/…
      const parts = path.split('/');
      if (parts.length <= 2) return true;
      return parts[2] === 'linux' && (parts.length === 3 || parts[3] === process.arch);
    }
    return true;
  };
}

export async function ferryBaseRecipe(options: FerryBaseOptions): Promise<FerryBaseRecipe> {
  const { root } = options;
  const arch = ARCH[process.arch];
  if (arch === undefined) throw new InputError(`the Ferry base image is built for amd64 or arm64, not ${process.arch}`, { subject: 'platform' });
  const platformDir = `linux/${process.arch}`;
  const entry = options.entryPackage ?? '@ferry/cli';

  // Workspace packages: name → host directory (node_modules/@ferry/x links into packages/x).
  const workspaces = new Map<string, string>();
  for (const name of await readdir(join(root, 'packages')).catch(() => [] as string[])) {
    const dir = join(root, 'packages', name);
    if (!existsSync(join(dir, 'package.json'))) continue;
    const pkg = await readPackage(dir);
    if (pkg.name) workspaces.set(await realpath(dir), pkg.name);
  }

  const packages = await dependencyClosure(entry, root);
  const ferry = new FileTree();
  const dependencies = new FileTree();
  const names: string[] = [];
  const natives: string[] = [];
  for (const dir of packages) {
    const pkg = await readPackage(dir);
    names.push(`${pkg.name}@${pkg.version}`);
    const target = appPath(dir, root, workspaces);
    if (workspaces.has(dir)) {
      if (!existsSync(join(dir, 'dist'))) throw new InputError(`${pkg.name} is not built (${dir}/dist is missing): run scripts/build.sh --packages-only`, { subject: String(pkg.name) });
      await ferry.addFileFromHost(`${target}/package.json`, join(dir, 'package.json'));
      await ferry.addDirectoryFromHost(`${target}/dist`, join(dir, 'dist'));
      continue;
    }
    await dependencies.addDirectoryFromHost(target, dir, { filter: dependencyFilter(pkg.name ?? '') });
    if (pkg.name === 'onnxruntime-node') {
      for (const napi of await readdir(join(dir, 'bin'))) {
        const binary = join(dir, 'bin', napi, platformDir, 'onnxruntime_binding.node');
        if (existsSync(binary)) natives.push(binary);
      }
    }
  }

  const system = new FileTree();
  await system.addFileFromHost(NODE, options.node, { executable: true });
  const libraries = new Set<string>();
  for (const binary of [options.node, ...natives]) for (const library of await sharedLibraries(binary)) libraries.add(library);
  // A library next to a native addon (libonnxruntime.so.1) travels with its package, not here.
  const hostLibraries = [...libraries].filter((path) => !natives.some((native) => path.startsWith(dirname(native)))).sort();
  for (const path of hostLibraries) {
    // The name the loader asks for, with the content of the file it points to.
    await system.addFileFromHost(path, await realpath(path), { executable: true });
  }
  system.addFile('/etc/passwd', 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n');
  system.addFile('/etc/group', 'root:x:0:\nnogroup:x:65534:\n');
  system.addDirectory('/tmp', { mode: 0o1777 });
  system.addDirectory('/root', { mode: 0o700 });
  const nodeVersion = (await run(options.node, ['--version'])).trim();
  if ((await stat(options.node)).size === 0) throw new InputError(`${options.node} is empty`, { subject: 'node' });

  return {
    layers: [
      { name: `system: node ${nodeVersion} and shared libraries`, files: system },
      { name: 'dependencies', files: dependencies },
      { name: 'ferry', files: ferry },
    ],
    config: {
      entrypoint: [NODE, FERRY_CLI],
      cmd: ['--help'],
      env: { PATH: '/usr/local/bin', NODE_ENV: 'production', HOME: '/tmp' },
      user: RUNTIME_USER,
      workingDir: APP_DIR,
      labels: { 'org.opencontainers.image.title': 'ferry-serve', 'org.opencontainers.image.description': "Ferry's serving runtime base: Node, the ferry CLI and onnxruntime-node" },
    },
    platform: `linux/${arch}`,
    libraries: hostLibraries,
    packages: names.sort(),
  };
}
