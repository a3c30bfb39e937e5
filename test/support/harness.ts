import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { createActivities, createStewardActivities } from '../../src/activities';
import { AgentRegistry } from '../../src/agents';
import type { AgentDefinition } from '../../src/agents/definition';
import { parseConfig, type LoadedConfig } from '../../src/config/load';
import type { StewardConfigInput } from '../../src/config/schema';
import { OpenAICompatibleProvider } from '../../src/providers/openaiCompatible';
import type { ModelProvider } from '../../src/providers/types';
import { BlobStore } from '../../src/stores/blobStore';
import { ed25519 } from '@noble/curves/ed25519';
import { keyFingerprint, publicKeyOf } from '../../src/audit/signing';
import { FileAuditStore, type AuditStore } from '../../src/stores/auditStore';
import { StewardClient, type Signer } from '../../src/runtime/client';
import { startTelemetry } from '../../src/runtime/telemetry';
import { createComputeNodeWorker, createStewardWorker } from '../../src/runtime/worker';
import { builtinTools } from '../../src/tools/builtin';
import { ToolRegistry, type ToolDefinition } from '../../src/tools/registry';
import type { TaskLimits } from '../../src/shared/types';
import type { TaskRequest } from '../../src/workflows/contract';
import { MockOpenAI } from './mockOpenAI';

let counter = 0;
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}

export function testAddress(): string {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address)
    throw new Error(
      'TEMPORAL_ADDRESS is not set: run the tests through jest, whose global setup starts a server',
    );
  return address;
}

export function workflowBundle(): { code: string } {
  return { code: readFileSync(process.env.STEWARD_TEST_BUNDLE!, 'utf8') };
}

export interface HarnessOptions {
  config?: StewardConfigInput;
  /** Providers besides the two mock endpoints (`mock` and `mock2`). */
  providers?: Record<string, ModelProvider>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  tools?: ToolDefinition<any, any>[];
  /** Start a compute node worker for the `local` node (default true). */
  computeNode?: boolean;
  /** The workers' audit store, when not the harness's own files (a test's failing or PostgreSQL store). */
  auditStore?: AuditStore;
}

/** A task to start: the request a caller sends, and the worker configuration it should run under. */
export interface TaskStart extends TaskRequest {
  taskId: string;
  config: LoadedConfig;
}

/**
 * A real Steward deployment for one test file: two local OpenAI-compatible servers, a steward worker
 * and a compute node on their own task queues, on the suite's Temporal dev server.
 */
export class Harness {
  readonly mock = new MockOpenAI();
  readonly mock2 = new MockOpenAI();
  readonly dir = mkdtempSync(join(process.env.STEWARD_TEST_DIR ?? '/tmp', 'harness-'));
  readonly workspace = join(this.dir, 'workspace');
  readonly blobs = new BlobStore(join(this.dir, 'blobs'));
  readonly taskQueue = uniqueName('steward');
  readonly nodeQueue = uniqueName('node');
  readonly tools = new ToolRegistry();
  readonly agents = new AgentRegistry();
  /** The test's decision-signing key, trusted by its workers like an install's own key. */
  readonly signer: Signer = { keyId: 'harness', privateKey: ed25519.utils.randomPrivateKey() };
  /**
   * Where its workers write audit trails: files under `data/audit`, where a CLI run with
   * `dataDir: <dir>/data` finds them, and the key that signs their heads.
   */
  readonly auditStore: AuditStore = new FileAuditStore(join(this.dir, 'data', 'audit'));
  readonly auditKey = (() => {
    const privateKey = ed25519.utils.randomPrivateKey();
    const publicKey = publicKeyOf(privateKey);
    return { keyId: `harness-audit-${keyFingerprint(publicKey)}`, publicKey, privateKey };
  })();
  client!: StewardClient;
  private workers: Worker[] = [];
  private running: Promise<void>[] = [];
  private connection?: NativeConnection;
  private providers = new Map<string, ModelProvider>();
  private ledgerClient?: Client;
  /** A steward worker per distinct configuration: the worker, not the caller, owns a task's rules. */
  private readonly queues = new Map<string, Promise<string>>();

  constructor(private readonly options: HarnessOptions = {}) {
    mkdirSync(this.workspace, { recursive: true });
  }

  config() {
    return parseConfig(
      {
        providers: {
          mock: { kind: 'openai-compatible', baseURL: this.mock.url },
          mock2: { kind: 'openai-compatible', baseURL: this.mock2.url },
        },
        models: [
          {
            id: 'primary',
            provider: 'mock',
            model: 'mock-large',
            trust: 'public',
            price: { inputPerMTok: 1, outputPerMTok: 2 },
          },
        ],
        computeNodes: [{ id: 'local', taskQueue: this.nodeQueue, trust: 'local' }],
        tools: { workspace: this.workspace, httpAllowlist: ['http://127.0.0.1'] },
        policy: { approval: { approvers: ['alice'] } },
        ...this.options.config,
      },
      'test config',
    );
  }

