import { Client } from '@temporalio/client';
import type { Worker, WorkflowBundle } from '@temporalio/worker';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { TrustedKey } from '../audit/signing';
import { ensureInstallKey } from '../stores/keys';
import type { Signer } from './client';
import { createActivities, createStewardActivities } from '../activities';
import { DEFAULT_DATA_BOUNDARIES } from '../policies/evaluate';
import { AgentRegistry, builtinAgents, type AgentDefinition } from '../agents';
import { configAgentDefinitions, type ConfigAgent } from '../agents/fromConfig';
import { AgentDefinitionError } from '../agents/validate';
import { ConfigError, type LoadedConfig } from '../config/load';
import { createProviders, type ProviderSetup } from '../providers';
import type { ModelProvider } from '../providers/types';
import { builtinTools } from '../tools/builtin';
import { McpTools, type McpServerStatus } from '../tools/mcp/source';
import { acceptedMcpTools } from '../tools/mcp/pinnedTools';
import type { ToolDefinition } from '../tools/registry';
import { WorkerToolRegistry } from '../tools/workerRegistry';
import { BlobStore } from '../stores/blobStore';
import { PostgresBlobBackend } from '../stores/postgresBlobStore';
import { FileAuditStore, type AuditStore } from '../stores/auditStore';
import { PostgresAuditStore } from '../stores/postgresAuditStore';
import { registerSecret } from '../shared/secrets';
import { connectClient, connectWorker, temporalProfile } from './connection';
import { startDevServer, type DevServer } from './devServer';
import { startTelemetry } from './telemetry';
import { ensureTemporalCli } from './temporalCli';
import { commandLine, stopProcessGroup } from './watchdog';
import { createComputeNodeWorker, createStewardWorker } from './worker';

