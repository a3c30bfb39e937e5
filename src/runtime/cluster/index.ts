/**
 * The production-shaped topology as processes: PostgreSQL, the Temporal server built from the Go
 * module proxy, Steward workers and compute nodes (scripts/cluster.ts, npm run cluster:up).
 */
export { ensureServerBinaries, serverBinDir, TEMPORAL_SERVER_VERSION } from './binaries';
export * from './state';
export * from './up';
export * from './start';
export * from './control';
