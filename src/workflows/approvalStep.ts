import { condition, workflowInfo } from '@temporalio/workflow';
import { canonicalJson } from '../audit/canonicalJson';
import { approvalToSign, checkSignature } from '../audit/signing';
import {
  approvalOutcome,
  approvalPlan,
  callDigest,
  checkDecision,
  editedInput,
  type ApprovalDecisionInput,
  type ApprovalRequest,
  type CallBinding,
} from '../policies/approval';
import { evaluateAction } from '../policies/evaluate';
import type { ToolStepTrace } from './contract';
import { StopTask } from './failures';
import { decisionInputSchema, parseMessage } from './messages';
import type { TaskContext } from './taskContext';

/** The largest edit an approver may send (as canonical JSON): enough for any text a person writes. */
export const MAX_EDIT_BYTES = 64 * 1024;

/** The call's digest; a call too deep or large to encode stops the task instead of wedging it. */
export function boundDigestOf(action: { tool: string; input: unknown }, binding: CallBinding): string {
  try {
    return callDigest(action, binding);
  } catch (err) {
    throw new StopTask('invalid_output', `the action on ${action.tool} cannot be recorded: ${String(err)}`);
  }
}

/**
 * Records an approval request for the exact call (its digest) and waits for the approvers' decision,
 * a cancel, or the deadline. At a level's deadline the request goes to the next level of the approval
 * rule's escalation chain, or, after the last, the task stops (`approval_expired`). Returns the
 * arguments the tool runs with (the call's own, or as an approver edited them) and who approved it.
 */
