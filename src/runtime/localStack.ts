import { NativeConnection, type Worker } from '@temporalio/worker';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createStewardActivities } from '../activities';
import { AgentRegistry } from '../agents';
import type { LoadedConfig } from '../config/load';
import { createProviders, type ProviderSetup } from '../providers';
import type { ModelProvider } from '../providers/types';
import { builtinTools } from '../tools/builtin';
import { ToolRegistry } from '../tools/registry';
import { BlobStore } from './blobStore';
import { startDevServer, type DevServer } from './devServer';
import { ensureTemporalCli } from './temporalCli';
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

/** The Temporal address to use: TEMPORAL_ADDRESS or config, else a running `steward dev`, else none. */
export function findServer(
  config: LoadedConfig,
): { address: string; uiUrl?: string; embedded: boolean } | undefined {
  if (config.temporal.address) return { address: config.temporal.address, embedded: false };
  const file = devServerFile(config);
  if (!existsSync(file)) return undefined;
  const info = JSON.parse(readFileSync(file, 'utf8')) as { address: string; uiUrl?: string; pid: number };
  return alive(info.pid) ? { ...info, embedded: true } : undefined;
}

/** The blob store every process of this install shares (workers must share its directory). */
export function blobStoreFor(config: LoadedConfig): BlobStore {
  return new BlobStore(join(config.dataDir, 'blobs'));
}

export function toolRegistry(config: LoadedConfig): ToolRegistry {
  return new ToolRegistry().register(...builtinTools(config.tools));
}

export interface Workers {
  providers: Map<string, ModelProvider>;
  stop(): Promise<void>;
}

/** Runs the steward worker and the configured compute nodes' workers in this process. */
export async function runWorkers(
  config: LoadedConfig,
  address: string,
  logger: Logger,
  options: ProviderSetup & { computeNodes?: boolean } = {},
): Promise<Workers> {
  const providers = await createProviders(config, options);
  const activities = createStewardActivities({
    config,
    agents: new AgentRegistry(),
    providers,
    tools: toolRegistry(config),
    blobs: blobStoreFor(config),
    logger,
  });
  const connection = await NativeConnection.connect({ address });
  const { namespace, taskQueue } = config.temporal;
  const workers: Worker[] = [await createStewardWorker({ connection, namespace, taskQueue, activities })];
  if (options.computeNodes !== false) {
    for (const node of config.computeNodes) {
      workers.push(
        await createComputeNodeWorker({ connection, namespace, taskQueue: node.taskQueue, activities }),
      );
    }
  }
  const running = workers.map((w) => w.run());
  return {
    providers,
    async stop() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.allSettled(running);
      await connection.close();
      await Promise.all([...providers.values()].map((p) => p.close?.()));
    },
  };
}

/**
 * The embedded default: a Temporal dev server (tuned, Steward's search attributes registered, state
 * kept in the data directory), announced to other steward commands through the data directory.
 */
export async function startEmbeddedServer(
  config: LoadedConfig,
  options: { port?: number; uiPort?: number; report?: (line: string) => void } = {},
): Promise<DevServer> {
  const cliPath = await ensureTemporalCli(options.report);
  const server = await startDevServer({
    cliPath,
    port: options.port,
    uiPort: options.uiPort,
    dbFile: join(config.dataDir, 'temporal.db'),
    namespace: config.temporal.namespace,
  });
  const file = devServerFile(config);
  writeFileSync(file, JSON.stringify({ address: server.address, uiUrl: server.uiUrl, pid: server.pid }));
  return {
    ...server,
    async stop() {
      rmSync(file, { force: true });
      await server.stop();
    },
  };
}
