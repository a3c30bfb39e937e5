import type { AgentDefinition } from './definition';
import { fileAssistant } from './fileAssistant';
import { notesDigest } from './notesDigest';
import { validateAgent } from './validate';
import { StewardError } from '../errors';

export const builtinAgents: AgentDefinition[] = [notesDigest, fileAssistant];

export class UnknownAgent extends StewardError {}

export class AgentRegistry {
  private readonly agents = new Map<string, AgentDefinition>();

  constructor(agents: AgentDefinition[] = builtinAgents) {
    for (const agent of agents) this.register(agent);
  }

  register(agent: AgentDefinition): this {
    validateAgent(agent);
    this.agents.set(agent.name, agent);
    return this;
  }

  has(name: string): boolean {
    return this.agents.has(name);
  }

  get(name: string): AgentDefinition {
    const agent = this.agents.get(name);
    if (!agent) {
      const known = this.list().map((a) => a.name);
      throw new UnknownAgent(`unknown agent ${name}; known agents: ${known.join(', ')}`);
    }
    return agent;
  }

  list(): AgentDefinition[] {
    return [...this.agents.values()];
  }
}

export type { AgentDefinition };
