/**
 * Which step a thing belongs to, so the CLI, `status`, the review lane and `steward audit` count
 * one sequence. An approval gates the step about to run: its request carries that step
 * (`ApprovalRequest.step`) and its id names it (`approval-<step>`), while the task's own counter
 * (`TaskState.step`, an audit entry's `step`) still counts the steps begun before it.
 */

/** Audit entries about an approval request: they name the request in `data.id`. */
const APPROVAL_KINDS = new Set([
  'approval.requested',
  'approval.edited',
  'approval.decided',
  'approval.escalated',
  'approval.expired',
]);

/** The step an audit entry is about: the gated step for an approval's entries, else the entry's own. */
export function stepOfEntry(entry: { kind: string; step: number; data?: Record<string, unknown> }): number {
  if (!APPROVAL_KINDS.has(entry.kind)) return entry.step;
  const id = entry.data?.id;
  const gated = typeof id === 'string' ? /^approval-(\d+)$/.exec(id) : null;
  return gated ? Number(gated[1]) : entry.step;
}

/** The step a task is on: the one its pending approval is for while it waits, else the last begun. */
export function stepOfTask(state: { step: number; pendingApproval?: { step: number } }): number {
  return state.pendingApproval?.step ?? state.step;
}

/** "4", or "4 awaiting approval" while the task waits to run step 4. */
export function taskStepText(state: { step: number; pendingApproval?: { step: number } }): string {
  return `${stepOfTask(state)}${state.pendingApproval ? ' awaiting approval' : ''}`;
}
