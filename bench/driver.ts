/**
 * What the bench drives: worker processes (bench/workerProcess.ts) and the two sides of every
 * workload, Steward's agentRun and the bare Temporal baseline, behind one interface.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { StewardClient } from '../src/runtime/client';
import { ensureInstallKey } from '../src/stores/keys';
import { AGENT_APPROVAL, AGENT_MODEL, AGENT_STEPS, MODEL_CALLS_PER_TASK, STEPS_PER_TASK } from './agents';
import { approveUpdate } from './bareWorkflow';
import { rssMb } from './procStats';
import type { ToChild, ToParent, WorkerProcessOptions } from './workerProcess';

export type Kind = 'steward' | 'bare';

// ---- small helpers -----------------------------------------------------------------------------------

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function spread(values: number[]) {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
    max: Math.max(...values),
    min: Math.min(...values),
  };
}

/** Runs fn(0..n-1) with at most `concurrency` in flight. */
export async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const runner = async (): Promise<void> => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, runner));
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

// ---- worker processes ----------------------------------------------------------------------------------

export class WorkerChild {
  private readonly starts = new Map<string, (at: number) => void>();
  private readonly early = new Map<string, number>();
  private memoryWaiter?: (m: Extract<ToParent, { type: 'memory' }>) => void;
  private snapshotWaiter?: (path: string) => void;
  private readonly exited: Promise<number | null>;
  pid = 0;
  maxCachedWorkflows = 0;
  heapLimitMb = 0;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async start(options: WorkerProcessOptions, cpuProfDir?: string): Promise<WorkerChild> {
    const child = fork(join(__dirname, 'workerProcess.ts'), [], {
      env: { ...process.env, BENCH_WORKER: JSON.stringify(options) },
      execArgv: [
        ...process.execArgv,
        '--expose-gc',
        ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []),
      ],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const worker = new WorkerChild(child);
    await new Promise<void>((resolve, reject) => {
      child.on('message', (message: ToParent) => {
        switch (message.type) {
          case 'ready':
            worker.pid = message.pid;
            worker.maxCachedWorkflows = message.maxCachedWorkflows;
            worker.heapLimitMb = message.heapLimitMb;
            resolve();
            break;
          case 'failed':
            reject(new Error(`${options.kind} worker failed: ${message.error}`));
            break;
          case 'started': {
            const waiter = worker.starts.get(message.id);
            if (waiter) {
              worker.starts.delete(message.id);
              waiter(message.at);
            } else worker.early.set(message.id, message.at);
            break;
          }
          case 'memory':
            worker.memoryWaiter?.(message);
            break;
          case 'heapSnapshot':
            worker.snapshotWaiter?.(message.path);
            break;
        }
      });
      child.once('exit', (code) => reject(new Error(`${options.kind} worker exited (${code}) before ready`)));
    });
    return worker;
  }

  /** Resolves with the moment the approved action of `id` started in the worker. */
  startOf(id: string): Promise<number> {
    const at = this.early.get(id);
    if (at !== undefined) {
      this.early.delete(id);
      return Promise.resolve(at);
    }
    return new Promise((resolve) => this.starts.set(id, resolve));
  }

  /** RSS now (from /proc), then after a full GC as the worker reports it. */
  async memory(): Promise<{ rssMb: number; rssAfterGcMb: number; heapUsedMb: number; peakRssMb: number }> {
    const rss = rssMb(this.pid);
    const peak = rssMb(this.pid, true);
    const reply = new Promise<Extract<ToParent, { type: 'memory' }>>((r) => (this.memoryWaiter = r));
    this.child.send({ type: 'memory' } satisfies ToChild);
    const m = await reply;
    return {
      rssMb: round(rss),
      rssAfterGcMb: round(m.rssMb),
      heapUsedMb: round(m.heapUsedMb),
      peakRssMb: round(peak),
    };
  }

  /** Writes a heap snapshot of the worker process into `dir` (of the workflows too, in debugMode). */
  async heapSnapshot(dir: string): Promise<string> {
    const reply = new Promise<string>((r) => (this.snapshotWaiter = r));
    this.child.send({ type: 'heapSnapshot', dir } satisfies ToChild);
    return reply;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) this.child.send({ type: 'stop' } satisfies ToChild);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(timer);
  }
}