/** The file through which `steward dev` tells other steward commands where its server listens. */
export function devServerFile(config: LoadedConfig): string {
  return join(config.dataDir, 'dev-server.json');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Temporal address to use: TEMPORAL_ADDRESS or config, else a running `steward dev`, else the
 * address of the Temporal client profile (temporal.toml), else none.
 */
export function findServer(
  config: LoadedConfig,
): { address: string; uiUrl?: string; embedded: boolean } | undefined {
  if (config.temporal.address) return { address: config.temporal.address, embedded: false };
  const file = devServerFile(config);
  if (existsSync(file)) {
    const info = JSON.parse(readFileSync(file, 'utf8')) as { address: string; uiUrl?: string; pid: number };
    if (alive(info.pid)) return { ...info, embedded: true };
  }
  const fromProfile = temporalProfile().connectionOptions.address;
  return fromProfile ? { address: fromProfile, embedded: false } : undefined;
}

/** This install's key, made on first use: it signs the decisions made at this machine's terminal. */
export function installSigner(config: LoadedConfig): Signer {
  const { keyId, privateKey } = ensureInstallKey(config.dataDir);
  return { keyId, privateKey };
}

/**
 * The keys whose signed decisions this worker's tasks accept: this install's (its operators may
 * decide as anyone they are, as at the terminal) and the configured ones (a front door, approvers).
 */
export function trustedKeys(config: LoadedConfig): TrustedKey[] {
  const install = ensureInstallKey(config.dataDir);
  return [
    { id: install.keyId, publicKey: install.publicKey, signsFor: ['*'] },
    ...config.signing.trustedKeys,
  ];
}

/**
 * The blob store of this install, from `stores.blobs`: a directory in the data directory (the
 * embedded default; every process must then share it), or PostgreSQL, which every machine reaches.
 */
export function blobStoreFor(config: LoadedConfig): BlobStore {
  const blobs = config.stores?.blobs;
  if (blobs?.kind === 'postgres') {
    // the URL carries the password: scrubbed from every log line and error, as is the password alone
    const url = postgresUrl('stores.blobs', blobs.urlEnv);
    return new BlobStore(new PostgresBlobBackend(url, { table: blobs.table }));
  }
  return new BlobStore(join(config.dataDir, 'blobs'));
}

/** The URL in the environment variable a PostgreSQL store names; it is a secret from then on. */
function postgresUrl(what: string, urlEnv: string): string {
  const url = process.env[urlEnv];
  if (!url)
    throw new ConfigError(`${what} reads its PostgreSQL URL from ${urlEnv}, which is not set`, {
      hint: `set ${urlEnv}=postgres://user:password@host:5432/database in this process's environment`,
    });
  registerSecret(url);
  registerSecret(URL.canParse(url) ? decodeURIComponent(new URL(url).password) : undefined);
  return url;
}

/** Where this install writes audit trails (`stores.audit`); undefined when it writes none. */
export function auditStoreFor(config: LoadedConfig): AuditStore | undefined {
  const audit = config.stores?.audit ?? { kind: 'local' };
  if (audit.kind === 'none') return undefined;
  if (audit.kind === 'postgres')
    return new PostgresAuditStore(postgresUrl('stores.audit', audit.urlEnv), audit.table);
  return new FileAuditStore(join(config.dataDir, 'audit'));
}

/** The keys whose signed audit heads this install accepts: its own and `signing.auditKeys`. */
export function auditKeys(config: LoadedConfig): { id: string; publicKey: string }[] {
  const install = ensureInstallKey(config.dataDir);
  return [{ id: install.keyId, publicKey: install.publicKey }, ...(config.signing.auditKeys ?? [])];
}

/**
 * The built-in tools, confined to the workspace (made if missing); Steward's data directory and
 * its config file are never visible to them, even where the workspace contains them.
 */
export function toolRegistry(
  config: LoadedConfig,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  extra: ToolDefinition<any, any>[] = [],
): WorkerToolRegistry {
  mkdirSync(config.tools.workspace, { recursive: true });
  const protectedPaths = [config.dataDir, ...(config.source ? [config.source] : [])];
  return new WorkerToolRegistry().register(...builtinTools({ ...config.tools, protectedPaths }), ...extra);
}

/**
 * The tools as this install declares them, for checks made without a worker (the CLI's, before it
 * starts a task): the built-ins and the MCP tools as accepted, without connecting to any server.
 */
export function declaredTools(config: LoadedConfig): WorkerToolRegistry {
  const accepted = acceptedMcpTools(config.mcpServers, config.dataDir);
  return toolRegistry(config, accepted.tools).explainMissing((name) => accepted.reasonFor(name));
}

/** An agent this install runs, and where it was defined: `built-in`, the file, or `program`. */
export interface AgentOrigin {
  agent: AgentDefinition;
  from: string;
}

/**
 * The agents this install runs, with where each came from: the built-ins, the config's (steward.yaml
 * and its agent files, checked when it loaded), then `extra` (an embedding program's own). A name
 * defined twice is refused.
 */
export function agentCatalog(config: LoadedConfig, extra: AgentDefinition[] = []): AgentOrigin[] {
  const all: AgentOrigin[] = [
    ...builtinAgents.map((agent) => ({ agent, from: 'built-in' })),
    ...configAgentDefinitions(config.agents as ConfigAgent[]),
    ...extra.map((agent) => ({ agent, from: 'program' })),
  ];
  const seen = new Map<string, string>();
  for (const { agent, from } of all) {
    const earlier = seen.get(agent.name);
    if (earlier)
      throw new AgentDefinitionError(`agent ${agent.name} is defined twice: ${earlier} and ${from}`);
    seen.set(agent.name, from);
  }
  return all;
}

/**
 * The registry of agentCatalog: the worker and the CLI's early check use this one list, so `steward
 * run` knows what the worker knows.
 */
export function agentRegistry(config: LoadedConfig, extra: AgentDefinition[] = []): AgentRegistry {
  return new AgentRegistry(agentCatalog(config, extra).map((a) => a.agent));
}

export interface Workers {
  providers: Map<string, ModelProvider>;
  agents: AgentRegistry;
  tools: WorkerToolRegistry;
  /** Each configured MCP server: connected or why not, and its tools, offered or why not. */
  mcpServers: McpServerStatus[];
  stop(): Promise<void>;
}

export interface WorkerSetup extends ProviderSetup {
  computeNodes?: boolean;
  /**
   * Run the worker of the steward queue (default true). A compute node's process (`steward node`)
   * runs its node's worker only: it neither runs tasks nor resolves them with its narrowed config.
   */
  stewardQueue?: boolean;
  /** Agents besides the built-ins and the config's (a program that embeds Steward brings its own). */
  agents?: AgentDefinition[];
  /** Tools besides the built-ins. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  tools?: ToolDefinition<any, any>[];
  /** The workflow code bundled once (`bundleWorkflowCode`); without it the worker bundles at start. */
  workflowBundle?: WorkflowBundle;
}

/** Runs the steward worker and the configured compute nodes' workers in this process. */
export async function runWorkers(
  config: LoadedConfig,
  address: string,
  logger: Logger,
  options: WorkerSetup = {},
): Promise<Workers> {
  const agents = agentRegistry(config, options.agents);
  // MCP servers connect now (each bounded by its timeout): one that fails leaves its tools out, with the
  // reason. A compute node's process runs compute jobs only; MCP tools run on the steward queue.
  const servers = options.stewardQueue === false ? {} : config.mcpServers;
  // an untrusted stdio server runs sandboxed, without the data directory, config and policy file
  const mcp = await McpTools.connect(servers, {
    dataDir: config.dataDir,
    configFile: config.source,
    policyFile: config.policy.file,
    logger,
  });
  let tools: WorkerToolRegistry;
  let providers: Map<string, ModelProvider>;
  try {
    tools = toolRegistry(config, [...(options.tools ?? []), ...mcp.tools()]);
    tools.explainMissing((name) => mcp.reasonFor(name));
    providers = await createProviders(config, options);
  } catch (err) {
    await mcp.close();
    throw err;
  }
  const { namespace, taskQueue } = config.temporal;
  const telemetry = await startTelemetry(config.telemetry); // undefined unless traces are configured
  const tracing = telemetry?.tracing;
  // the spend ledgers are workflows beside the tasks: reserving in one is a client update
  const clientConnection = await connectClient(address);
  const activities = createStewardActivities({
    config,
    agents,
    providers,
    tools,
    blobs: blobStoreFor(config),
    logger,
    ledger: { client: new Client({ connection: clientConnection, namespace }), taskQueue },
    trustedKeys: trustedKeys(config),
    auditStore: auditStoreFor(config),
    auditKey: ensureInstallKey(config.dataDir),
    carryKeys: auditKeys(config).map((k) => k.publicKey),
    tracing,
  });
  const connection = await connectWorker(address); // TLS and API key from the Temporal profile
  const workers: Worker[] =
    options.stewardQueue === false
      ? []
      : [
          await createStewardWorker({
            connection,
            namespace,
            taskQueue,
            activities,
            workflowBundle: options.workflowBundle,
            telemetry,
          }),
        ];
  const boundaries = config.policy.dataBoundaries ?? DEFAULT_DATA_BOUNDARIES;
  if (options.computeNodes !== false) {
    for (const node of config.computeNodes) {
      workers.push(
        await createComputeNodeWorker({
          connection,
          namespace,
          taskQueue: node.taskQueue,
          // each node refuses jobs whose data its trust tier may not see, whatever the workflow decided
          activities: createActivities({
            providers,
            tools,
            blobs: blobStoreFor(config),
            logger,
            node: { id: node.id, trust: node.trust, boundaries },
            tracing,
          }),
          telemetry,
        }),
      );
    }
  }
  const running = workers.map((w) => w.run());
  return {
    providers,
    agents,
    tools,
    mcpServers: mcp.report(),
    async stop() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.allSettled(running);
      await connection.close();
      await mcp.close();
      await clientConnection.close();
      await Promise.all([...providers.values()].map((p) => p.close?.()));
      await telemetry?.flush().catch(() => undefined); // a receiver that is down loses the last spans only
    },
  };
}

