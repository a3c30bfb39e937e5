import { randomBytes, randomInt } from 'node:crypto';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { ensureInstallKey } from '../../stores/keys';
import type { StewardConfigInput } from '../../config/schema';
import { freePort } from '../devServer';
import { ensureModel } from '../../weights';
import { isRunning } from '../watchdog';
import { ensureServerBinaries, type ServerBinaries } from './binaries';
import { ensureDatabase, initPostgres, startPostgres } from './postgres';
import { stillOurs } from './processes';
import { prepareNamespace, startStewardProcess } from './start';
import { setupSchema, startServer, writeServerConfig, type ServerPorts } from './temporalServer';

import {
  BLOBS_DATABASE,
  BLOBS_URL_ENV,
  logFile,
  readClusterState,
  REPO,
  setRecord,
  watched,
  writeProfile,
  writeState,
  type ClusterNode,
  type ClusterOptions,
  type ClusterState,
} from './state';
import { clusterDown } from './control';

/** Resolves relative paths of a Steward config against the directory of the file they came from. */
export function baseConfig(config: ClusterOptions['config']): StewardConfigInput & Record<string, unknown> {
  if (config === undefined) return {};
  if (typeof config !== 'string')
    return structuredClone(config) as StewardConfigInput & Record<string, unknown>;
  const file = resolve(config);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const parsed: any = parse(readFileSync(file, 'utf8')) ?? {};
  const tools = (parsed.tools ??= {});
  tools.workspace = resolve(dirname(file), tools.workspace ?? 'workspace');
  return parsed;
}

/**
 * Every process of the cluster has its own key in its data directory (made here, before they start):
 * each accepts the others' signed audit heads and the state they carry across continue-as-new.
 */
function trustEachOther(config: Record<string, unknown>, specs: { name: string; dataDir: string }[]): void {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const signing = ((config as any).signing ??= {});
  const keys = new Map<string, { id: string; publicKey: string }>();
  for (const spec of specs) {
    const key = ensureInstallKey(spec.dataDir);
    keys.set(key.publicKey, { id: `${spec.name}-${key.keyId}`.slice(0, 100), publicKey: key.publicKey });
  }
  signing.auditKeys = [...(signing.auditKeys ?? []), ...keys.values()];
}

/** The config every Steward process of the cluster reads: the base plus the cluster's server and nodes. */
export function stewardConfigFor(
  options: ClusterOptions,
  state: ClusterState,
  nodes: ClusterNode[],
  embeddedModelPath: string | undefined,
): Record<string, unknown> {
  const config = baseConfig(options.config) as Record<string, unknown>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const c = config as any;
  c.temporal = { ...(c.temporal ?? {}), address: state.address, namespace: state.namespace };
  c.tools = { ...(c.tools ?? {}) };
  c.tools.workspace = isAbsolute(c.tools.workspace ?? '') ? c.tools.workspace : join(state.dir, 'workspace');
  c.computeNodes = nodes.map((n) => ({
    id: n.id,
    taskQueue: `steward-${n.id}`,
    trust: n.trust,
    ...(n.pricePerJobUsd !== undefined ? { pricePerJobUsd: n.pricePerJobUsd } : {}),
    ...(n.pickupTimeoutSeconds !== undefined ? { pickupTimeoutSeconds: n.pickupTimeoutSeconds } : {}),
  }));
  // The embedded model: fetched (or found) once in the caller's data directory, not once per process.
  const routes = (c.models ?? []) as Array<{ provider: string }>;
  const providers = (c.providers ??= {});
  const usesEmbedded = routes.length === 0 || routes.some((r) => r.provider === 'embedded');
  if (usesEmbedded && !providers.embedded?.modelPath) {
    providers.embedded = { ...(providers.embedded ?? {}), kind: 'embedded', modelPath: embeddedModelPath };
  }
  // The processes share no directory: audit trails go to PostgreSQL with the blobs (unless configured),
  // else each worker would append a task's entries to its own files and the chain would split.
  if (state.blobs === 'postgres')
    c.stores = {
      audit: { kind: 'postgres', urlEnv: BLOBS_URL_ENV },
      ...(c.stores ?? {}),
      blobs: { kind: 'postgres', urlEnv: BLOBS_URL_ENV },
    };
  return config;
}

/** True when `port` can be bound on 127.0.0.1 now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.unref();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

async function allBindable(ports: number[]): Promise<boolean> {
  for (const port of ports) if (!(await bindable(port))) return false;
  return true;
}

/** Where the embedded model's weights are, when the config's routes use it (fetched once if missing). */
export async function embeddedModel(options: ClusterOptions): Promise<string | undefined> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const c: any = baseConfig(options.config);
  const routes = (c.models ?? []) as Array<{ provider: string }>;
  if (routes.length > 0 && !routes.some((r) => r.provider === 'embedded')) return undefined;
  if (c.providers?.embedded?.modelPath) return undefined;
  return ensureModel({ dataDir: resolve(process.env.STEWARD_DATA_DIR || c.dataDir || '.steward') });
}

/**
 * Free ports for the server's services, below 32768: the server records its membership ports in a
 * SMALLINT column (`value "37435" is out of range for type smallint`), and the kernel's ephemeral
 * ports (what port 0 hands out) start at 32768.
 */