// ---- the two sides -----------------------------------------------------------------------------------

export interface Side {
  kind: Kind;
  worker: WorkerChild;
  /** More worker processes polling the same task queue (`--workers=N`); CPU counts them all. */
  others?: WorkerChild[];
  /** W1/W2: one task of 10 no-op steps, to completion. */
  runSteps(id: string): Promise<void>;
  /** The bare side only: the same 10 steps as local activities (a reference for W1/W2). */
  runStepsLocal?(id: string): Promise<void>;
  /** W3/W4: a task that parks on an approval. */
  startParked(id: string): Promise<void>;
  /** Sends the approval (update) and waits until it is accepted. */
  approve(id: string): Promise<void>;
  result(id: string): Promise<void>;
  /** W5: one task of five model calls, to completion. */
  runModel(id: string): Promise<void>;
}

/** Decisions are signed with the install key of `dataDir`, which the bench's Steward workers trust. */
export function stewardSide(client: Client, taskQueue: string, worker: WorkerChild, dataDir: string): Side {
  const { keyId, privateKey } = ensureInstallKey(dataDir);
  const steward = new StewardClient(client, taskQueue, undefined, { keyId, privateKey });
  // Every bench-approval task asks approval for the same call (same tool definition, input and
  // policy), so one state query, of the first task approved, names the request for all of them.
  let pending: { approvalId: string; digest: string } | undefined;
  const completed = async (id: string) => {
    const result = await steward.result(id);
    if (result.status !== 'completed') throw new Error(`steward task ${id} stopped: ${result.detail}`);
  };
  return {
    kind: 'steward',
    worker,
    async runSteps(id) {
      await steward.start({ agent: AGENT_STEPS, principal: 'bench', taskId: id });
      await completed(id);
    },
    async startParked(id) {
      await steward.start({ agent: AGENT_APPROVAL, principal: 'bench', taskId: id });
    },
    async approve(id) {
      if (!pending) {
        const request = (await steward.state(id)).pendingApproval;
        if (!request) throw new Error(`steward task ${id} is not waiting for an approval`);
        pending = { approvalId: request.id, digest: request.digest };
      }
      await steward.decide(id, { identity: 'bench', decision: 'approve', ...pending });
    },
    result: completed,
    async runModel(id) {
      await steward.start({ agent: AGENT_MODEL, principal: 'bench', taskId: id, input: 'go' });
      await completed(id);
    },
  };
}

export function bareSide(client: Client, taskQueue: string, worker: WorkerChild): Side {
  return {
    kind: 'bare',
    worker,
    async runSteps(id) {
      await client.workflow.execute('bareSteps', { taskQueue, workflowId: id, args: [STEPS_PER_TASK] });
    },
    async runStepsLocal(id) {
      await client.workflow.execute('bareLocalSteps', { taskQueue, workflowId: id, args: [STEPS_PER_TASK] });
    },
    async startParked(id) {
      await client.workflow.start('bareApproval', { taskQueue, workflowId: id, args: [id] });
    },
    async approve(id) {
      await client.workflow.getHandle(id).executeUpdate(approveUpdate, { args: ['bench'] });
    },
    async result(id) {
      await client.workflow.getHandle(id).result();
    },
    async runModel(id) {
      await client.workflow.execute('bareModel', { taskQueue, workflowId: id, args: [MODEL_CALLS_PER_TASK] });
    },
  };
}

/** Parked: its first workflow task has completed and nothing is pending but the wait (same test for both). */
export async function waitParked(client: Client, id: string): Promise<void> {
  for (;;) {
    const d = await client.workflow.getHandle(id).describe();
    if (d.status.name !== 'RUNNING') throw new Error(`${id} is ${d.status.name}, not parked`);
    if (d.historyLength >= 4 && !d.raw.pendingWorkflowTask) return;
    await sleep(10);
  }
}

/** Applies `f` to every figure of a spread but its count `n`. */
export function mapValues<T extends Record<string, number>>(o: T, f: (v: number) => number): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, k === 'n' ? v : f(v)])) as T;
}

/** Bundles the bare workflow code (Steward's: `bundleStewardWorkflows`, as its worker does). */
export async function bundleCode(workflowsPath: string): Promise<string> {
  const bundle = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('ERROR') });
  return bundle.code;
}
