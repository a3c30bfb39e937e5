import type { AuditEntry } from '../audit/chain';
import { stepOfEntry } from '../shared/steps';
import type { DataClass, ToolDescriptor } from '../shared/types';
import { approvalPlan, type ApprovalPlan } from './approval';
import { evaluateAction } from './evaluate';
import type { Policy, PolicyVerdict } from './types';

/**
 * What `steward policy check` and `steward policy explain` print: a policy's verdict on sample
 * actions, and every decision a task got, read back from its audit trail. Pure.
 */

export interface SampleAction {
  tool: string;
  args: Record<string, unknown>;
  agent?: string;
  principal?: string;
  /** The class of data the task has already seen. */
  seen?: DataClass;
}

export interface SampleVerdict {
  verdict: PolicyVerdict;
  /** With `approve`: who decides, level by level. */
  approval?: ApprovalPlan;
}

/** The verdict a sample action would get; `granted` are the tools its agent has (or just its own). */
export function checkSample(policy: Policy, sample: SampleAction, granted: ToolDescriptor[]): SampleVerdict {
  const verdict = evaluateAction(
    policy,
    sample.tool,
    granted,
    { dataClass: sample.seen ?? 'public' },
    { agent: sample.agent, principal: sample.principal, input: sample.args },
  );
  if (verdict.decision !== 'approve') return { verdict };
  return { verdict, approval: approvalPlan(policy, verdict.approval) };
}

/** `2 of alice, carol, dave within 600 s, then 1 of erin within 300 s, then stop` */
export function describePlan(plan: ApprovalPlan): string {
  const levels = plan.levels.map(
    (l) => `${l.quorum} of ${l.approvers.join(', ') || '(nobody)'} within ${l.timeoutSeconds} s`,
  );
  const extras = [
    plan.allowSelfApproval ? 'the principal may approve' : 'not the principal',
    ...(plan.editable.length ? [`editable: ${plan.editable.join(', ')}`] : []),
  ];
  return `${levels.join(', then ')}, then stop (${extras.join('; ')})`;
}

export interface DecisionLine {
  seq: number;
  step: number;
  at: string;
  kind: string;
  text: string;
  ruleIds?: string[];
}

const list = (value: unknown): string => (Array.isArray(value) ? value.join(', ') : String(value ?? ''));

/**
 * Every policy and approval decision in a task's audit trail, in order, with the rules that decided:
 * the policy it started under, each action's verdict, each approval's request, decisions, edits,
 * escalations and expiry, refusals, and how the task ended.
 */
export function decisionsOf(entries: AuditEntry[]): DecisionLine[] {
  const out: DecisionLine[] = [];
  for (const entry of entries) {
    const d = entry.data as Record<string, unknown>;
    const line = (text: string, ruleIds?: unknown) =>
      out.push({
        seq: entry.seq,
        step: stepOfEntry(entry), // an approval's lines are on the step it gates
        at: entry.at,
        kind: entry.kind,
        text,
        ...(Array.isArray(ruleIds) ? { ruleIds: ruleIds.map(String) } : {}),
      });
    switch (entry.kind) {
      case 'task.started': {
        const source = d.policySource as { file?: string; sha256?: string } | undefined;
        line(
          `started: agent ${d.agent} for ${d.principal}; policy ${d.policyHash ?? '(not recorded)'}` +
            (source ? ` from ${source.file} (file sha256 ${source.sha256})` : ''),
        );
        break;
      }
      case 'task.refused':
        line(`refused at start: ${d.detail}`);
        break;
      case 'policy.decided':
        line(
          `${d.tool}: ${d.decision}${d.approval ? ` (approval ${d.approval})` : ''}: ${d.reason}`,
          d.ruleIds,
        );
        break;
      case 'approval.requested':
        line(
          `${d.id}: approval of ${d.tool} asked of ${list(d.approvers)}` +
            `${d.quorum ? `, ${d.quorum} needed` : ''} by ${d.deadline}; digest ${d.digest}`,
        );
        break;
      case 'approval.decided':
        line(
          `${d.id}: ${d.decision === 'approve' ? 'approved' : 'rejected'} by ${d.identity}${d.reason ? `: ${d.reason}` : ''}`,
        );
        break;
      case 'approval.edited':
        line(`${d.id}: ${d.identity} edited ${list(d.fields)}; new digest ${d.digest}`);
        break;
      case 'approval.escalated':
        line(
          `${d.id}: escalated${d.level !== undefined ? ` to level ${d.level}` : ''}: ${list(d.approvers)} by ${d.deadline}`,
        );
        break;
      case 'approval.expired':
        line(`${d.id}: expired undecided`);
        break;
      case 'approval.refused':
        line(`a decision by ${d.identity ?? '(unreadable)'} was refused: ${d.problem}`);
        break;
      case 'task.completed':
      case 'task.stopped':
        line(
          `${entry.kind === 'task.completed' ? 'completed' : `stopped: ${d.reason}`}${d.detail && d.reason !== 'completed' ? ` (${d.detail})` : ''}`,
        );
        break;
    }
  }
  return out;
}
