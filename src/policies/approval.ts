import { canonicalJson } from '../audit/canonicalJson';
import { sha256Hex } from '../audit/sha256';
import type { ApprovalPolicy } from './types';

export interface ProposedToolAction {
  tool: string;
  input: unknown;
}

export interface ApprovalDecisionInput {
  approvalId: string;
  /** Digest of the exact action the approver saw; a changed action does not match. */
  digest: string;
  identity: string;
  decision: 'approve' | 'reject';
  reason?: string;
}

export interface ApprovalDecision extends ApprovalDecisionInput {
  at: string;
}

export interface ApprovalRequest {
  id: string;
  step: number;
  digest: string;
  action: ProposedToolAction;
  approvers: string[];
  quorum: number;
  requestedAt: string;
  deadline: string;
  onExpiry: ApprovalPolicy['onExpiry'];
  escalated: boolean;
  decisions: ApprovalDecision[];
  ruleIds: string[];
}

export function actionDigest(action: ProposedToolAction): string {
  return sha256Hex(canonicalJson({ tool: action.tool, input: action.input }));
}

/**
 * Why a decision cannot be taken, or null when it can. Synchronous on purpose: the update validator
 * calls it, and an async validator's rejection would be ignored (and the update accepted).
 */
export function checkDecision(
  request: ApprovalRequest | undefined,
  input: ApprovalDecisionInput,
): string | null {
  if (!input || typeof input !== 'object') return 'decision is missing';
  if (input.decision !== 'approve' && input.decision !== 'reject')
    return `decision must be approve or reject`;
  if (typeof input.identity !== 'string' || input.identity.trim() === '') return 'identity is missing';
  if (input.reason !== undefined && input.reason !== null && typeof input.reason !== 'string') {
    return 'reason must be text';
  }
  if (!request) return `no approval is pending (got ${input.approvalId})`;
  if (input.approvalId !== request.id)
    return `unknown approval id ${input.approvalId}; pending is ${request.id}`;
  if (input.digest !== request.digest) return `digest does not match the pending action (${request.digest})`;
  if (!request.approvers.includes(input.identity)) return `${input.identity} may not approve this request`;
  if (request.decisions.some((d) => d.identity === input.identity))
    return `${input.identity} has already decided`;
  const outcome = approvalOutcome(request);
  if (outcome !== 'pending') return `${request.id} is already ${outcome}`;
  return null;
}

export type ApprovalOutcome = 'approved' | 'rejected' | 'pending';

/** Only decisions of the current approvers count: after an escalation, the new list decides. */
export function approvalOutcome(request: ApprovalRequest): ApprovalOutcome {
  const decisions = request.decisions.filter((d) => request.approvers.includes(d.identity));
  if (decisions.some((d) => d.decision === 'reject')) return 'rejected';
  const approvals = new Set(decisions.filter((d) => d.decision === 'approve').map((d) => d.identity));
  return approvals.size >= request.quorum ? 'approved' : 'pending';
}
