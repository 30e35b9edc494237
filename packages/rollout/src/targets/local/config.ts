// What the local router applies (weights, routing, the version in each slot) and the checks every
// change passes, whether it comes from the admin API, the command line or the file a restarted
// router reads back. A change that would send traffic nowhere is refused here, with the field at
// fault named, so the data plane never has to guess.
import type { Routing, Slot, VersionRef, Weights } from '../../target/types.js';

export interface RouterConfig {
  readonly weights: Weights;
  readonly routing: Routing;
  readonly versions: Readonly<Record<Slot, VersionRef | null>>;
}

export const SLOTS: readonly Slot[] = ['stable', 'canary'];

/** A fresh router: everything to stable (which may not be set yet), plain weighted routing. */
export const INITIAL_CONFIG: RouterConfig = {
  weights: { stable: 100, canary: 0 },
  routing: { kind: 'weighted' },
  versions: { stable: null, canary: null },
};

/** A change the router refuses because of what it says: the admin API answers 400. */
export class RouterInputError extends Error {
  override readonly name = 'RouterInputError';
}

/** A change the router refuses because of what it serves now: the admin API answers 409. */
export class RouterConflictError extends Error {
  override readonly name = 'RouterConflictError';
}

// RFC 9110 token characters: what a header name (and a cookie name) may be made of.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}

export function parseWeights(v: unknown, where = 'weights'): Weights {
  if (!isObject(v)) throw new RouterInputError(`${where} must be an object {"stable": n, "canary": n}, got ${show(v)}`);
  for (const slot of SLOTS) {
    const w = v[slot];
    if (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > 100) throw new RouterInputError(`${where}.${slot} must be a whole percent in [0, 100], got ${show(w)}`);
  }
  const weights = { stable: v.stable as number, canary: v.canary as number };
  if (weights.stable + weights.canary !== 100) throw new RouterInputError(`${where} must sum to 100, got stable ${weights.stable} + canary ${weights.canary} = ${weights.stable + weights.canary}`);
  return weights;
}

export function parseRouting(v: unknown, where = 'routing'): Routing {
  if (!isObject(v)) throw new RouterInputError(`${where} must be an object with a "kind" (weighted, sticky or mirror), got ${show(v)}`);
  switch (v.kind) {
    case 'weighted':
      return { kind: 'weighted' };
    case 'sticky': {
      const { header, cookie } = v;
      if (header !== undefined && (typeof header !== 'string' || !TOKEN.test(header))) throw new RouterInputError(`${where}.header must be an HTTP header name, got ${show(header)}`);
      if (cookie !== undefined && (typeof cookie !== 'string' || !TOKEN.test(cookie))) throw new RouterInputError(`${where}.cookie must be a cookie name, got ${show(cookie)}`);
      if (header === undefined && cookie === undefined) throw new RouterInputError(`${where}: sticky routing needs a "header" or a "cookie" whose value keeps a user on one version`);
      // Kept exactly as given (not lower-cased), so a read-back compares equal to what was set.
      return { kind: 'sticky', ...(header !== undefined ? { header: header as string } : {}), ...(cookie !== undefined ? { cookie: cookie as string } : {}) };
    }
    case 'mirror': {
      const { percent } = v;
      if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) throw new RouterInputError(`${where}.percent must be a number in [0, 100], got ${show(percent)}`);
      return { kind: 'mirror', percent };
    }
    default:
      throw new RouterInputError(`${where}.kind must be one of weighted, sticky, mirror; got ${show(v.kind)}`);
  }
}

