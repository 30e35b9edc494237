// @ferry/image: the build-serving-image engine. oci/ assembles and pushes images; runtimes/ lays a
// model out for each serving runtime; step.ts is the step itself.
export * from './oci/index.js';
export { buildServingImageStep, FERRY_VERSION } from './step.js';
export { SERVING_RUNTIMES, servingRuntime, batchable, tritonConfig, marManifest, guessImplementation, serveArguments, FERRY_PORT } from './runtimes/index.js';
export type { RuntimeName, RuntimeOptions, RuntimePlan, ServingRuntime } from './runtimes/index.js';
export { decideTags, parseSemver, sanitiseTag, type TagDecision, type TagRule } from './tags.js';
export { readSourceContext, repositoryUrlFromRemote, type SourceContext } from './ci-context.js';
export { imageAnnotations, ANNOTATION } from './metadata.js';
export { zipArchive, type ZipMember, type ZipArchive } from './archive/zip.js';
export { crc32 } from './archive/crc32.js';
export { DigestCache, defaultCacheDir } from './digest-cache.js';
export { readModel, defaultModelName, type ModelInfo, type ModelFileEntry } from './model.js';
export { artifactManifest, modelManifest, pushArtifacts, referrersTag, slsaProvenance, IN_TOTO_MEDIA_TYPE, MODEL_MANIFEST_MEDIA_TYPE } from './provenance.js';
export { ferryBaseRecipe, sharedLibraries, type FerryBaseOptions, type FerryBaseRecipe } from './ferry-base/recipe.js';
export { FERRY_BASE_REFERENCE, FERRY_CLI, NODE as FERRY_NODE, APP_DIR as FERRY_APP_DIR } from './ferry-base/layout.js';
export { findBuilder, type Builder } from './dockerfile.js';
export { checkDiskSpace, freeBytes, type DiskCheck } from './disk-space.js';
export { cliImageRecipe, CLI_IMAGE_NAME, type CliImageOptions, type CliImageRecipe } from './cli-image/recipe.js';
export { publishTags, registryCredentialsFromEnv, releaseTag } from './cli-image/publish.js';
