import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse, stringify } from 'yaml';
import { TUNED_DYNAMIC_CONFIG } from '../devServer';
import type { ServerBinaries } from './binaries';
import type { PostgresSettings } from './postgres';
import { startDetached, type ProcessRecord } from './processes';

/** The name of the config file the server is started with (`--env steward` reads steward.yaml). */
export const SERVER_ENV = 'steward';

export interface ServerPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
}

/** Mutual TLS on every connection to and between the server's services, from one CA. */
export interface ServerTls {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The name the certificate carries, which clients check. */
  serverName: string;
}

/** The tuned settings of DESIGN.md §5 as dynamic config entries (numbers and booleans typed). */
export function tunedDynamicConfig(): Record<string, Array<{ value: unknown; constraints: object }>> {
  const typed = (v: string): unknown =>
    v === 'true' ? true : v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v;
  return Object.fromEntries(
    Object.entries(TUNED_DYNAMIC_CONFIG).map(([key, value]) => [
      key,
      [{ value: typed(value), constraints: {} }],
    ]),
  );
}

/**
 * The server's static config, from the module's development-postgres12.yaml: archival off (its
 * template URIs make the server refuse to start), this cluster's PostgreSQL and ports on 127.0.0.1,
 * no metrics or pprof listener, the dynamic config at an absolute path, optionally mutual TLS.
 */
export function serverConfig(options: {
  moduleDir: string;
  dynamicConfigFile: string;
  ports: ServerPorts;
  postgres: PostgresSettings;
  tls?: ServerTls;
}): Record<string, unknown> {
  const { ports, postgres, tls } = options;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const config: any = parse(
    readFileSync(join(options.moduleDir, 'config', 'development-postgres12.yaml'), 'utf8'),
  );
  config.log = { stdout: true, level: process.env.STEWARD_TEMPORAL_LOG_LEVEL || 'warn' };
  for (const store of Object.values(config.persistence.datastores) as Array<{
    sql: Record<string, unknown>;
  }>) {
    store.sql.connectAddr = `${postgres.host}:${postgres.port}`;
    store.sql.user = postgres.user;
    store.sql.password = postgres.password;
  }
  delete config.global.pprof;
  delete config.global.metrics;
  const service = (grpcPort: number, membershipPort: number, httpPort?: number) => ({
    rpc: { grpcPort, membershipPort, bindOnLocalHost: true, ...(httpPort ? { httpPort } : {}) },
  });
  config.services = {
    frontend: service(ports.frontend, ports.frontendMembership, ports.frontendHttp),
    history: service(ports.history, ports.historyMembership),
    matching: service(ports.matching, ports.matchingMembership),
    worker: service(ports.worker, ports.workerMembership),
  };
  config.clusterMetadata.clusterInformation.active.rpcAddress = `127.0.0.1:${ports.frontend}`;
  config.archival = { history: { state: 'disabled' }, visibility: { state: 'disabled' } };
  config.namespaceDefaults = {
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
  };
  config.dynamicConfigClient = { filepath: options.dynamicConfigFile, pollInterval: '10s' };
  if (tls) {
    const server = {
      certFile: tls.certFile,
      keyFile: tls.keyFile,
      requireClientAuth: true,
      clientCaFiles: [tls.caFile],
    };
    const client = { serverName: tls.serverName, rootCaFiles: [tls.caFile] };
    config.global.tls = {
      internode: { server, client },
      frontend: { server, client },
      systemWorker: { certFile: tls.certFile, keyFile: tls.keyFile, client },
    };
  }
  return config;
}

/** Writes the static and the dynamic config into `configDir`; returns the dynamic config's path. */
export function writeServerConfig(options: {
  configDir: string;
  moduleDir: string;
  ports: ServerPorts;
  postgres: PostgresSettings;
  tls?: ServerTls;
}): void {
  mkdirSync(options.configDir, { recursive: true });
  const dynamicConfigFile = join(options.configDir, 'dynamicconfig.yaml');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const dynamic: any = parse(
    readFileSync(join(options.moduleDir, 'config', 'dynamicconfig', 'development-sql.yaml'), 'utf8'),
  );
  dynamic['component.nexusoperations.callback.endpoint.template'] = [
    { value: `http://127.0.0.1:${options.ports.frontendHttp}/namespaces/{{.NamespaceName}}/nexus/callback` },
  ];
  Object.assign(dynamic, tunedDynamicConfig());
  writeFileSync(dynamicConfigFile, stringify(dynamic));
  writeFileSync(
    join(options.configDir, `${SERVER_ENV}.yaml`),
    stringify(serverConfig({ ...options, dynamicConfigFile })),
    { mode: 0o600 }, // it holds the database password
  );
}

/**
 * Creates Temporal's two databases and brings their schema to this server version with the sql
 * tool (CLUSTER.md). Safe to repeat: an existing database is kept and only migrated.
 */
export function setupSchema(binaries: ServerBinaries, postgres: PostgresSettings, log: string): void {
  const env = {
    ...process.env,
    SQL_PLUGIN: 'postgres12',
    SQL_HOST: postgres.host,
    SQL_PORT: String(postgres.port),
    SQL_USER: postgres.user,
    SQL_PASSWORD: postgres.password,
  };
  const sql = (args: string[]) => {
    const out = spawnSync(binaries.sql, args, { encoding: 'utf8', env });
    writeFileSync(log, `$ sql ${args.join(' ')}\n${out.stdout}${out.stderr}\n`, { flag: 'a' });
    return out;
  };
  const schemas = { temporal: 'temporal', temporal_visibility: 'visibility' } as const;
  for (const [db, dir] of Object.entries(schemas)) {
    const versioned = join(binaries.moduleDir, 'schema', 'postgresql', 'v12', dir, 'versioned');
    if (!existsSync(versioned)) throw new Error(`no schema files at ${versioned}`);
    const created = sql(['--db', db, 'create-database']);
    if (created.status === 0) {
      const setup = sql(['--db', db, 'setup-schema', '-v', '0.0']);
      if (setup.status !== 0) throw new Error(`sql --db ${db} setup-schema failed:\n${setup.stderr}`);
    } else if (!/already exists/.test(created.stderr + created.stdout)) {
      throw new Error(`sql --db ${db} create-database failed:\n${created.stderr}`);
    }
    const update = sql(['--db', db, 'update-schema', '-d', versioned]);
    if (update.status !== 0) throw new Error(`sql --db ${db} update-schema failed:\n${update.stderr}`);
  }
}

/** Starts the server (all four services in one process) in its own process group. */
export function startServer(
  binaries: ServerBinaries,
  dir: string,
  configDir: string,
  log: string,
): ProcessRecord {
  return startDetached({
    name: 'temporal',
    command: binaries.server,
    // --config is relative to --root
    args: [
      '--root',
      dir,
      '--config',
      relative(dir, configDir),
      '--env',
      SERVER_ENV,
      '--allow-no-auth',
      'start',
    ],
    log,
    marker: dir,
  });
}