export async function freePorts(): Promise<ServerPorts> {
  const names: Array<keyof ServerPorts> = [
    'frontend',
    'frontendHttp',
    'frontendMembership',
    'history',
    'historyMembership',
    'matching',
    'matchingMembership',
    'worker',
    'workerMembership',
  ];
  const ports = new Set<number>();
  while (ports.size < names.length) {
    const port = 10_000 + randomInt(22_000);
    if (!ports.has(port) && (await bindable(port))) ports.add(port);
  }
  const list = [...ports];
  return Object.fromEntries(names.map((n, i) => [n, list[i]])) as unknown as ServerPorts;
}

export function time<T>(timings: Record<string, number>, what: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  return work().finally(() => {
    timings[what] = (Date.now() - started) / 1000;
  });
}

/**
 * Brings up the topology as processes: PostgreSQL (its own, in `dir`), the Temporal server on it
 * (schema, namespace, search attributes, tuned dynamic config), Steward workers and compute nodes,
 * every pid recorded in `dir/cluster.json`. Builds the server first if it is not built (once).
 * An existing cluster directory is reused (its data survives `down`), on fresh ports.
 */
export async function clusterUp(options: ClusterOptions): Promise<ClusterState> {
  const report = options.report ?? ((l: string) => process.stderr.write(`${l}\n`));
  const dir = resolve(options.dir);
  const previous = readClusterState(dir);
  if (previous?.processes.some((p) => isRunning(p.pid) && stillOurs(p)))
    throw new Error(`a cluster is already running from ${dir}; stop it first (cluster down)`);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const timings: Record<string, number> = {};
  const started = Date.now();
  const binaries: ServerBinaries = await time(timings, 'build', () => ensureServerBinaries(report));
  const stewardCommand = options.stewardCommand ?? [process.execPath, join(REPO, 'bin', 'steward.js')];
  if (!options.stewardCommand && !existsSync(join(REPO, 'dist', 'cli', 'main.js')))
    throw new Error(`bin/steward.js runs the compiled CLI: build it first (npm run build in ${REPO})`);

  const postgres = {
    host: '127.0.0.1',
    port: previous && (await bindable(previous.postgres.port)) ? previous.postgres.port : await freePort(),
    user: 'temporal',
    password: previous?.postgres.password ?? randomBytes(18).toString('base64url'),
    dataDir: join(dir, 'postgres'),
  };
  const namespace = options.namespace ?? 'default';
  // The same ports as last time when they are free: the server remembers its members by address in
  // the database, and members at addresses that no longer answer hold matching back for about a minute.
  const ports =
    previous && (await allBindable(Object.values(previous.ports))) ? previous.ports : await freePorts();
  const blobs = options.blobs ?? 'postgres';
  const state: ClusterState = {
    dir,
    namespace,
    address: `127.0.0.1:${ports.frontend}`,
    taskQueue: 'steward',
    postgres,
    ports,
    configDir: join(dir, 'temporal-config'),
    stewardConfig: join(dir, 'steward.yaml'),
    stewardCommand,
    stewardEnv: options.env ?? {},
    blobs,
    ...(blobs === 'postgres' ? { blobsUrlEnv: BLOBS_URL_ENV } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.watchdog ? { watchdog: true } : {}),
    specs: [],
    processes: [],
    timings,
  };
  const up = async (): Promise<void> => {
    await time(timings, 'postgres', async () => {
      initPostgres(postgres.dataDir, postgres);
      setRecord(
        state,
        watched(state, await startPostgres(postgres.dataDir, postgres, logFile(state, 'postgres'))),
      );
    });
    writeState(state);
    await time(timings, 'schema', async () => {
      setupSchema(binaries, postgres, logFile(state, 'schema'));
      ensureDatabase(postgres, BLOBS_DATABASE);
    });
    writeProfile(state);
    writeServerConfig({
      configDir: state.configDir,
      moduleDir: binaries.moduleDir,
      ports,
      postgres,
      tls: options.tls,
    });
    await time(timings, 'server', async () => {
      const server = watched(state, startServer(binaries, dir, state.configDir, logFile(state, 'temporal')));
      setRecord(state, server);
      writeState(state);
      await prepareNamespace(state, server);
    });

    const nodes = options.nodes ?? [
      { id: 'node-a', trust: 'local' },
      { id: 'node-b', trust: 'private' },
    ];
    const config = stewardConfigFor(options, state, nodes, await embeddedModel(options));
    const shared = join(dir, 'steward', 'shared');
    const dataDir = (name: string) => (blobs === 'local' ? shared : join(dir, 'steward', name));
    state.specs = [
      ...Array.from({ length: options.workers ?? 2 }, (_, i) => ({
        name: `worker-${i + 1}`,
        args: ['worker', '--no-compute'],
        dataDir: dataDir(`worker-${i + 1}`),
      })),
      ...nodes.map((n) => ({
        name: n.id,
        args: ['node', '--id', n.id],
        dataDir: dataDir(n.id),
      })),
    ];
    trustEachOther(config, state.specs);
    writeFileSync(state.stewardConfig, stringify(config));
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    mkdirSync((config as any).tools.workspace, { recursive: true });
    await time(timings, 'steward', async () => {
      const records = await Promise.all(
        state.specs.map((spec) => time(timings, spec.name, () => startStewardProcess(state, spec))),
      );
      for (const r of records) setRecord(state, r);
    });
    timings.total = (Date.now() - started) / 1000;
    writeState(state);
  };
  try {
    await up();
  } catch (err) {
    writeState(state);
    await clusterDown(dir).catch(() => undefined);
    throw err;
  }
  return state;
}
