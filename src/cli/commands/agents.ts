import { relative } from 'node:path';
import { z } from 'zod';
import type { AgentDefinition } from '../../agents/definition';
import type { LoadedConfig } from '../../config/load';
import { agentCatalog, declaredTools } from '../../runtime/localStack';
import { defineCommand, say, UsageError } from '../command';

export const agents = defineCommand({
  name: 'agents',
  synopsis: '[name]',
  summary: 'the agents this install knows, and where each is defined; with a name, its input and tools',
  details:
    'With a name: where the agent is defined, the JSON Schema its input must meet, the input a task\n' +
    'gets when it is given none (input that is given replaces it whole), its tools and its plan.',
  args: ['name'],
  options: {},
  async run({ config, args: [name] }) {
    const catalog = agentCatalog(config);
    if (name === undefined) {
      for (const { agent, from } of catalog)
        say(`${agent.name.padEnd(16)} ${agent.description}  (${where(from)})`);
      return 0;
    }
    const found = catalog.find((a) => a.agent.name === name);
    if (!found)
      throw new UsageError(
        `unknown agent ${name}; known agents: ${catalog.map((a) => a.agent.name).join(', ')}`,
      );
    for (const line of describeAgent(config, found.agent, where(found.from))) say(line);
    return 0;
  },
});

function where(from: string): string {
  return from === 'built-in' || from === 'program' ? from : relative(process.cwd(), from) || from;
}

/** The lines `steward agents <name>` prints. */
export function describeAgent(config: LoadedConfig, agent: AgentDefinition, from: string): string[] {
  const lines = [`${agent.name} (${from})`, `  ${agent.description}`];
  lines.push('  input (JSON Schema):');
  lines.push(...indent(agent.input ? json(inputSchema(agent.input)) : 'any JSON value (no schema)', 4));
  if (agent.defaultInput === undefined) lines.push('  default input: none (a task must give its input)');
  else {
    lines.push('  default input (when a task gives none; input that is given replaces it whole):');
    lines.push(...indent(json(agent.defaultInput), 4));
  }
  const registry = declaredTools(config);
  lines.push('  tools:');
  for (const tool of agent.tools) {
    const t = registry.get(tool);
    lines.push(
      t
        ? `    ${tool.padEnd(20)} ${t.effect.padEnd(12)} ${(t.placement ?? 'worker') === 'compute' ? 'on a compute node' : 'on the worker'}`
        : `    ${tool.padEnd(20)} not offered by this install`,
    );
  }
  lines.push(
    agent.plan
      ? `  plan: ${agent.plan.map((s) => `${s.id} (${s.kind})`).join(' → ')}`
      : '  plan: none (the model chooses each step)',
  );
  const limits = Object.entries(agent.limits ?? {});
  if (limits.length > 0) lines.push(`  limits: ${limits.map(([k, v]) => `${k} ${String(v)}`).join(', ')}`);
  return lines;
}

function inputSchema(schema: z.ZodType): unknown {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

function indent(text: string, by: number): string[] {
  return text.split('\n').map((l) => ' '.repeat(by) + l);
}
