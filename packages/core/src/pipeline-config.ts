// The `pipeline` section of ferry.yml: which version is stable, which candidates `ferry pipeline`
// can carry through the steps, and what each is expected to end as. Step settings stay under the
// step names; this section only says what to run them on.
import { InputError } from './errors.js';
import { STEP_NAMES, type StepName } from './steps/common.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** What a candidate is expected to end as: promoted, or rejected at a step (for rehearsals such as the demo). */
export type PipelineExpectation = 'promoted' | StepName;

export interface PipelineVersion {
  /** Version label (the `version` label of metrics, the router's and the record's name for it). */
  readonly version: string;
  /** Model file or directory, relative to the working directory. */
  readonly modelPath?: string;
  /** Already running servers of this version; without them `ferry pipeline` starts `ferry serve` on modelPath. */
  readonly endpoints: readonly string[];
  /** Loopback port to serve modelPath on (a process's or a container's); default a free one. */
  readonly port?: number;
}

export interface PipelineCandidate extends PipelineVersion {
  /** Key of the candidate in `candidates` (how `--candidate` names it). */
  readonly name: string;
  readonly expect?: PipelineExpectation;
}

/** What serves a version given by model-path: `ferry serve` processes, or podman running its built image. */
export type ServeWith = 'process' | 'podman';
export const SERVE_WITH: readonly ServeWith[] = ['process', 'podman'];

export interface PipelineSettings {
  /** Name the model is served under (/v2/models/<name>). */
  readonly modelName: string;
  /** How versions given by model-path are served during the run (default process). */
  readonly serveWith: ServeWith;
  readonly stable: PipelineVersion;
  readonly candidates: readonly PipelineCandidate[];
  /** Where reports, images and results go, relative to the working directory. */
  readonly reportDir: string;
}

const EXPECTATIONS = ['promoted', ...STEP_NAMES] as const;
const VERSION_KEYS = ['version', 'model-path', 'endpoints', 'port'];
const CANDIDATE_KEYS = [...VERSION_KEYS, 'expect'];
const TOP_KEYS = ['model-name', 'stable', 'candidates', 'report-dir', 'serve-with'];

const VERSION_PROPERTIES = {
  version: { type: 'string', pattern: NAME.source, description: 'Version label.' },
  'model-path': { type: 'string', description: 'Model file or directory; ferry pipeline serves it on this machine (see serve-with).' },
  endpoints: {
    oneOf: [{ type: 'array', items: { type: 'string' } }, { type: 'string' }],
    description: 'Base URLs of already running servers of this version (real infrastructure) instead of model-path.',
  },
  port: {
    type: 'integer',
    minimum: 1,
    maximum: 65535,
    description:
      'Loopback port ferry pipeline serves model-path on (the ferry serve process, or the container\'s published port); default a free one. Give one when something set up beforehand must reach the version: a Prometheus scraping fixed targets, an HAProxy server address.',
  },
};

/** JSON schema of the section, for editors (schema/ferry.schema.json). The loader below checks the same rules. */
export const PIPELINE_SCHEMA = {
  type: ['object', 'null'],
  description: 'What `ferry pipeline` runs the steps on: the stable version and the candidates. Step settings stay under the step names.',
  additionalProperties: false,
  properties: {
    'model-name': { type: 'string', pattern: NAME.source, default: 'model', description: 'Name the model is served under (/v2/models/<name>).' },
    'report-dir': { type: 'string', default: '.ferry/pipeline', description: 'Where the report, images and results go.' },
    'serve-with': {
      enum: [...SERVE_WITH],
      default: 'process',
      description:
        'How versions given by model-path are served for the benchmark and the canary: process runs `ferry serve` on the model files; podman runs the image build-serving-image built (stable is built the same way) on a loopback port, and removes the containers at the end. podman needs a runnable base-image (the runtime\'s pinned image by default; not scratch).',
    },
    stable: {
      type: 'object',
      additionalProperties: false,
      required: ['version'],
      anyOf: [{ required: ['model-path'] }, { required: ['endpoints'] }],
      properties: VERSION_PROPERTIES,
      description: 'The version serving now.',
    },
    candidates: {
      type: 'object',
      description: 'Candidates by name (what --candidate takes).',
      propertyNames: { pattern: NAME.source },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        anyOf: [{ required: ['model-path'] }, { required: ['endpoints'] }],
        properties: {
          ...VERSION_PROPERTIES,
          version: { ...VERSION_PROPERTIES.version, description: 'Version label; default: the candidate name.' },
          expect: { enum: [...EXPECTATIONS], description: 'What the candidate should end as: promoted, or rejected at this step. Runs of several candidates pass when each meets its expectation.' },
        },
      },
    },
  },
  required: ['stable', 'candidates'],
} as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(file: string, key: string, message: string): never {
  throw new InputError(`${file}: ${key} ${message}`, { subject: key });
}

