// @ferry/image: the build-serving-image engine. oci/ assembles and pushes images; the serving
// runtimes (runtimes/) and the step build on it.
export * from './oci/index.js';
