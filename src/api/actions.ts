/**
 * What the front door changes, in one place for the API and the review lane: starting a task,
 * deciding an approval and cancelling, always as the authenticated caller.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { verifyAudit, type AuditEntry, type ChainCheck } from '../audit/chain';
import { verifyTrail, type AuditKey, type TrailVerdict } from '../audit/verify';
import type { ApprovalOutcome } from '../policies/approval';
import type { TaskRequest } from '../workflows/contract';
import { demand, type Caller } from './auth';
import { ApiError } from './errors';
import { taskCall, type TaskDirectory } from './tasks';

export interface Decision {
  decision: 'approve' | 'reject';
  approvalId: string;
  digest: string;
  reason?: string;
  edits?: Record<string, unknown>;
}

/** A trail's verdict as the API and the review lane show it: the chain, and the signed head when there is one. */
export type AuditVerification = ChainCheck & {
  entries: number;
  complete?: boolean;
  signed?: { seq: number; keyId: string; fingerprint: string };
};

export class FrontDoor {
  /**
   * @param auditKeys the keys whose signed audit heads the door accepts (this install's and
   * `signing.auditKeys`).
   */
  constructor(
    readonly directory: TaskDirectory,
    private readonly links: { temporalUiUrl?: string; namespace: string },
    private readonly auditKeys: AuditKey[] = [],
  ) {}

  get client() {
    return this.directory.client;
  }

  /** The task in the Temporal UI, when this server knows where the UI is. */
  temporalLink(taskId: string): string | undefined {
    const base = this.links.temporalUiUrl?.replace(/\/+$/, '');
    return base
      ? `${base}/namespaces/${encodeURIComponent(this.links.namespace)}/workflows/${encodeURIComponent(taskId)}`
      : undefined;
  }

  async start(
    caller: Caller,
    request: Omit<TaskRequest, 'principal'> & { principal?: string; taskId?: string; description?: string },
  ): Promise<{ taskId: string; runId: string; principal: string }> {
    demand(caller, 'operate');
    const principal = request.principal ?? caller.identity;
    if (principal !== caller.identity) demand(caller, 'delegate');
    try {
      const handle = await this.client.start({ ...request, principal });
      const runId = (handle as { firstExecutionRunId?: string }).firstExecutionRunId ?? '';
      return { taskId: handle.workflowId, runId, principal };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError)
        throw new ApiError('conflict', `a task with id ${request.taskId} exists already`);
      throw err;
    }
  }

  /**
   * Decides the pending approval as the caller. The decider is the authenticated identity, never one
   * a request names; the workflow's validator checks it against the request's approvers, the request
   * id and the digest of the action the caller saw.
   */
  async decide(
    caller: Caller,
    taskId: string,
    decision: Decision,
  ): Promise<{ approvalId: string; outcome: ApprovalOutcome; identity: string }> {
    demand(caller, 'decide');
    try {
      const answer = await taskCall(taskId, () =>
        this.client.decide(taskId, {
          identity: caller.identity,
          decision: decision.decision,
          approvalId: decision.approvalId,
          digest: decision.digest,
          ...(decision.reason ? { reason: decision.reason } : {}),
          ...(decision.edits ? { edits: decision.edits } : {}),
        }),
      );
      return { ...answer, identity: caller.identity };
    } catch (err) {
      // the validator's word for an identity it does not list is a refusal of who, not of what
      if (err instanceof ApiError && err.code === 'conflict' && /may not approve/.test(err.message))
        throw new ApiError('forbidden', err.message);
      throw err;
    } finally {
      this.directory.forget(taskId);
    }
  }

  async cancel(caller: Caller, taskId: string, reason?: string): Promise<void> {
    demand(caller, 'operate');
    await taskCall(taskId, () => this.client.cancel(taskId, caller.identity, reason));
    this.directory.forget(taskId);
  }

  async audit(
    caller: Caller,
    taskId: string,
  ): Promise<{ entries: AuditEntry[]; verification: AuditVerification }> {
    demand(caller, 'read');
    const { entries, heads } = await taskCall(taskId, () => this.client.trail(taskId), this.client.client);
    // a task that writes no audit store (or ran before it did) has no signed head: its chain alone
    if (heads.length === 0)
      return { entries, verification: { ...verifyAudit(entries), entries: entries.length } };
    return {
      entries,
      verification: fromVerdict(
        verifyTrail({ taskId, entries, heads, trusted: this.auditKeys, partial: true }),
        entries,
      ),
    };
  }
}

function fromVerdict(verdict: TrailVerdict, entries: AuditEntry[]): AuditVerification {
  if (!verdict.ok)
    return {
      ok: false,
      seq: verdict.firstBad!.seq,
      reason: verdict.firstBad!.reason,
      entries: entries.length,
    };
  const { seq, keyId, fingerprint } = verdict.signed!;
  return {
    ok: true,
    head: entries.at(-1)!.hash,
    entries: entries.length,
    complete: verdict.complete,
    signed: { seq, keyId, fingerprint },
  };
}
