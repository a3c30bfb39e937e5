import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AuditEntry } from '../audit/chain';
import type { ApprovalDecisionInput, ApprovalOutcome } from '../policies/approval';
import type { TaskState } from './types';

/** An approver's decision; the validator refuses unknown ids, changed digests and identities not allowed. */
export const approveUpdate = defineUpdate<
  { approvalId: string; outcome: ApprovalOutcome },
  [ApprovalDecisionInput]
>('approve');
/** The same decision for fire-and-forget clients; a refused one is audited instead of answered. */
export const approvalSignal = defineSignal<[ApprovalDecisionInput]>('approval');
export const cancelSignal = defineSignal<[{ reason?: string; identity?: string }]>('cancel');
export const stateQuery = defineQuery<TaskState>('state');
export const auditQuery = defineQuery<AuditEntry[]>('audit');
