/** The cluster's shapes and its state file: what runs, where, with which settings. */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Connection } from '@temporalio/client';
import { clientConfigToToml, type ClientConfigProfile } from '@temporalio/envconfig';
import type { StewardConfigInput } from '../../config/schema';
import { connectClient } from '../connection';
import { watchProcessGroup } from '../watchdog';
import { postgresUrl, type PostgresSettings } from './postgres';
import { type ProcessRecord } from './processes';
import { type ServerPorts, type ServerTls } from './temporalServer';

/** A compute node of the cluster: its own process, polling its own task queue. */
export interface ClusterNode {
  id: string;
  trust: 'local' | 'private' | 'public';
  pricePerJobUsd?: number;
  pickupTimeoutSeconds?: number;
}

export interface ClusterOptions {
  /** The cluster's directory: state file, logs, configs, PostgreSQL's data. */
  dir: string;
  /** Steward worker processes on the `steward` queue (default 2). */
  workers?: number;
  /** Compute node processes (default node-a, trust local, and node-b, trust private). */
  nodes?: ClusterNode[];
  namespace?: string;
  /** Steward config every process starts from (a file or an object); the cluster adds its parts. */
  config?: string | StewardConfigInput;
  /** How to run `steward` (default: this node and this checkout's bin/steward.js). */
  stewardCommand?: string[];
  /** More environment for the Steward processes (provider keys, …). */
  env?: Record<string, string>;
  /**
   * Where claim checks live: `postgres` (default; a database of the cluster's PostgreSQL, so
   * processes share no directory) or `local` (one data directory all processes share).
   */
  blobs?: 'postgres' | 'local';
  /** Mutual TLS between everything and the server, with these files (see cluster/tls.ts). */
  tls?: ClusterTls;
  /**
   * Stop every process of the cluster when the process that started it dies, however it dies (a
   * test run); without it (`cluster up`) they outlive their starter until `cluster down`.
   */
  watchdog?: boolean;
  report?: (line: string) => void;
}

export interface ClusterTls extends ServerTls {
  /** The certificate and key Steward's processes present to the server. */
  clientCertFile: string;
  clientKeyFile: string;
}

/** A Steward process the cluster runs: `worker-N` (`steward worker --no-compute`) or `node-<id>`. */
export interface StewardProcessSpec {
  name: string;
  args: string[];
  /** Its own data directory: with blobs in PostgreSQL, processes share no directory at all. */
  dataDir: string;
}

export interface ClusterState {
  dir: string;
  namespace: string;
  address: string;
  taskQueue: string;
  postgres: PostgresSettings & { dataDir: string };
  ports: ServerPorts;
  configDir: string;
  /** The Steward config the processes run with (STEWARD_CONFIG). */
  stewardConfig: string;
  stewardCommand: string[];
  stewardEnv: Record<string, string>;
  blobs: 'postgres' | 'local';
  /** With blobs in PostgreSQL: the environment variable that gives each process their URL. */
  blobsUrlEnv?: string;
  tls?: ClusterTls;
  /** Whether the processes stop with the process that started them (ClusterOptions.watchdog). */
  watchdog?: boolean;
  specs: StewardProcessSpec[];
  processes: ProcessRecord[];
  timings: Record<string, number>;
}

export const BLOBS_DATABASE = 'steward_blobs';
export const BLOBS_URL_ENV = 'STEWARD_PG_URL';

export const STATE_FILE = 'cluster.json';
export const REPO = resolve(__dirname, '..', '..', '..');

export function stateFile(dir: string): string {
  return join(resolve(dir), STATE_FILE);
}

export function readClusterState(dir: string): ClusterState | undefined {
  const file = stateFile(dir);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as ClusterState;
}

/** Written whole and renamed into place; mode 600: it holds the database password. */
export function writeState(state: ClusterState): void {
  const file = stateFile(state.dir);
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(state, null, 2), { mode: 0o600 });
  renameSync(temp, file);
}

export function setRecord(state: ClusterState, record: ProcessRecord): void {
  state.processes = [...state.processes.filter((p) => p.name !== record.name), record];
}

/** With a watchdog, the process group ends when this process does (src/runtime/watchdog.ts). */
export function watched(state: Pick<ClusterState, 'watchdog'>, record: ProcessRecord): ProcessRecord {
  if (state.watchdog) watchProcessGroup(record.pid);
  return record;
}

export function findRecord(state: ClusterState, name: string): ProcessRecord | undefined {
  return state.processes.find((p) => p.name === name);
}

export function logFile(state: { dir: string }, name: string): string {
  return join(state.dir, 'logs', `${name}.log`);
}

/** The Temporal client profile of the cluster (temporal.toml), as envconfig reads it. */
export function profileFile(state: Pick<ClusterState, 'dir'>): string {
  return join(state.dir, 'temporal.toml');
}

/** Writes the cluster's profile: its address and namespace, and with TLS its certificates. */
export function writeProfile(state: Pick<ClusterState, 'dir' | 'address' | 'namespace' | 'tls'>): void {
  const profile: ClientConfigProfile = { address: state.address, namespace: state.namespace };
  if (state.tls) {
    profile.tls = {
      serverCACert: { path: state.tls.caFile },
      clientCert: { path: state.tls.clientCertFile },
      clientKey: { path: state.tls.clientKeyFile },
      serverName: state.tls.serverName,
    };
  }
  writeFileSync(profileFile(state), clientConfigToToml({ profiles: { default: profile } }));
}

/**
 * The environment that connects a Steward process to the cluster: its own Temporal client profile
 * (TEMPORAL_CONFIG_FILE, read with @temporalio/envconfig like every Steward connection), so no
 * profile of the user's applies, and the address and namespace also as variables.
 */
export function connectionEnv(
  state: Pick<ClusterState, 'dir' | 'address' | 'namespace'>,
): Record<string, string> {
  return {
    TEMPORAL_CONFIG_FILE: profileFile(state),
    TEMPORAL_PROFILE: 'default',
    TEMPORAL_ADDRESS: state.address,
    TEMPORAL_NAMESPACE: state.namespace,
  };
}

/** The URL of the claim-check database (it carries the password: give it by environment only). */
export function blobsUrl(state: Pick<ClusterState, 'postgres'>): string {
  return postgresUrl(state.postgres, BLOBS_DATABASE);
}

/** A client connection to the cluster's frontend, as its processes connect (through its profile). */
export async function connectToCluster(
  state: Pick<ClusterState, 'dir' | 'address' | 'namespace'>,
  connectTimeout = 5000,
): Promise<Connection> {
  return connectClient(state.address, { env: connectionEnv(state), connectTimeout });
}