  async start(): Promise<this> {
    await Promise.all([this.mock.start(), this.mock2.start()]);
    const config = this.config();
    this.tools.register(...builtinTools(config.tools), ...(this.options.tools ?? []));
    this.providers = new Map<string, ModelProvider>([
      ['mock', new OpenAICompatibleProvider({ name: 'mock', baseURL: this.mock.url })],
      ['mock2', new OpenAICompatibleProvider({ name: 'mock2', baseURL: this.mock2.url })],
      ...Object.entries(this.options.providers ?? {}),
    ]);
    this.connection = await NativeConnection.connect({ address: testAddress() });
    this.ledgerClient = new Client({ connection: await Connection.connect({ address: testAddress() }) });
    this.queues.set(JSON.stringify(config), this.startStewardWorker(config, this.taskQueue));
    await this.queues.get(JSON.stringify(config));
    if (this.options.computeNode !== false) {
      const activities = createActivities({
        providers: this.providers,
        tools: this.tools,
        blobs: this.blobs,
        logger: pino({ level: 'silent' }),
      });
      const node = await createComputeNodeWorker({
        connection: this.connection,
        taskQueue: this.nodeQueue,
        activities,
      });
      this.workers.push(node);
      this.running.push(node.run());
    }
    const connection = await Connection.connect({ address: testAddress() });
    this.client = new StewardClient(
      new Client({ connection }),
      this.taskQueue,
      this.blobs,
      this.signer,
      this.auditStore,
    );
    return this;
  }

  private async startStewardWorker(config: LoadedConfig, taskQueue: string): Promise<string> {
    const telemetry = await startTelemetry(config.telemetry); // a config with telemetry traces its tasks
    const activities = createStewardActivities({
      config,
      agents: this.agents,
      providers: this.providers,
      tools: this.tools,
      blobs: this.blobs,
      logger: pino({ level: 'silent' }),
      ledger: { client: this.ledgerClient!, taskQueue },
      trustedKeys: [
        { id: this.signer.keyId, publicKey: publicKeyOf(this.signer.privateKey), signsFor: ['*'] },
        ...config.signing.trustedKeys,
      ],
      auditStore: this.options.auditStore ?? this.auditStore,
      auditKey: this.auditKey,
      tracing: telemetry?.tracing,
    });
    const worker = await createStewardWorker({
      connection: this.connection!,
      taskQueue,
      activities,
      workflowBundle: workflowBundle(),
      telemetry,
    });
    this.workers.push(worker);
    this.running.push(worker.run());
    return taskQueue;
  }

  /**
   * A task of `agent` (registered with the workers if new) as a caller would request it; `limits`
   * become the request's narrowing, and `config` is the configuration of the worker that runs it.
   */
  spec(
    agent: AgentDefinition,
    request: { input?: unknown; principal?: string; limits?: Partial<TaskLimits>; taskId?: string } = {},
    config = this.config(),
  ): TaskStart {
    if (!this.agents.has(agent.name)) this.agents.register(agent);
    const { limits, ...rest } = request;
    return {
      principal: 'bob',
      taskId: uniqueName(agent.name),
      ...rest,
      agent: agent.name,
      ...(limits ? { narrow: { limits } } : {}),
      config,
    };
  }

  /** Starts the task on a worker with its configuration (started once per distinct configuration). */
  async launch(task: TaskStart) {
    const { config, ...request } = task;
    const key = JSON.stringify(config);
    if (!this.queues.has(key)) this.queues.set(key, this.startStewardWorker(config, uniqueName('steward')));
    const taskQueue = await this.queues.get(key)!;
    // with telemetry, the start is the first span of the task's trace
    const telemetry = await startTelemetry(config.telemetry);
    const client = telemetry
      ? new Client({
          connection: this.client.client.connection,
          interceptors: { workflow: telemetry.clientInterceptors },
        })
      : this.client.client;
    return new StewardClient(client, taskQueue, this.blobs, this.signer, this.auditStore).start(request);
  }

  writeWorkspaceFile(path: string, content: string): void {
    writeFileSync(join(this.workspace, path), content);
  }

  async stop(): Promise<void> {
    for (const w of this.workers) w.shutdown();
    await Promise.all(this.running);
    await this.client?.close();
    await this.ledgerClient?.connection.close();
    await this.connection?.close();
    await Promise.all([this.mock.stop(), this.mock2.stop()]);
  }
}

/** Polls until `check` returns a value other than undefined; fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
  );
}
