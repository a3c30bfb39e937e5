import { canonicalJson } from '../audit/canonicalJson';
import type { DecisionSignature } from '../audit/signing';
import { sha256Hex } from '../audit/sha256';
import type { ToolDescriptor } from '../shared/types';
import type { ApprovalPolicy, ApproverLevel, Policy } from './types';

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
  /** New values for some of the call's top-level arguments (only those the rule makes editable). */
  edits?: Record<string, unknown>;
  /** Who vouches for this decision: an Ed25519 signature by a key the worker trusts. */
  signature?: DecisionSignature;
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
  /** The run that asked: a decision is signed for this run and is good for no other. */
  runId: string;
  /** The approval rule of the policy file that applies. */
  approval?: string;
  /** Which level of the escalation chain decides now (0: the first), and how many there are. */
  level?: number;
  levels?: number;
  /** The task's principal, who may approve only if `allowSelfApproval`. */
  principal?: string;
  allowSelfApproval?: boolean;
  /** Arguments an approver may change. */
  editable?: string[];
  /** What the digest binds besides the tool name and arguments. */
  binding?: CallBinding;
}

/** What an approval is bound to besides the tool's name and arguments. */
export interface CallBinding {
  /** sha256 of the tool's definition (name, description, effect, data class, placement, input schema). */
  definitionHash: string;
  /** sha256 of the policy the task runs under ('' when the task has none recorded). */
  policyHash: string;
}

export function actionDigest(action: ProposedToolAction): string {
  return sha256Hex(canonicalJson({ tool: action.tool, input: action.input }));
}

/** A tool's definition hash: its own, when it brings one (a pinned MCP tool), else of its descriptor. */
export function definitionHashOf(tool: ToolDescriptor): string {
  if (tool.definitionHash) return tool.definitionHash;
  const { name, description, effect, dataClass, placement, inputSchema } = tool;
  return sha256Hex(canonicalJson({ name, description, effect, dataClass, placement, inputSchema }));
}

/**
 * The digest an approval is bound to: the tool's name and definition, the exact arguments, and the
 * policy. A changed tool, argument or policy makes another digest, so it never inherits an approval.
 */
export function callDigest(action: ProposedToolAction, binding: CallBinding): string {
  return sha256Hex(
    canonicalJson({
      tool: action.tool,
      definitionHash: binding.definitionHash,
      input: action.input,
      policyHash: binding.policyHash,
    }),
  );
}

/** One level of an approval with its approvers resolved to identities. */
export interface ApprovalLevelPlan {
  approvers: string[];
  quorum: number;
  timeoutSeconds: number;
}

/** Everything a request needs from its approval rule: the levels in turn, self-approval, editable fields. */
export interface ApprovalPlan {
  levels: ApprovalLevelPlan[];
  allowSelfApproval: boolean;
  editable: string[];
}

/** The identities a level names, directly and through `roles` (in the order the policy lists them). */
export function approversOf(policy: Pick<Policy, 'roles'>, level: ApproverLevel): string[] {
  const out = [...(level.identities ?? [])];
  for (const [identity, roles] of Object.entries(policy.roles ?? {})) {
    if (level.roles?.some((r) => roles.includes(r)) && !out.includes(identity)) out.push(identity);
  }
  return out;
}

function legacyPlan(approval: ApprovalPolicy): ApprovalPlan {
  const levels = [
    { approvers: [...approval.approvers], quorum: approval.quorum, timeoutSeconds: approval.timeoutSeconds },
  ];
  if (approval.onExpiry === 'escalate' && approval.escalateTo?.length) {
    levels.push({
      approvers: [...approval.escalateTo],
      quorum: approval.quorum,
      timeoutSeconds: approval.escalationTimeoutSeconds ?? approval.timeoutSeconds,
    });
  }
  // the inline policy's default approver is the principal: it has always approved its own task
  return { levels, allowSelfApproval: true, editable: [] };
}

/**
 * The plan of the named approval rule (a policy file), or of the inline policy's one approval setting
 * (which has never had names, self-approval limits or edits). Undefined if the rule does not exist.
 */
export function approvalPlan(policy: Policy, name = 'default'): ApprovalPlan | undefined {
  if (!policy.approvals) return policy.approval && legacyPlan(policy.approval);
  const rule = Object.prototype.hasOwnProperty.call(policy.approvals, name)
    ? policy.approvals[name]
    : undefined;
  if (!rule) return undefined;
  const level = (l: ApproverLevel): ApprovalLevelPlan => ({
    approvers: approversOf(policy, l),
    quorum: l.quorum,
    timeoutSeconds: l.timeoutSeconds,
  });
  return {
    levels: [level(rule), ...(rule.escalation ?? []).map(level)],
    allowSelfApproval: rule.allowSelfApproval ?? false,
    editable: rule.editable ?? [],
  };
}

/** The call with an approver's edits applied, or why they cannot be. */
export function editedInput(
  request: ApprovalRequest,
  edits: Record<string, unknown>,
): { input: Record<string, unknown> } | string {
  const keys = Object.keys(edits);
  if (keys.length === 0) return 'edits are empty';
  if (!request.binding) return `${request.id} does not allow edits`;
  const refused = keys.filter((k) => !(request.editable ?? []).includes(k));
  if (refused.length > 0) {
    const allowed = request.editable?.length ? request.editable.join(', ') : 'none';
    return `${refused.join(', ')} may not be edited (editable: ${allowed})`;
  }
  const input = request.action.input;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return `the arguments of ${request.action.tool} are not an object of named fields`;
  }
  return { input: { ...(input as Record<string, unknown>), ...edits } };
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
  if (
    input.decision === 'approve' &&
    request.allowSelfApproval === false &&
    input.identity === request.principal
  ) {
    return `${input.identity} is the principal of this task and may not approve it`;
  }
  if (request.decisions.some((d) => d.identity === input.identity && d.digest === request.digest))
    return `${input.identity} has already decided`;
  const outcome = approvalOutcome(request);
  if (outcome !== 'pending') return `${request.id} is already ${outcome}`;
  if (input.edits !== undefined && input.edits !== null) {
    if (input.decision !== 'approve') return 'only an approval may edit the arguments';
    const edited = editedInput(request, input.edits);
    if (typeof edited === 'string') return edited;
  }
  return null;
}

export type ApprovalOutcome = 'approved' | 'rejected' | 'pending';

/**
 * Only decisions of the current approvers about the current call count: after an escalation the new
 * list decides, and after an edit only decisions about the edited call do.
 */
export function approvalOutcome(request: ApprovalRequest): ApprovalOutcome {
  const decisions = request.decisions.filter(
    (d) => request.approvers.includes(d.identity) && d.digest === request.digest,
  );
  if (decisions.some((d) => d.decision === 'reject')) return 'rejected';
  const approvals = new Set(decisions.filter((d) => d.decision === 'approve').map((d) => d.identity));
  return approvals.size >= request.quorum ? 'approved' : 'pending';
}
