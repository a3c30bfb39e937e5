import type { AgentDefinition } from './definition';
import { placeholders } from './template';
import { StewardError } from '../errors';

export class AgentDefinitionError extends StewardError {}

/**
 * Checks an agent's plan when the agent is registered, so a plan that refers to a tool it may not
 * use or to a step that has not run yet is refused with a message, instead of failing a task later.
 */
export function validateAgent(agent: AgentDefinition): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  const plan = agent.plan ?? [];
  plan.forEach((step, index) => {
    const where = `plan step ${index + 1} (${step.id})`;
    if (seen.has(step.id)) problems.push(`${where}: the id ${step.id} is used twice`);
    if (step.kind === 'tool' && !agent.tools.includes(step.tool)) {
      problems.push(`${where}: tool ${step.tool} is not in the agent's tools`);
    }
    if (step.kind === 'decide') {
      if (step.tools.length === 0) problems.push(`${where}: offers no tools`);
      for (const tool of step.tools.filter((t) => !agent.tools.includes(t))) {
        problems.push(`${where}: tool ${tool} is not in the agent's tools`);
      }
    }
    if (step.kind === 'finish' && index !== plan.length - 1)
      problems.push(`${where}: finish must be the last step`);
    const template = step.kind === 'tool' ? step.input : step.kind === 'finish' ? step.result : step.prompt;
    for (const path of placeholders(template)) {
      const [root, id] = path.split('.');
      if (root === 'input') continue;
      if (root === 'steps' && id && seen.has(id)) continue;
      problems.push(
        `${where}: {{${path}}} refers to ${root === 'steps' ? `step ${id}, which has not run before it` : `${root}, which is not input or steps`}`,
      );
    }
    seen.add(step.id);
  });
  if (problems.length)
    throw new AgentDefinitionError(`agent ${agent.name} is invalid:\n  ${problems.join('\n  ')}`);
}
