import { randomUUID } from 'node:crypto';
import { Client, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { AuditEntry } from '../audit/chain';
import type { SignedHead } from '../audit/head';
import {
  approvalToSign,
  cancelToSign,
  signDecision,
  type DecisionSignature,
  type SignedDecision,
} from '../audit/signing';
import type { ApprovalOutcome } from '../policies/approval';
import type { agentRun } from '../workflows/agentRun';
import { approveUpdate, auditQuery, cancelSignal, stateQuery } from '../workflows/messages';
import {
  StewardAgent,
  StewardPrincipal,
  StewardSpendUsd,
  StewardStatus,
  StewardStep,
} from '../workflows/searchAttributes';
import type { TaskRequest, TaskResult, TaskState } from '../workflows/contract';
import type { BlobStore } from '../stores/blobStore';
import type { AuditStore } from '../stores/auditStore';
import { connectClient } from './connection';
import { startTelemetry, type Telemetry } from './telemetry';
import type { TelemetrySettings } from '../config/telemetrySchema';
import { StewardError } from '../errors';
import { MAX_NESTING, nestsDeeperThan } from '../shared/depth';

export interface TaskSummary {
  taskId: string;
  agent?: string;
  principal?: string;
  status: string;
  step?: number;
  spendUsd?: number;
  startTime: Date;
}

/** A key that signs decisions: this install's, or the front door's. */
export interface Signer {
  keyId: string;
  privateKey: Uint8Array;
}

export class TaskNotFound extends StewardError {}

export function newTaskId(agent: string): string {
  return `${agent}-${randomUUID().slice(0, 8)}`;
}

/** The one way interfaces talk to tasks: start, watch, decide, cancel, list. */
export class StewardClient {
  /**
   * @param signer the key that signs this client's decisions (approve, reject, cancel): tasks accept
   * only decisions signed by a key their worker trusts.
   */
  constructor(
    readonly client: Client,
    readonly taskQueue: string,
    private readonly blobs?: BlobStore,
    private readonly signer?: Signer,
    readonly auditStore?: AuditStore,
    /** Flushed when the client closes (its `client` carries the tracing interceptors). */
    private readonly telemetry?: Telemetry,
  ) {}

  /** @param telemetry the config's `telemetry`: when traces are on, a task's trace starts here. */
  static async connect(
    address: string,
    namespace: string,
    taskQueue: string,
    blobs?: BlobStore,
    signer?: Signer,
    auditStore?: AuditStore,
    telemetry?: TelemetrySettings,
  ): Promise<StewardClient> {
    const traces = await startTelemetry(telemetry);
    const connection = await connectClient(address); // TLS and API key from the Temporal profile
    const interceptors = traces ? { workflow: traces.clientInterceptors } : undefined;
    return new StewardClient(
      new Client({ connection, namespace, ...(interceptors ? { interceptors } : {}) }),
      taskQueue,
      blobs,
      signer,
      auditStore,
      traces,
    );
  }

  async close(): Promise<void> {
    await this.telemetry?.flush().catch(() => undefined);
    await this.client.connection.close();
  }

  /**
   * Starts a task: which agent, its input, on whose behalf, optionally narrowed. The worker resolves
   * the rest from its own configuration and refuses (stops the task with `refused`) what it will not run.
   */
  async start(
    request: TaskRequest & { taskId?: string; description?: string },
  ): Promise<WorkflowHandle<typeof agentRun>> {
    const { taskId = newTaskId(request.agent), description, ...start } = request;
    // refused before any walk or payload conversion recurses into it (and before Temporal sees it)
    if (nestsDeeperThan(start.input, MAX_NESTING))
      throw new StewardError(
        `input: nested deeper than ${MAX_NESTING} levels of arrays and objects (the limit is ${MAX_NESTING})`,
      );
    // Large task input goes to the blob store; history carries its hash.
    if (this.blobs && start.input !== undefined) start.input = await this.blobs.externalize(start.input);
    return this.client.workflow.start<typeof agentRun>('agentRun', {
      taskQueue: this.taskQueue,
      workflowId: taskId,
      // a task id names one task forever: a closed task's id is not started again
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      args: [start],
      memo: { agent: start.agent, principal: start.principal },
      staticSummary: `${start.agent} for ${start.principal}`,
      ...(description ? { staticDetails: description } : {}),
      typedSearchAttributes: new TypedSearchAttributes([
        { key: StewardStatus, value: 'running' },
        { key: StewardAgent, value: start.agent },
        { key: StewardPrincipal, value: start.principal },
        { key: StewardStep, value: 0 },
        { key: StewardSpendUsd, value: 0 },
      ]),
    });
  }

  handle(taskId: string): WorkflowHandle<typeof agentRun> {
    return this.client.workflow.getHandle<typeof agentRun>(taskId);
  }

  async state(taskId: string): Promise<TaskState> {
    try {
      return await this.handle(taskId).query(stateQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new TaskNotFound(`no task ${taskId}`);
      throw err;
    }
  }

  /** A task's whole audit trail (see `trail`). */
  async audit(taskId: string): Promise<AuditEntry[]> {
    return (await this.trail(taskId)).entries;
  }

  /**
   * A task's whole audit trail, read once: what the audit store holds, then the entries still in the
   * workflow, and the signed heads. Once Temporal has deleted the history, the store's part is all
   * there is.
   */
  async trail(taskId: string): Promise<{ entries: AuditEntry[]; heads: SignedHead[] }> {
    const [{ entries: stored, heads }, pending] = await Promise.all([
      this.auditStore ? this.auditStore.read(taskId) : { entries: [], heads: [] },
      this.handle(taskId)
        .query(auditQuery)
        .catch((err: unknown) => {
          if (err instanceof WorkflowNotFoundError) return undefined;
          throw err;
        }),
    ]);
    if (!pending) {
      if (stored.length) return { entries: stored, heads };
      throw new TaskNotFound(`no task ${taskId}`);
    }
    const last = stored.at(-1)?.seq ?? 0;
    return { entries: [...stored, ...pending.filter((e) => e.seq > last)], heads };
  }

  async result(taskId: string): Promise<TaskResult> {
    return this.handle(taskId).result();
  }

  /**
   * Decides the pending approval as `identity`. The update names the request and the digest of the
   * action read here, so a decision can never apply to an action the approver did not see. `edits`
   * (with an approval) change arguments the approval rule makes editable: the tool runs with them.
   */
  async decide(
    taskId: string,
    decision: {
      identity: string;
      decision: 'approve' | 'reject';
      reason?: string;
      approvalId?: string;
      digest?: string;
      /** The run that asked (`pendingApproval.runId`); read from the task when not given. */
      runId?: string;
      edits?: Record<string, unknown>;
    },
  ): Promise<{ approvalId: string; outcome: ApprovalOutcome }> {
    let { approvalId, digest, runId } = decision;
    if (!approvalId || !digest) {
      const pending = (await this.state(taskId)).pendingApproval;
      if (!pending) throw new Error(`task ${taskId} is not waiting for an approval`);
      approvalId ??= pending.id;
      digest ??= pending.digest;
      runId ??= pending.runId;
    }
    // A task waiting for an approval does not continue as new: the run that asked is its current
    // run. Visibility names it without a query (which would replay a parked task on the worker).
    if (!runId) {
      const run = await this.handle(taskId).describe();
      if (run.status.name !== 'RUNNING') throw new Error(`task ${taskId} is not waiting for an approval`);
      runId = run.runId;
    }
    const input = {
      approvalId,
      digest,
      identity: decision.identity,
      decision: decision.decision,
      reason: decision.reason,
      ...(decision.edits ? { edits: decision.edits } : {}),
    };
    try {
      return await this.handle(taskId).executeUpdate(approveUpdate, {
        args: [{ ...input, ...this.signed(approvalToSign(taskId, { ...input, runId })) }],
      });
    } catch (err) {
      // the task was there a moment ago (its run was read above): it has ended since
      if (err instanceof WorkflowNotFoundError)
        throw new Error(`task ${taskId} is not waiting for an approval`);
      throw err;
    }
  }

  async cancel(taskId: string, identity: string, reason?: string): Promise<void> {
    const handle = this.handle(taskId);
    // a cancel is signed for the task's chain of runs: its first run names it
    const { raw } = await handle.describe();
    const firstRunId =
      raw.workflowExecutionInfo?.firstRunId || raw.workflowExecutionInfo?.execution?.runId || '';
    await handle.signal(cancelSignal, {
      identity,
      reason,
      ...this.signed(cancelToSign(taskId, firstRunId, identity, reason)),
    });
  }

  private signed(decision: Omit<SignedDecision, 'at'>): { signature?: DecisionSignature } {
    if (!this.signer) return {};
    const { keyId, privateKey } = this.signer;
    return { signature: signDecision(privateKey, keyId, decision, new Date().toISOString()) };
  }

  async list(limit = 20): Promise<TaskSummary[]> {
    const out: TaskSummary[] = [];
    // A task that continued as new has one closed run per continuation: list its latest run only.
    const query = `WorkflowType = 'agentRun' AND ExecutionStatus != 'ContinuedAsNew'`;
    for await (const wf of this.client.workflow.list({ query })) {
      const attrs = wf.typedSearchAttributes;
      // A run that failed or was terminated never got to update its own status attribute.
      const running = wf.status.name === 'RUNNING' || wf.status.name === 'COMPLETED';
      out.push({
        taskId: wf.workflowId,
        agent: attrs.get(StewardAgent),
        principal: attrs.get(StewardPrincipal),
        status: (running && attrs.get(StewardStatus)) || wf.status.name.toLowerCase(),
        step: attrs.get(StewardStep),
        spendUsd: attrs.get(StewardSpendUsd),
        startTime: wf.startTime,
      });
      if (out.length >= limit) break;
    }
    return out;
  }

  /**
   * Calls `onChange` whenever the task's state changes, with the audit entries added since the last
   * call, until the task ends; returns its result.
   */
  async follow(
    taskId: string,
    onChange: (state: TaskState, newEntries: AuditEntry[]) => void | Promise<void>,
    pollMs = 250,
  ): Promise<TaskResult> {
    const handle = this.handle(taskId);
    let done = false;
    const result = handle.result().finally(() => {
      done = true;
    });
    let last = '';
    let seen = 0;
    const poll = async (): Promise<void> => {
      const state = await handle.query(stateQuery);
      const key = JSON.stringify(state);
      if (key === last) return;
      last = key;
      const entries =
        state.audit.entries > seen ? (await this.audit(taskId)).filter((e) => e.seq > seen) : [];
      seen = entries.at(-1)?.seq ?? seen;
      await onChange(state, entries);
    };
    while (!done) {
      // the task may be between runs (continue-as-new) or finishing; the next poll will tell
      await poll().catch(() => undefined);
      await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, pollMs))]);
    }
    await poll().catch(() => undefined); // what happened after the last poll
    return result;
  }
}
