// The Kubernetes rollout targets: state in annotations, a Lease against concurrent rollouts, and
// every change made by server-side apply under the `ferry` field manager.
export { GatewayApiTarget, notAvailable } from './gateway-api.js';
export type { GatewayApiTargetOptions } from './gateway-api.js';
export { FIELD_MANAGER, KubeApiError, KubeClient } from './client.js';
export type { KubeCredentials, KubeObject } from './client.js';
export { AnnotationStateStore, RECORD_ANNOTATION, REVISION_ANNOTATION } from './state.js';
export { KServeTarget } from './kserve.js';
export type { KServeTargetOptions } from './kserve.js';
export type { ScalingOptions } from './scaling.js';