function name(file: string, key: string, v: unknown): string {
  if (typeof v !== 'string' || !NAME.test(v)) bad(file, key, `must be a name of letters, digits, _ . - (at most 128), got ${JSON.stringify(v)}`);
  return v;
}

function endpoints(file: string, key: string, v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? v.split(/[\s,]+/).filter(Boolean) : v;
  if (!Array.isArray(list)) bad(file, key, 'must be a list of URLs');
  return list.map((e, i) => {
    if (typeof e !== 'string' || !/^https?:\/\/[^\s/]+/.test(e)) bad(file, `${key}[${i}]`, `must be a base URL like http://10.0.0.7:8080, got ${JSON.stringify(e)}`);
    return e;
  });
}

function version(file: string, key: string, raw: unknown, allowed: readonly string[], fallbackVersion?: string): PipelineVersion & { expect?: PipelineExpectation } {
  if (!isRecord(raw)) bad(file, key, 'must be a mapping');
  for (const k of Object.keys(raw)) if (!allowed.includes(k)) bad(file, `${key}.${k}`, `is not a known key; allowed: ${allowed.join(', ')}`);
  const v = raw.version ?? fallbackVersion;
  if (v === undefined) bad(file, `${key}.version`, 'is required');
  const modelPath = raw['model-path'];
  if (modelPath !== undefined && (typeof modelPath !== 'string' || modelPath === '')) bad(file, `${key}.model-path`, 'must be a path');
  const eps = endpoints(file, `${key}.endpoints`, raw.endpoints);
  if (modelPath === undefined && eps.length === 0) bad(file, key, 'needs model-path (served here by ferry serve) or endpoints (servers already running)');
  const port = raw.port;
  if (port !== undefined) {
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) bad(file, `${key}.port`, `must be a port number 1-65535, got ${JSON.stringify(port)}`);
    if (modelPath === undefined || eps.length > 0) bad(file, `${key}.port`, 'applies to a version served here from model-path; a version given by endpoints is already listening');
  }
  const expect = raw.expect;
  if (expect !== undefined && !(EXPECTATIONS as readonly unknown[]).includes(expect)) bad(file, `${key}.expect`, `must be one of ${EXPECTATIONS.join(', ')}, got ${JSON.stringify(expect)}`);
  return {
    version: name(file, `${key}.version`, v),
    ...(modelPath !== undefined ? { modelPath: modelPath as string } : {}),
    endpoints: eps,
    ...(port !== undefined ? { port: port as number } : {}),
    ...(expect !== undefined ? { expect: expect as PipelineExpectation } : {}),
  };
}

/** Checks the `pipeline` section; every message names the file and the key path. */
export function parsePipelineSection(raw: unknown, file: string): PipelineSettings | undefined {
  if (raw === null || raw === undefined) return undefined;
  if (!isRecord(raw)) bad(file, 'pipeline', 'must be a mapping');
  for (const k of Object.keys(raw)) if (!TOP_KEYS.includes(k)) bad(file, `pipeline.${k}`, `is not a known key; allowed: ${TOP_KEYS.join(', ')}`);
  const modelName = raw['model-name'] === undefined ? 'model' : name(file, 'pipeline.model-name', raw['model-name']);
  const reportDir = raw['report-dir'] ?? '.ferry/pipeline';
  if (typeof reportDir !== 'string' || reportDir === '') bad(file, 'pipeline.report-dir', 'must be a path');
  const serveWith = raw['serve-with'] ?? 'process';
  if (!(SERVE_WITH as readonly unknown[]).includes(serveWith)) bad(file, 'pipeline.serve-with', `must be one of ${SERVE_WITH.join(', ')}, got ${JSON.stringify(serveWith)}`);
  if (raw.stable === undefined) bad(file, 'pipeline.stable', 'is required: the version serving now ({version, model-path})');
  const stable = version(file, 'pipeline.stable', raw.stable, VERSION_KEYS);
  if (!isRecord(raw.candidates) || Object.keys(raw.candidates).length === 0) bad(file, 'pipeline.candidates', 'must map at least one candidate name to {model-path | endpoints, version, expect}');
  const candidates = Object.entries(raw.candidates).map(([key, c]): PipelineCandidate => {
    name(file, `pipeline.candidates.${key}`, key);
    const parsed = version(file, `pipeline.candidates.${key}`, c, CANDIDATE_KEYS, key);
    if (parsed.version === stable.version) bad(file, `pipeline.candidates.${key}.version`, `is ${parsed.version}, the stable version's label; a candidate needs a label of its own`);
    // A candidate runs beside stable, never beside another candidate.
    if (parsed.port !== undefined && parsed.port === stable.port) bad(file, `pipeline.candidates.${key}.port`, `is ${parsed.port}, stable's port too; stable and the candidate are served at the same time`);
    return { name: key, ...parsed };
  });
  return { modelName, serveWith: serveWith as ServeWith, stable, candidates, reportDir };
}
