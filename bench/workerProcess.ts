/**
 * One worker in a process of its own, so the driver can read its CPU time and RSS from /proc without
 * counting the client: either Steward's worker (createStewardWorker with the bench agents, tools and a
 * model route to the bench's model server) or a bare Temporal worker with the baseline workflows.
 * Started by bench/run.ts with fork(); talks to it over IPC.
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { mkdtempSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import pino from 'pino';
import { createStewardActivities } from '../src/activities';
import { AgentRegistry } from '../src/agents';
import { parseConfig } from '../src/config/load';
import { createProviders } from '../src/providers';
import { auditStoreFor, trustedKeys } from '../src/runtime/localStack';
import { createStewardWorker } from '../src/runtime/worker';
import { BlobStore } from '../src/stores/blobStore';
import { ensureInstallKey } from '../src/stores/keys';
import { ToolRegistry } from '../src/tools/registry';
import { benchAgents, readTool, writeTool } from './agents';
import type { BareActivities } from './bareWorkflow';

export interface WorkerProcessOptions {
  kind: 'steward' | 'bare';
  address: string;
  taskQueue: string;
  /** The workflow bundle, built once by the driver (bundling takes seconds). */
  bundlePath: string;
  modelUrl: string;
  /** Steward's data directory, shared with the driver: the install key there signs the bench's decisions. */
  dataDir: string;
  /** Steward's worker: createStewardWorker's default (200) when absent. Bare: the SDK's default. */
  maxCachedWorkflows?: number;
  /**
   * Experiment: run the workflows on the main thread (the SDK's debugMode), so a heap snapshot of
   * this process shows what a cached workflow holds. Steward's worker is then built here with
   * createStewardWorker's options plus debugMode.
   */
  debugMode?: boolean;
  /**
   * Steward's worker: where it writes audit trails (bench/audit.ts). `local`: files under the data
   * directory, heads signed with the install key; `none`: `stores.audit: none`, so its tasks run no
   * export. Absent: the config's default and no store or key passed (the export runs and writes nothing).
   */
  audit?: 'local' | 'none';
}

export type ToParent =
  | { type: 'ready'; pid: number; maxCachedWorkflows: number; heapLimitMb: number }
  | { type: 'started'; id: string; at: number }
  | { type: 'memory'; rssMb: number; heapUsedMb: number; externalMb: number }
  | { type: 'heapSnapshot'; path: string }
  | { type: 'failed'; error: string };

export type ToChild = { type: 'memory' } | { type: 'heapSnapshot'; dir: string } | { type: 'stop' };

function send(message: ToParent): void {
  process.send!(message);
}

/** The moment an approved action starts, for W3's latency (the driver matches it to the update it sent). */
const reportStart = (id: string): void => send({ type: 'started', id, at: Date.now() });

async function createWorker(options: WorkerProcessOptions, connection: NativeConnection): Promise<Worker> {
  const workflowBundle = { code: readFileSync(options.bundlePath, 'utf8') };
  if (options.kind === 'bare') {
    const activities: BareActivities = {
      noop: async (step) => ({ step }),
      work: async (id) => {
        reportStart(id);
        return id;
      },
      chat: async (step) => {
        const response = await fetch(`${options.modelUrl}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'bench-model',
            messages: [{ role: 'user', content: `step ${step}` }],
            max_tokens: 256,
          }),
        });
        if (!response.ok) throw new Error(`model server answered HTTP ${response.status}`);
        const body = (await response.json()) as { choices: Array<{ message: unknown }> };
        return JSON.stringify(body.choices[0]!.message);
      },
    };
    return Worker.create({
      connection,
      taskQueue: options.taskQueue,
      workflowBundle,
      activities,
      ...(options.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: options.maxCachedWorkflows } : {}),
    });
  }
  // beside the data directory, in the driver's directory, which the driver removes at the end
  const dir = mkdtempSync(join(dirname(options.dataDir), 'worker-'));
  const config = parseConfig(
    {
      dataDir: options.dataDir,
      providers: { bench: { kind: 'openai-compatible', baseURL: options.modelUrl } },
      models: [
        {
          id: 'bench',
          provider: 'bench',
          model: 'bench-model',
          trust: 'local',
          price: { inputPerMTok: 0, outputPerMTok: 0 },
        },
      ],
      policy: { approval: { approvers: ['bench'] } },
      tools: { workspace: join(dir, 'workspace') },
      // bench/audit.ts's long task takes 150 steps (the default limit is 20)
      ...(options.audit ? { stores: { audit: { kind: options.audit } }, limits: { maxSteps: 200 } } : {}),
    },
    'bench config',
  );
  const activities = createStewardActivities({
    config,
    agents: new AgentRegistry(benchAgents),
    providers: await createProviders(config),
    tools: new ToolRegistry().register(readTool, writeTool(reportStart)),
    blobs: new BlobStore(join(dir, 'blobs')),
    logger: pino({ level: 'silent' }),
    trustedKeys: trustedKeys(config),
    ...(options.audit
      ? { auditStore: auditStoreFor(config), auditKey: ensureInstallKey(config.dataDir) }
      : {}),
  });
  if (options.debugMode) {
    return Worker.create({
      connection,
      taskQueue: options.taskQueue,
      workflowBundle,
      activities,
      maxCachedWorkflows: options.maxCachedWorkflows ?? 200,
      debugMode: true,
    });
  }
  return createStewardWorker({
    connection,
    taskQueue: options.taskQueue,
    activities,
    workflowBundle,
    maxCachedWorkflows: options.maxCachedWorkflows,
  });
}

async function main(): Promise<void> {
  const options = JSON.parse(process.env.BENCH_WORKER ?? '') as WorkerProcessOptions;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const connection = await NativeConnection.connect({ address: options.address });
  const worker = await createWorker(options, connection);
  const running = worker.run();
  process.on('message', (message: ToChild) => {
    if (message.type === 'memory') {
      (globalThis as { gc?: () => void }).gc?.(); // the driver forks with --expose-gc
      const m = process.memoryUsage();
      send({
        type: 'memory',
        rssMb: m.rss / 2 ** 20,
        heapUsedMb: m.heapUsed / 2 ** 20,
        externalMb: m.external / 2 ** 20,
      });
    } else if (message.type === 'heapSnapshot') {
      (globalThis as { gc?: () => void }).gc?.();
      const path = writeHeapSnapshot(join(message.dir, `${options.kind}-${Date.now()}.heapsnapshot`));
      send({ type: 'heapSnapshot', path });
    } else if (message.type === 'stop') {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    }
  });
  send({
    type: 'ready',
    pid: process.pid,
    maxCachedWorkflows: worker.options.maxCachedWorkflows,
    heapLimitMb: (await import('node:v8')).getHeapStatistics().heap_size_limit / 2 ** 20,
  });
  await running;
  await connection.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    send({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    process.exit(1);
  },
);
