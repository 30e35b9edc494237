// podman with runc, for building and running images with no network: base images come from a
// local root filesystem (a static busybox) because nothing can be pulled here.
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { requireBinary } from './binaries.js';
import { checkedCommand, runCommand } from './command.js';
import type { CommandResult } from './command.js';
import { onStopAll } from './process.js';
import { makeWorkDir } from './workdir.js';

let podmanChecked: Promise<string> | undefined;

/** Path of a podman that can run containers here; memoised, since `podman info` takes a while. */
export function requirePodman(): Promise<string> {
  podmanChecked ??= (async () => {
    const podman = requireBinary('podman', 'podman');
    requireBinary('runc', 'runc');
    const info = await runCommand(podman, ['info', '--format', '{{.Host.OCIRuntime.Name}}']);
    const runtime = info.stdout.trim();
    if (info.exitCode !== 0 || runtime !== 'runc') {
      // crun fails on this cgroup layout and the default ulimits exceed the hard limits; the
      // install script writes a containers.conf that fixes both.
      throw new Error(
        `podman cannot run containers here (runtime "${runtime}"): run "sudo bash scripts/install-system-deps.sh" ` +
          `to configure /etc/containers/containers.conf\n${info.stderr.trim()}`,
      );
    }
    return podman;
  })();
  return podmanChecked;
}

export interface LocalImage {
  /** localhost/ferry-test/<name>:<unique tag> */
  readonly ref: string;
  readonly id: string;
  remove(): Promise<void>;
}

export interface BaseImageOptions {
  /** Extra files, by absolute path inside the image. */
  files?: Record<string, string | Uint8Array>;
}

/** True when the ELF file has no program interpreter, i.e. runs in a rootfs without libc. */
function isStaticElf(binary: Buffer): boolean {
  const PT_INTERP = 3;
  const phoff = Number(binary.readBigUInt64LE(0x20));
  const phentsize = binary.readUInt16LE(0x36);
  const phnum = binary.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    if (binary.readUInt32LE(phoff + i * phentsize) === PT_INTERP) return false;
  }
  return true;
}

async function buildRootfs(rootfs: string, files: Record<string, string | Uint8Array>): Promise<void> {
  const busybox = requireBinary('busybox', 'busybox-static');
  if (!isStaticElf(await readFile(busybox))) {
    throw new Error(`${busybox} is dynamically linked: run "sudo bash scripts/install-system-deps.sh" (or apt-get install busybox-static)`);
  }
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  await copyFile(busybox, join(rootfs, 'bin/busybox'));
  const applets = (await checkedCommand(busybox, ['--list'])).split('\n').filter((a) => a && a !== 'busybox');
  await Promise.all(applets.map((applet) => symlink('busybox', join(rootfs, 'bin', applet))));
  await mkdir(join(rootfs, 'etc'));
  await writeFile(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  await writeFile(join(rootfs, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  for (const dir of ['root', 'tmp']) await mkdir(join(rootfs, dir));
  await chmod(join(rootfs, 'tmp'), 0o1777);
  for (const [path, content] of Object.entries(files)) {
    const target = join(rootfs, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
  }
}

function trackImage(podman: string, ref: string, id: string): LocalImage {
  const remove = async () => {
    unregister();
    await runCommand(podman, ['rmi', '--force', ref]);
  };
  const unregister = onStopAll(remove);
  return { ref, id, remove };
}

function uniqueSuffix(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** A busybox image built from a local rootfs and imported under a unique local tag. */
export async function makeBaseImage(name: string, options: BaseImageOptions = {}): Promise<LocalImage> {
  const podman = await requirePodman();
  const tar = requireBinary('tar', 'tar');
  const workDir = await makeWorkDir(`image-${name}`);
  try {
    const rootfs = join(workDir.path, 'rootfs');
    await buildRootfs(rootfs, options.files ?? {});
    const archive = join(workDir.path, 'rootfs.tar');
    // Owned by root inside the image whoever builds it.
    await checkedCommand(tar, ['--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', archive, '.']);
    const ref = `localhost/ferry-test/${name}:${uniqueSuffix()}`;
    const id = (await checkedCommand(podman, ['import', '--quiet', '--change', 'CMD ["/bin/sh"]', archive, ref])).trim();
    return trackImage(podman, ref, id);
  } finally {
    await workDir.remove();
  }
}

export interface PodmanRunOptions {
  /** host (default): the container shares the loopback of the tests. */
  network?: 'host' | 'none' | 'bridge';
  /** Published on 127.0.0.1 only; needs network "bridge". */
  publish?: { hostPort: number; containerPort: number }[];
  env?: Record<string, string>;
  /** Host directories mounted read-only: host path → path in the container. */
  volumes?: Record<string, string>;
  timeoutMs?: number;
}

/** `podman run --rm` to completion; a run that times out is removed with `podman rm -f`. */
export async function podmanRun(image: string, command: readonly string[], options: PodmanRunOptions = {}): Promise<CommandResult> {
  const podman = await requirePodman();
  const name = `ferry-test-${uniqueSuffix()}`;
  const args = ['run', '--rm', '--name', name, `--network=${options.network ?? 'host'}`];
  for (const { hostPort, containerPort } of options.publish ?? []) args.push('--publish', `127.0.0.1:${hostPort}:${containerPort}`);
  for (const [key, value] of Object.entries(options.env ?? {})) args.push('--env', `${key}=${value}`);
  for (const [host, inside] of Object.entries(options.volumes ?? {})) args.push('--volume', `${host}:${inside}:ro`);
  try {
    return await runCommand(podman, [...args, image, ...command], { timeoutMs: options.timeoutMs ?? 60_000 });
  } catch (error) {
    await runCommand(podman, ['rm', '--force', '--time=0', name]);
    throw error;
  }
}

/** Pulls from a plain-HTTP loopback registry; the local copy is removed by stopAll(). */
export async function podmanPull(reference: string, options: { creds?: string } = {}): Promise<LocalImage> {
  const podman = await requirePodman();
  const creds = options.creds === undefined ? [] : ['--creds', options.creds];
  const id = (await checkedCommand(podman, ['pull', '--quiet', '--tls-verify=false', ...creds, reference])).trim();
  return trackImage(podman, reference, id);
}

/** Pushes a local image to a plain-HTTP loopback registry; returns the manifest digest it stored. */
export async function podmanPush(localRef: string, destination: string): Promise<string> {
  const podman = await requirePodman();
  const workDir = await makeWorkDir('podman-push');
  try {
    const digestFile = join(workDir.path, 'digest');
    await checkedCommand(podman, ['push', '--quiet', '--tls-verify=false', '--digestfile', digestFile, localRef, `docker://${destination}`]);
    return (await readFile(digestFile, 'utf8')).trim();
  } finally {
    await workDir.remove();
  }
}
