import { defineCommand, say, UsageError } from '../command';
import { stateText } from '../format';
import { connect, withSession } from '../session';

export const status = defineCommand({
  name: 'status',
  synopsis: '<taskId> [--json]',
  summary: "a task's status, step, spend, pending approval, stop reason",
  args: ['taskId'],
  options: {
    json: { type: 'boolean', description: "print the task's state as JSON" },
  },
  async run({ config, args: [taskId], options }) {
    if (!taskId) throw new UsageError('status needs a task id');
    return withSession(connect(config), async (session) => {
      const state = await session.client.state(taskId);
      say(options.json ? JSON.stringify(state, null, 2) : stateText(state));
      return 0;
    });
  },
});
