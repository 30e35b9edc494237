// Real components started on loopback for integration tests; see scripts/components.md.
export * from './binaries.js';
export * from './command.js';
export * from './haproxy.js';
export * from './kube-apiserver.js';
export * from './podman.js';
export * from './poll.js';
export * from './ports.js';
export * from './process.js';
export * from './prometheus.js';
export * from './registry.js';
export * from './skopeo.js';
export * from './workdir.js';
