import { refusalReason, resolvedInput } from '../approval';
import { defineCommand, required, say, UsageError, type Command } from '../command';
import { approvalText } from '../format';
import { connect, withSession } from '../session';

/** `steward approve` and `steward reject`: one decision on the task's pending approval. */
function decideCommand(decision: 'approve' | 'reject', summary: string): Command {
  return defineCommand({
    name: decision,
    synopsis: '<taskId> --as IDENTITY [--reason TEXT]',
    summary,
    details: 'Shows the pending action in full, then decides it for the approval request and digest shown.',
    args: ['taskId'],
    options: {
      as: { type: 'string', value: 'IDENTITY', description: 'who decides (an approver the policy lists)' },
      reason: { type: 'string', value: 'TEXT', description: 'why, for the audit trail' },
    },
    async run({ config, args: [taskId], options }) {
      if (!taskId) throw new UsageError(`${decision} needs a task id`);
      const identity = required(options.as, 'as', decision);
      return withSession(connect(config), async (session) => {
        const state = await session.client.state(taskId);
        if (!state.pendingApproval)
          throw new UsageError(`task ${taskId} is not waiting for an approval (status: ${state.status})`);
        say(approvalText(state, await resolvedInput(config, state)));
        const { outcome } = await session.client
          .decide(taskId, {
            identity,
            decision,
            reason: options.reason,
            approvalId: state.pendingApproval.id,
            digest: state.pendingApproval.digest,
          })
          .catch((err: Error) => {
            throw new UsageError(`refused: ${refusalReason(err)}`);
          });
        say(
          `${decision === 'approve' ? 'approved' : 'rejected'} as ${identity}; the request is now ${outcome}`,
        );
        return 0;
      });
    },
  });
}

export const approve = decideCommand('approve', 'approve the pending action of a task, as shown by status');
export const reject = decideCommand('reject', 'reject the pending action of a task; the task stops');