/** What dev-server.json holds: `pid` is the steward process that owns the server (findServer's test). */
interface ServerRecord {
  address: string;
  uiUrl?: string;
  pid: number;
  serverPid?: number;
}

/**
 * Stops a dev server recorded for this data directory whose steward process has died (its watchdog
 * should have stopped it; this is the backstop, e.g. when the watchdog was killed too), so its ports
 * and its SQLite file are free. Only a `temporal server start-dev` on this data directory's database
 * is stopped, never a process that merely reuses the recorded pid.
 */
export async function stopOrphanedServer(
  config: LoadedConfig,
  report?: (line: string) => void,
): Promise<void> {
  const file = devServerFile(config);
  if (!existsSync(file)) return;
  let record: ServerRecord;
  try {
    record = JSON.parse(readFileSync(file, 'utf8')) as ServerRecord;
  } catch {
    return rmSync(file, { force: true }); // half-written by a process that died: nothing to trust
  }
  if (alive(record.pid)) return; // its owner runs: not an orphan
  const dbFile = join(config.dataDir, 'temporal.db');
  const argv = record.serverPid ? commandLine(record.serverPid) : undefined;
  if (argv && argv.includes('start-dev') && argv.includes(dbFile)) {
    report?.(
      `stopping the Temporal dev server (pid ${record.serverPid}) left behind by steward process ${record.pid}`,
    );
    await stopProcessGroup(record.serverPid!);
  }
  rmSync(file, { force: true });
}

/**
 * The embedded default: a Temporal dev server (tuned, Steward's search attributes registered, state
 * kept in the data directory), announced to other steward commands through the data directory.
 *
 * Unless `exitOnSignal` is false, SIGINT/SIGTERM stop the server and end the process (130/143): the
 * Temporal Runtime takes those signals to stop its workers, so a command with no signal handling of
 * its own (`steward run`) would otherwise keep waiting on a task no worker runs. `steward dev` stops
 * its workers before the server and passes false.
 */
export async function startEmbeddedServer(
  config: LoadedConfig,
  options: { port?: number; uiPort?: number; report?: (line: string) => void; exitOnSignal?: boolean } = {},
): Promise<DevServer> {
  const file = devServerFile(config);
  let started: DevServer | undefined;
  const unlisten = (): void => void process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  const stop = async (): Promise<void> => {
    unlisten();
    rmSync(file, { force: true });
    await started?.stop(); // before the server is up, exiting is enough: its watchdog stops it
  };
  const onSignal = (signal: NodeJS.Signals): void =>
    void stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  if (options.exitOnSignal !== false) process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    await stopOrphanedServer(config, options.report);
    started = await startDevServer({
      cliPath: await ensureTemporalCli(options.report),
      port: options.port,
      uiPort: options.uiPort,
      dbFile: join(config.dataDir, 'temporal.db'),
      namespace: config.temporal.namespace,
    });
  } catch (err) {
    unlisten();
    throw err;
  }
  const record: ServerRecord = {
    address: started.address,
    uiUrl: started.uiUrl,
    pid: process.pid,
    serverPid: started.pid,
  };
  writeFileSync(file, JSON.stringify(record));
  return { ...started, stop };
}
