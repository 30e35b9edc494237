// The metrics registry moved to @ferry/core (the rollout router uses it too); re-exported so serve's imports stay.
export { CONTENT_TYPES, Counter, Gauge, Histogram, MetricsRegistry, negotiateFormat, type ExpositionFormat, type Labels } from '@ferry/core';
