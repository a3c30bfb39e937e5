import { relative } from 'node:path';
import { agentCatalog } from '../../runtime/localStack';
import { defineCommand, say } from '../command';

export const agents = defineCommand({
  name: 'agents',
  summary: 'the agents this install knows, and where each is defined',
  options: {},
  async run({ config }) {
    for (const { agent, from } of agentCatalog(config)) {
      const where = from === 'built-in' ? from : relative(process.cwd(), from) || from;
      say(`${agent.name.padEnd(16)} ${agent.description}  (${where})`);
    }
    return 0;
  },
});
