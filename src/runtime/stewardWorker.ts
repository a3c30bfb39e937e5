import type { WorkflowBundle } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { AgentDefinition } from '../agents/definition';
import { isLoadedConfig, loadConfig, parseConfig, type LoadedConfig } from '../config/load';
import type { StewardConfigInput } from '../config/schema';
import type { ModelFetchProgress } from '../weights';
import type { McpServerStatus } from '../tools/mcp/source';
import type { ToolDefinition } from '../tools/registry';
import { StewardClient } from './client';
import type { DevServer } from './devServer';
import {
  auditStoreFor,
  blobStoreFor,
  installSigner,
  findServer,
  runWorkers,
  startEmbeddedServer,
  type Workers,
} from './localStack';
import { getLogger } from './logger';
import { installTemporalRuntime } from './temporalRuntime';

export interface CreateWorkerOptions {
  /**
   * The configuration: an object shaped like `steward.yaml`, the path of a YAML file, or what
   * `loadConfig`/`parseConfig` returned. Default: `STEWARD_CONFIG`, else `./steward.yaml`, else the defaults.
   */
  config?: StewardConfigInput | LoadedConfig | string;
  /** Relative paths in an object `config` (workspace, dataDir) are relative to this (default: cwd). */
  baseDir?: string;
  /** Your agents, besides the built-ins and those in the config. Checked like built-ins. */
  agents?: AgentDefinition[];
  /** Your tools, besides the built-ins. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  tools?: ToolDefinition<any, any>[];
  /**
   * The Temporal server. Default: `TEMPORAL_ADDRESS` or `temporal.address` in the config, else a
   * running `steward dev` for the same data directory, else (with `embedded`) a dev server started here.
   */
  address?: string;
  /**
   * Start a Temporal dev server in this process when no server is known (the Temporal CLI is found
   * or built as for `steward dev`; state kept in the data directory). Stopped by `stop()`, and on
   * SIGINT/SIGTERM.
   */
  embedded?: boolean | { port?: number; uiPort?: number };
  /** Also run the configured compute nodes' workers here (default true). */
  computeNodes?: boolean;
  /** Defaults to Steward's process logger (JSON on stderr; `STEWARD_LOG_LEVEL`). */
  logger?: Logger;
  /** Progress of fetching the embedded model's weights on first use. */
  onModelProgress?: (progress: ModelFetchProgress) => void;
  /**
   * Workflow code bundled once with `bundleWorkflowCode` (tests share one); else bundled at start. With
   * traces on (`telemetry`), the worker uses its own bundle, which includes the tracing interceptors.
   */
  workflowBundle?: WorkflowBundle;
}

/** A running Steward worker (and compute nodes), with the server it runs against. */
export interface StewardWorker {
  readonly config: LoadedConfig;
  readonly address: string;
  /** The Temporal UI, when this process started the dev server. */
  readonly uiUrl?: string;
  /** The names of the agents this worker runs. */
  readonly agents: string[];
  /** The names of the tools this worker runs. */
  readonly tools: string[];
  /** Each configured MCP server: connected or why not, and its tools, offered or why not. */
  readonly mcpServers: McpServerStatus[];
  /** A client for this worker's server, namespace and task queue; closed by `stop()`. */
  client(): Promise<StewardClient>;
  /** Stops the workers, closes the clients, and stops the dev server if this process started it. */
  stop(): Promise<void>;
}

function resolveConfig(options: CreateWorkerOptions): LoadedConfig {
  const { config, baseDir } = options;
  if (config === undefined) return loadConfig();
  if (typeof config === 'string') return loadConfig(config);
  return isLoadedConfig(config) ? config : parseConfig(config, 'config', baseDir);
}

let runtimeInstalled = false;

/** Runtime.install may run once per process, before any connection; a host may have done it already. */
function installRuntimeOnce(logger: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    installTemporalRuntime(logger);
  } catch {
    // installed already (by the host program or a test setup): its logger stays
  }
}

/**
 * Runs a Steward worker with your agents and tools: the built-ins plus yours plus the config's,
 * under the config's policy, limits, routes and compute nodes. Tasks start through `client()` (or
 * any `StewardClient` on the same server and task queue).
 */
export async function createWorker(options: CreateWorkerOptions = {}): Promise<StewardWorker> {
  const config = resolveConfig(options);
  const logger = options.logger ?? getLogger();
  installRuntimeOnce(logger);
  let server: DevServer | undefined;
  let address = options.address ?? findServer(config)?.address;
  let uiUrl = address ? findServer(config)?.uiUrl : undefined;
  if (!address) {
    if (!options.embedded) {
      throw new Error(
        'no Temporal server: pass address, set TEMPORAL_ADDRESS, run `steward dev`, or pass embedded: true',
      );
    }
    const ports = typeof options.embedded === 'object' ? options.embedded : {};
    server = await startEmbeddedServer(config, { ...ports, report: (line) => logger.info(line) });
    address = server.address;
    uiUrl = server.uiUrl;
  }
  let workers: Workers;
  try {
    workers = await runWorkers(config, address, logger, {
      agents: options.agents,
      tools: options.tools,
      computeNodes: options.computeNodes,
      onModelProgress: options.onModelProgress,
      workflowBundle: options.workflowBundle,
    });
  } catch (err) {
    await server?.stop();
    throw err;
  }
  const clients: StewardClient[] = [];
  let stopping: Promise<void> | undefined;
  const serverAddress = address;
  return {
    config,
    address: serverAddress,
    uiUrl,
    agents: workers.agents.list().map((a) => a.name),
    tools: workers.tools.names(),
    mcpServers: workers.mcpServers,
    async client() {
      const client = await StewardClient.connect(
        serverAddress,
        config.temporal.namespace,
        config.temporal.taskQueue,
        blobStoreFor(config),
        installSigner(config), // its decisions are signed with this install's key, which the worker trusts
        auditStoreFor(config),
        config.telemetry,
      );
      clients.push(client);
      return client;
    },
    stop() {
      stopping ??= (async () => {
        await Promise.allSettled(clients.map((c) => c.close()));
        try {
          await workers.stop();
        } finally {
          await server?.stop();
        }
      })();
      return stopping;
    },
  };
}
