import { currentUser } from '../../config/load';
import { defineCommand, say, UsageError } from '../command';
import { connect, withSession } from '../session';

export const cancel = defineCommand({
  name: 'cancel',
  synopsis: '<taskId> [--as IDENTITY] [--reason TEXT]',
  summary: 'stop a task cleanly, even in the middle of a step',
  args: ['taskId'],
  options: {
    as: { type: 'string', value: 'IDENTITY', description: 'who asks (default: you)' },
    reason: { type: 'string', value: 'TEXT', description: 'why, for the audit trail' },
  },
  async run({ config, args: [taskId], options }) {
    if (!taskId) throw new UsageError('cancel needs a task id');
    return withSession(connect(config), async (session) => {
      await session.client.cancel(taskId, options.as ?? currentUser(), options.reason);
      say(`asked task ${taskId} to stop`);
      return 0;
    });
  },
});
