// Where things are in the Ferry base image: shared by the recipe that builds it and the runtime
// that builds on it.

/** The published base image of runtime "ferry" (built by scripts/build-ferry-base.sh). */
export const FERRY_BASE_REFERENCE = 'ghcr.io/ferry-ml/ferry-serve:0.1.0';
export const NODE = '/usr/local/bin/node';
/** The application directory: Ferry's packages and their dependencies under node_modules/. */
export const APP_DIR = '/opt/ferry';
export const FERRY_CLI = `${APP_DIR}/node_modules/@ferry/cli/dist/bin.js`;
/** nobody:nogroup: the server needs no privileges, and the model files are world-readable. */
export const RUNTIME_USER = '65534:65534';