function parseEndpoint(v: unknown, where: string): string {
  if (typeof v !== 'string') throw new RouterInputError(`${where} must be a URL string, got ${show(v)}`);
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new RouterInputError(`${where} is not a URL: ${show(v)} (want a base URL like http://127.0.0.1:8001)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RouterInputError(`${where} must be an http:// or https:// URL, got ${show(v)}`);
  if (url.search !== '' || url.hash !== '') throw new RouterInputError(`${where} must be a base URL without a query or fragment, got ${show(v)}`);
  if (url.username !== '' || url.password !== '') throw new RouterInputError(`${where} must not carry credentials`);
  return v;
}

/** A VersionRef as the admin API and the state file carry it; null clears the slot. */
export function parseVersion(v: unknown, where = 'version'): VersionRef | null {
  if (v === null) return null;
  if (!isObject(v)) throw new RouterInputError(`${where} must be an object {"name": …, "endpoints": [url, …]} or null, got ${show(v)}`);
  const { name, endpoints, digest } = v;
  if (typeof name !== 'string' || name.trim() === '') throw new RouterInputError(`${where}.name must be a non-empty string, got ${show(name)}`);
  if (!Array.isArray(endpoints) || endpoints.length === 0) throw new RouterInputError(`${where}.endpoints must be a non-empty list of base URLs, got ${show(endpoints)}`);
  const parsed = endpoints.map((e, i) => parseEndpoint(e, `${where}.endpoints[${i}]`));
  if (digest !== undefined && typeof digest !== 'string') throw new RouterInputError(`${where}.digest must be a string, got ${show(digest)}`);
  return { name, endpoints: parsed, ...(digest !== undefined ? { digest: digest as string } : {}) };
}

/**
 * The whole config is servable: every slot with weight has endpoints; mirror has a canary.
 * `fresh` accepts the state of a router that has no stable version yet (all weight on an empty
 * stable slot, answered 503), which a state file may hold if the canary was set first.
 */
export function checkServable(config: RouterConfig, fresh = false): void {
  const { weights, routing, versions } = config;
  if (routing.kind === 'mirror') {
    if (weights.stable !== 100 || weights.canary !== 0) {
      throw new RouterInputError(`mirror routing answers every request from stable, so weights must be stable 100 / canary 0, got stable ${weights.stable} / canary ${weights.canary}`);
    }
    if (versions.canary === null) throw new RouterInputError('mirror routing copies requests to the canary, but the canary slot has no version: PUT /slots/canary first');
  }
  for (const slot of SLOTS) {
    if (weights[slot] > 0 && versions[slot] === null && !(fresh && slot === 'stable' && weights.stable === 100)) {
      throw new RouterInputError(`weights.${slot} is ${weights[slot]} but the ${slot} slot has no version (no endpoints to send to): PUT /slots/${slot} first`);
    }
  }
}

function sameEndpoints(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((e, i) => e === sb[i]);
}

/** The config with `slot` pointed at `version`; refused while the slot carries traffic. */
export function withVersion(config: RouterConfig, slot: Slot, version: VersionRef | null): RouterConfig {
  const current = config.versions[slot];
  const moves = !sameEndpoints(current?.endpoints ?? [], version?.endpoints ?? []);
  // An empty slot carries no traffic even at weight 100 (a fresh router answers 503), so it may be filled.
  if (moves && current !== null && config.weights[slot] > 0) {
    throw new RouterConflictError(
      `the ${slot} slot carries ${config.weights[slot]}% of traffic (version ${current?.name ?? 'none'}); set its weight to 0 before pointing it at other endpoints`,
    );
  }
  if (version === null && slot === 'canary' && config.routing.kind === 'mirror') {
    throw new RouterConflictError('mirror routing copies requests to the canary slot; switch routing off mirror before clearing it');
  }
  return { ...config, versions: { ...config.versions, [slot]: version } };
}

/** The config with new weights and routing, checked. */
export function withRouting(config: RouterConfig, weights: Weights, routing: Routing): RouterConfig {
  const next = { ...config, weights, routing };
  checkServable(next);
  return next;
}

/** Reads a whole config (the state file); `where` names the file in messages. */
export function parseConfig(v: unknown, where: string): RouterConfig {
  if (!isObject(v)) throw new RouterInputError(`${where} must hold an object, got ${show(v)}`);
  const versions = isObject(v.versions) ? v.versions : undefined;
  if (versions === undefined) throw new RouterInputError(`${where}: "versions" must be an object {"stable": …, "canary": …}`);
  const config: RouterConfig = {
    weights: parseWeights(v.weights, `${where}: weights`),
    routing: parseRouting(v.routing, `${where}: routing`),
    versions: {
      stable: parseVersion(versions.stable ?? null, `${where}: versions.stable`),
      canary: parseVersion(versions.canary ?? null, `${where}: versions.canary`),
    },
  };
  checkServable(config, true);
  return config;
}
