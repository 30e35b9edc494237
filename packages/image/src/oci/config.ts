// The new image config: the base's config with the added layers' diffIDs and history, and the
// runtime settings a serving image needs (entrypoint, environment, ports, labels, health check).
// Everything the base set and the changes do not mention is kept as it was.
import { InputError } from '@ferry/core';
import { compareCodeUnits } from './canonical-json.js';
import type { Digest } from './digest.js';
import type { ContainerConfig, HealthCheck, HistoryEntry, ImageConfig } from './types.js';

export interface ConfigChanges {
  /** Replaces the entrypoint; like Docker's ENTRYPOINT it also clears an inherited Cmd. */
  entrypoint?: string[];
  cmd?: string[];
  /** Set or replace variables; the base's other variables are kept. */
  env?: Record<string, string>;
  /** "8000", "8000/tcp" or "8001/udp". */
  exposedPorts?: string[];
  labels?: Record<string, string>;
  workingDir?: string;
  user?: string;
  stopSignal?: string;
  volumes?: string[];
  healthcheck?: HealthCheck;
}

export interface AddedLayer {
  name: string;
  diffId: Digest;
}

function portKey(port: string): string {
  const match = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(port.trim());
  if (!match || Number(match[1]) < 1 || Number(match[1]) > 65535) {
    throw new InputError(`exposed port "${port}" is not PORT or PORT/tcp|udp|sctp`, { subject: 'exposed-ports' });
  }
  return `${Number(match[1])}/${match[2] ?? 'tcp'}`;
}

function mergeEnv(base: readonly string[], changes: Record<string, string>): string[] {
  const env = [...base];
  for (const name of Object.keys(changes).sort(compareCodeUnits)) {
    if (!/^[^=\0]+$/.test(name)) throw new InputError(`environment variable name "${name}" is not valid`, { subject: 'env' });
    const entry = `${name}=${changes[name]}`;
    const at = env.findIndex((existing) => existing.split('=', 1)[0] === name);
    if (at >= 0) env[at] = entry;
    else env.push(entry);
  }
  return env;
}

function asSet(keys: Iterable<string>, existing: Record<string, Record<string, never>> | undefined): Record<string, Record<string, never>> {
  const set: Record<string, Record<string, never>> = { ...existing };
  for (const key of keys) set[key] = {};
  return set;
}

export function applyConfigChanges(base: ContainerConfig | undefined, changes: ConfigChanges): ContainerConfig {
  const config: ContainerConfig = { ...base };
  if (changes.entrypoint !== undefined) {
    config.Entrypoint = [...changes.entrypoint];
    if (changes.cmd === undefined) delete config.Cmd;
  }
  if (changes.cmd !== undefined) config.Cmd = [...changes.cmd];
  if (changes.env !== undefined) config.Env = mergeEnv(config.Env ?? [], changes.env);
  if (changes.exposedPorts !== undefined) config.ExposedPorts = asSet(changes.exposedPorts.map(portKey), config.ExposedPorts);
  if (changes.volumes !== undefined) config.Volumes = asSet(changes.volumes, config.Volumes);
  if (changes.labels !== undefined) config.Labels = { ...config.Labels, ...changes.labels };
  if (changes.workingDir !== undefined) config.WorkingDir = changes.workingDir;
  if (changes.user !== undefined) config.User = changes.user;
  if (changes.stopSignal !== undefined) config.StopSignal = changes.stopSignal;
  if (changes.healthcheck !== undefined) config.Healthcheck = { ...changes.healthcheck, Test: [...changes.healthcheck.Test] };
  return config;
}

export function hasConfigChanges(changes: ConfigChanges): boolean {
  return Object.values(changes).some((value) => value !== undefined);
}

/** RFC 3339 in UTC without fractional seconds, as Go tools write it. */
export function rfc3339(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * The config of the new image. History gets one entry per added layer (and one for a config-only
 * change), but only where the base keeps history in step with its layers, so the two stay aligned.
 */
export function buildImageConfig(base: ImageConfig, layers: readonly AddedLayer[], changes: ConfigChanges, created: string): ImageConfig {
  const config: ImageConfig = structuredClone(base);
  config.created = created;
  config.rootfs = { type: 'layers', diff_ids: [...(base.rootfs?.diff_ids ?? []), ...layers.map((layer) => layer.diffId)] };
  if (hasConfigChanges(changes)) config.config = applyConfigChanges(base.config, changes);
  const keepsHistory = base.history !== undefined || (base.rootfs?.diff_ids ?? []).length === 0;
  if (keepsHistory) {
    const history: HistoryEntry[] = [...(base.history ?? [])];
    for (const layer of layers) history.push({ created, created_by: `ferry: ${layer.name}` });
    if (hasConfigChanges(changes)) history.push({ created, created_by: 'ferry: image config', empty_layer: true });
    config.history = history;
  }
  return config;
}
