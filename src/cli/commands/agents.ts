import { agentRegistry } from '../../runtime/localStack';
import { defineCommand, say } from '../command';

export const agents = defineCommand({
  name: 'agents',
  summary: 'the agents this install knows',
  options: {},
  async run({ config }) {
    for (const agent of agentRegistry(config).list()) say(`${agent.name.padEnd(16)} ${agent.description}`);
    return 0;
  },
});