export async function awaitApproval(
  task: TaskContext,
  action: { tool: string; input: unknown },
  digest: string,
  ruleIds: string[],
  options: { approval?: string; binding: CallBinding },
): Promise<{ input: unknown; approval: NonNullable<ToolStepTrace['approval']> }> {
  const { carried, spec } = task;
  const { binding } = options;
  const name = options.approval ?? 'default';
  const plan = approvalPlan(spec.policy, name);
  if (!plan) throw new StopTask('denied', `the policy defines no approval ${name} for ${action.tool}`);
  const first = plan.levels[0]!;
  const request: ApprovalRequest = {
    id: `approval-${carried.step + 1}`,
    step: carried.step + 1,
    digest,
    action: { tool: action.tool, input: action.input },
    approvers: [...first.approvers],
    quorum: first.quorum,
    requestedAt: new Date(task.now()).toISOString(),
    deadline: task.deadlineIn(first.timeoutSeconds),
    onExpiry: plan.levels.length > 1 ? 'escalate' : 'stop',
    escalated: false,
    decisions: [],
    ruleIds,
    runId: workflowInfo().runId,
    approval: name,
    level: 0,
    levels: plan.levels.length,
    editable: plan.editable,
    binding,
    ...(plan.allowSelfApproval ? {} : { principal: spec.principal, allowSelfApproval: false }),
  };
  task.pendingApproval = request;
  task.audit('approval.requested', {
    id: request.id,
    digest,
    tool: action.tool,
    approvers: request.approvers,
    deadline: request.deadline,
    runId: request.runId,
    approval: name,
    quorum: request.quorum,
    levels: plan.levels.length,
    allowSelfApproval: plan.allowSelfApproval,
    editable: plan.editable,
    definitionHash: binding.definitionHash,
    policyHash: binding.policyHash,
  });
  task.setStatus('awaiting_approval', `waiting for approval of ${action.tool} (${request.id})`);
  // the request leaves Temporal, signed, before the task parks
  await task.exportAudit(`approval requested: ${request.id}`);
  task.publish();
  let level = 0;
  for (;;) {
    const remaining = Date.parse(request.deadline) - task.now();
    const decided = await condition(
      () => approvalOutcome(request) !== 'pending' || !!task.cancelRequest,
      Math.max(remaining, 1),
      { summary: `approval deadline of ${request.id} (${action.tool})` },
    );
    if (task.cancelRequest) throw new StopTask('cancelled', task.cancelDetail());
    if (decided) break;
    if (task.now() >= task.deadlineMs)
      throw new StopTask('deadline', `task deadline passed while waiting for ${request.id}`);
    const next = plan.levels[level + 1];
    if (next) {
      level++;
      request.escalated = true;
      request.approvers = [...next.approvers];
      request.quorum = next.quorum;
      request.deadline = task.deadlineIn(next.timeoutSeconds);
      request.level = level;
      request.onExpiry = plan.levels[level + 1] ? 'escalate' : 'stop';
      task.audit('approval.escalated', {
        id: request.id,
        approvers: request.approvers,
        deadline: request.deadline,
        level,
        quorum: request.quorum,
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
    const rejection = request.decisions.find(
      (d) => d.decision === 'reject' && request.approvers.includes(d.identity) && d.digest === request.digest,
    )!;
    throw new StopTask(
      'approval_rejected',
      `${rejection.identity} rejected ${action.tool}: ${rejection.reason ?? 'no reason given'}`,
    );
  }
  task.setStatus('running', `approved ${action.tool}`);
  return { input: request.action.input, approval: approvalTrace(request, action.input) };
}

/** Who approved the call and when (the approvals that made the quorum), for its trace span. */
function approvalTrace(
  request: ApprovalRequest,
  proposedInput: unknown,
): NonNullable<ToolStepTrace['approval']> {
  const approvals = request.decisions.filter(
    (d) => d.decision === 'approve' && request.approvers.includes(d.identity) && d.digest === request.digest,
  );
  return {
    id: request.id,
    approvedBy: [...new Set(approvals.map((d) => d.identity))],
    approvedAt: approvals.at(-1)?.at ?? '',
    // an edit replaces the request's arguments (recordDecision)
    ...(request.action.input !== proposedInput ? { edited: true } : {}),
  };
}

/**
 * The decision, parsed and checked against the pending request, or why it cannot be taken.
 * Synchronous (it is the update's validator). An edit is checked here too: only editable arguments,
 * bounded in size, and the edited call must still get the same approval from the policy.
 */
export function acceptableDecision(
  task: TaskContext,
  input: unknown,
  { verifySignature = true }: { verifySignature?: boolean } = {},
): ApprovalDecisionInput | string {
  const parsed = parseMessage(decisionInputSchema, input);
  if (!parsed.ok) return `refused: ${parsed.problem}`;
  const { edits, ...rest } = parsed.value;
  const decision: ApprovalDecisionInput = {
    ...rest,
    reason: parsed.value.reason ?? undefined,
    ...(edits !== undefined ? { edits } : {}),
  };
  const problem = checkDecision(task.pendingApproval, decision);
  if (problem) return problem;
  // a decision counts only with a signature by a trusted key, for this run's request
  const { trustedKeys, taskId } = task.spec;
  if (verifySignature) {
    const request = task.pendingApproval!;
    const unsigned = checkSignature(
      trustedKeys,
      approvalToSign(taskId, { ...decision, runId: request.runId }),
      decision.signature,
    );
    if (unsigned) return unsigned;
  }
  if (decision.edits) return checkEdit(task, task.pendingApproval!, decision.edits) ?? decision;
  return decision;
}

function checkEdit(
  task: TaskContext,
  request: ApprovalRequest,
  edits: Record<string, unknown>,
): string | null {
  const { spec, carried } = task;
  let bytes: number;
  try {
    bytes = new TextEncoder().encode(canonicalJson(edits)).length;
  } catch (err) {
    return `edits cannot be recorded: ${String(err)}`;
  }
  if (bytes > MAX_EDIT_BYTES) return `edits are ${bytes} bytes; at most ${MAX_EDIT_BYTES} may be sent`;
  const edited = editedInput(request, edits);
  if (typeof edited === 'string') return edited;
  try {
    // the handler computes it again: it must not be able to throw there
    callDigest({ tool: request.action.tool, input: edited.input }, request.binding!);
  } catch (err) {
    return `the edited call cannot be recorded: ${String(err)}`;
  }
  const verdict = evaluateAction(spec.policy, request.action.tool, spec.agent.tools, carried, {
    agent: spec.agent.name,
    principal: spec.principal,
    input: edited.input,
  });
  if (verdict.decision === 'deny')
    return `the edited call would be denied (rule ${verdict.ruleIds.join(', ')}): ${verdict.reason}`;
  if (verdict.decision === 'approve' && (verdict.approval ?? 'default') !== request.approval)
    return `the edited call needs approval ${verdict.approval ?? 'default'} (rule ${verdict.ruleIds.join(', ')}), not ${request.approval}: reject it instead`;
  return null;
}

/**
 * Records a checked decision. An edit replaces the pending call's arguments and digest (audited as
 * `approval.edited`): decisions about the call before it no longer count, and the editor's approval
 * is of the edited call.
 */
export function recordDecision(task: TaskContext, input: ApprovalDecisionInput): void {
  const request = task.pendingApproval!;
  const { edits, ...decision } = input;
  if (edits) {
    const edited = editedInput(request, edits) as { input: Record<string, unknown> };
    const previousDigest = request.digest;
    request.action = { tool: request.action.tool, input: edited.input };
    request.digest = callDigest(request.action, request.binding!);
    decision.digest = request.digest;
    task.audit('approval.edited', {
      id: request.id,
      identity: input.identity,
      fields: Object.keys(edits),
      previousDigest,
      digest: request.digest,
    });
  }
  request.decisions.push({ ...decision, at: new Date(task.now()).toISOString() });
  task.audit(
    'approval.decided',
    {
      id: request.id,
      identity: input.identity,
      decision: input.decision,
      reason: input.reason ?? null,
      digest: decision.digest,
      ...(input.signature ? { signature: input.signature } : {}),
    },
    {
      actor: {
        principal: task.spec.principal,
        approver: input.identity,
        ...(input.signature ? { keyId: input.signature.keyId } : {}),
      },
      action: { type: 'tool', 'gen_ai.tool.name': request.action.tool, argsDigest: decision.digest },
      ...(request.ruleIds.length
        ? {
            decision: {
              effect: 'approve',
              ruleIds: request.ruleIds,
              ...(task.spec.policyHash ? { policyHash: task.spec.policyHash } : {}),
            },
          }
        : {}),
    },
  );
}
