import { condition } from '@temporalio/workflow';
import {
  approvalOutcome,
  checkDecision,
  type ApprovalDecisionInput,
  type ApprovalRequest,
} from '../policies/approval';
import { StopTask } from './failures';
import { decisionInputSchema, parseMessage } from './messages';
import type { TaskContext } from './taskContext';

/**
 * Records an approval request for the exact action (its digest) and waits for the approvers' decision,
 * a cancel, or the deadline; at the deadline the request escalates once or the task stops, as the
 * policy says. Returns when the action is approved.
 */
export async function awaitApproval(
  task: TaskContext,
  action: { tool: string; input: unknown },
  digest: string,
  ruleIds: string[],
): Promise<void> {
  const { carried, spec } = task;
  const policy = spec.policy.approval;
  const request: ApprovalRequest = {
    id: `approval-${carried.step + 1}`,
    step: carried.step + 1,
    digest,
    action: { tool: action.tool, input: action.input },
    approvers: [...policy.approvers],
    quorum: policy.quorum,
    requestedAt: new Date().toISOString(),
    deadline: task.deadlineIn(policy.timeoutSeconds),
    onExpiry: policy.onExpiry,
    escalated: false,
    decisions: [],
    ruleIds,
  };
  task.pendingApproval = request;
  task.audit('approval.requested', {
    id: request.id,
    digest,
    tool: action.tool,
    approvers: request.approvers,
    deadline: request.deadline,
  });
  task.setStatus('awaiting_approval', `waiting for approval of ${action.tool} (${request.id})`);
  for (;;) {
    const remaining = Date.parse(request.deadline) - Date.now();
    const decided = await condition(
      () => approvalOutcome(request) !== 'pending' || !!task.cancelRequest,
      Math.max(remaining, 1),
      { summary: `approval deadline of ${request.id} (${action.tool})` },
    );
    if (task.cancelRequest) throw new StopTask('cancelled', task.cancelDetail());
    if (decided) break;
    if (Date.now() >= task.deadlineMs)
      throw new StopTask('deadline', `task deadline passed while waiting for ${request.id}`);
    if (request.onExpiry === 'escalate' && !request.escalated && policy.escalateTo?.length) {
      request.escalated = true;
      request.approvers = [...policy.escalateTo];
      request.deadline = task.deadlineIn(policy.escalationTimeoutSeconds ?? policy.timeoutSeconds);
      task.audit('approval.escalated', {
        id: request.id,
        approvers: request.approvers,
        deadline: request.deadline,
      });
      continue;
    }
    task.audit('approval.expired', { id: request.id });
    throw new StopTask(
      'approval_expired',
      `${request.id} for ${action.tool} was not decided by ${request.deadline}`,
    );
  }
  task.pendingApproval = undefined;
  if (approvalOutcome(request) === 'rejected') {
    const rejection = request.decisions.find((d) => d.decision === 'reject')!;
    throw new StopTask(
      'approval_rejected',
      `${rejection.identity} rejected ${action.tool}: ${rejection.reason ?? 'no reason given'}`,
    );
  }
  task.setStatus('running', `approved ${action.tool}`);
}

/** The decision, parsed and checked against the pending request, or why it cannot be taken. */
export function acceptableDecision(task: TaskContext, input: unknown): ApprovalDecisionInput | string {
  const parsed = parseMessage(decisionInputSchema, input);
  if (!parsed.ok) return `refused: ${parsed.problem}`;
  const decision: ApprovalDecisionInput = { ...parsed.value, reason: parsed.value.reason ?? undefined };
  return checkDecision(task.pendingApproval, decision) ?? decision;
}

export function recordDecision(task: TaskContext, input: ApprovalDecisionInput): void {
  const request = task.pendingApproval!;
  request.decisions.push({ ...input, at: new Date().toISOString() });
  task.audit('approval.decided', {
    id: request.id,
    identity: input.identity,
    decision: input.decision,
    reason: input.reason ?? null,
    digest: input.digest,
  });
}
