import { defineCommand, say } from '../command';
import { listText } from '../format';
import { connect, withSession } from '../session';

export const list = defineCommand({
  name: 'list',
  summary: 'recent tasks with their status, step and spend',
  options: {},
  async run({ config }) {
    return withSession(connect(config), async (session) => {
      say(listText(await session.client.list()));
      return 0;
    });
  },
});
